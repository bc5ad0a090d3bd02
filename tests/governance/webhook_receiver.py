"""A real HTTP receiver for webhook tests and the benchmark: http.server in a thread on 127.0.0.1:0.

It verifies ``X-Signature`` the way an integrator would (HMAC-SHA256 of ``"<t>.<body>"``, any ``v1`` matching),
deduplicates by event id, and answers the status codes it is told to (one per request, then ``default``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def receiver_verifies(header: str, body: bytes, secret: str) -> bool:
    """The receiver's own check (independent of the server's code)."""
    fields = [part.split("=", 1) for part in header.split(",")]
    t = next(v for k, v in fields if k == "t")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in fields)


class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.seen_ids: set[str] = set()
        self.codes: list[int] = []
        self.default = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    code = receiver.codes.pop(0) if receiver.codes else receiver.default
                    event = json.loads(body)
                    receiver.requests.append(
                        {"headers": dict(self.headers), "body": body, "event": event, "answered": code}
                    )
                    if 200 <= code < 300:
                        receiver.seen_ids.add(event["id"])
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if code < 300 else b"receiver says no")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def events(self, answered_ok: bool | None = None) -> list[dict]:
        with self.lock:
            return [
                r["event"] for r in self.requests if answered_ok is None or (200 <= r["answered"] < 300) == answered_ok
            ]
