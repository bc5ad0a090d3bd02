"""The chaos run's clients: threads that use the REST API as integrators, coordinators, floor staff and approvers
would, over plain HTTP (urllib, token auth), and record every request (kind, method, status, start and end).

Every POST that creates a document sends an Idempotency-Key (``chaos-<kind>-<n>``) and writes the key into the
document's reference field, so the invariant checker can count documents per key. Some creates are sent again
with the same key at once (a client that lost the answer), and every create whose answer was lost (connection
reset, timeout, 5xx) or refused as still in progress (409) is retried with the same key later, until it gets a
final answer or the retry window closes.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

API = "/api/v1/"
SITE = "DC-EAST"
DEST_SITE = "DC-SOUTH"
TIMEOUT_SECONDS = 30


@dataclass
class Record:
    kind: str
    method: str
    path: str
    status: int  # 0: no answer (connection refused or reset, timeout)
    t0: float
    t1: float
    error: str = ""
    body: str = ""  # the start of a 5xx answer
    reason: str = ""  # a 4xx problem's title and detail, shortened

    @property
    def is_read(self) -> bool:
        return self.method == "GET"


@dataclass
class KeyUse:
    kind: str
    path: str
    body: dict
    token: str
    numbers: list[str] = field(default_factory=list)  # the document number of every 2xx answer
    statuses: list[int] = field(default_factory=list)
    final: bool = False  # a 2xx or a final 4xx was seen
    next_retry: float = 0.0
    first_sent: float = 0.0


class Recorder:
    """Thread-safe store of every request and of every Idempotency-Key's answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records: list[Record] = []
        self.keys: dict[str, KeyUse] = {}
        self.operations: Counter = Counter()
        self.replays = 0
        self.retries = 0
        self._serial = itertools.count(1)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def operation(self, kind: str) -> None:
        with self.lock:
            self.operations[kind] += 1

    def new_key(self, kind: str) -> str:
        return f"chaos-{kind}-{next(self._serial)}-{random.randrange(16**6):06x}"

    def key_use(self, key: str, use: KeyUse) -> KeyUse:
        with self.lock:
            return self.keys.setdefault(key, use)

    def pending_retries(self, now: float) -> list[tuple[str, KeyUse]]:
        with self.lock:
            return [(k, u) for k, u in self.keys.items() if not u.final and u.next_retry and u.next_retry <= now]

    def unanswered(self) -> list[tuple[str, KeyUse]]:
        with self.lock:
            return [(k, u) for k, u in self.keys.items() if not u.final]


class Api:
    def __init__(self, base_url: str, token: str, recorder: Recorder):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.recorder = recorder

    def call(self, kind: str, method: str, path: str, body: dict | None = None, key: str | None = None):
        """(status, parsed JSON or None). Status 0: no answer."""
        url = self.base_url + (path if path.startswith("/") else API + path)
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        t0 = time.time()
        status, payload, error, raw = 0, None, "", b""
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as http_error:
            status = http_error.code
            try:
                raw = http_error.read()
            except OSError:
                raw = b""
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # refused, reset, timeout, a bad status line, an answer cut off (the worker was killed while sending)
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:200]
        t1 = time.time()
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
        record = Record(kind, method, path.split("?")[0], status, t0, t1, error)
        if status >= 500:
            record.body = raw[:300].decode(errors="replace")
        elif status >= 400 and isinstance(payload, dict):
            detail = str(payload.get("detail", ""))
            errors = payload.get("errors") or []
            if errors and isinstance(errors, list) and isinstance(errors[0], dict):
                detail = f"{errors[0].get('field')}: {errors[0].get('message')}"
            record.reason = f"{status} {payload.get('code') or payload.get('title', '')}: {detail}"[:110]
        self.recorder.add(record)
        return status, payload


def in_progress(status: int, payload) -> bool:
    """A 409 that says the first request with this Idempotency-Key is still running (retry later)."""
    return status == 409 and isinstance(payload, dict) and payload.get("code") == "idempotency_in_progress"


def results(payload) -> list[dict]:
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return payload["results"]
    return payload if isinstance(payload, list) else []


@dataclass
class World:
    """What the clients act on: set up once by run.py (users, tokens, items, customers, locations)."""

    base_url: str
    coord_token: str
    floor_token: str
    approver_token: str
    customers: list[str]
    credit_customer: str  # a customer with a low credit limit: its releases go ON_HOLD
    items: list[str]  # hot items stocked at SITE
    plain_items: list[str]  # hot items without lots or inspection: receipts, adjustments, transfers
    storage_locations: list[str]
    supplier: str
    retry_window: float  # seconds a client keeps retrying an unanswered create
    orders: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember_order(self, order_id: int, number: str) -> None:
        with self.lock:
            self.orders.append((order_id, number))
            del self.orders[:-400]

    def some_order(self, rng: random.Random) -> tuple[int, str] | None:
        with self.lock:
            return rng.choice(self.orders) if self.orders else None


class Client(threading.Thread):
    """One simulated user session: a weighted random mix of operations until ``stop`` is set."""

    WEIGHTS = {
        "order": 22,
        "cancel": 6,
        "hold": 3,
        "approve": 3,
        "wave": 6,
        "wave_release": 2,
        "pick": 14,
        "pack": 5,
        "ship": 5,
        "receipt": 5,
        "adjust": 5,
        "transfer": 3,
        "read": 22,
    }

    def __init__(self, index: int, world: World, recorder: Recorder, stop: threading.Event, seed: int):
        super().__init__(name=f"client-{index}", daemon=True)
        self.world = world
        self.recorder = recorder
        self.stop = stop
        self.rng = random.Random(seed * 1000 + index)
        self.coord = Api(world.base_url, world.coord_token, recorder)
        self.floor = Api(world.base_url, world.floor_token, recorder)
        self.approver = Api(world.base_url, world.approver_token, recorder)
        self.failures: list[str] = []
        kinds, weights = zip(*self.WEIGHTS.items(), strict=True)
        self._kinds, self._weights = list(kinds), list(weights)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.retry_due()
                kind = self.rng.choices(self._kinds, self._weights)[0]
                self.recorder.operation(kind)
                getattr(self, f"op_{kind}")()
            except Exception as error:  # a client bug must not end the run silently
                self.failures.append(f"{type(error).__name__}: {error}")
            self.stop.wait(self.rng.uniform(0.02, 0.25))

    # --- idempotent creates ---------------------------------------------------------------------------
    def create(self, api: Api, kind: str, path: str, body: dict, key: str):
        """POST a create with an Idempotency-Key; record the answer under the key; maybe send it again."""
        use = self.recorder.key_use(key, KeyUse(kind, path, body, api.token, first_sent=time.time()))
        status, payload = self._send(api, kind, use, key)
        if 200 <= status < 300 and self.rng.random() < 0.15:
            self.recorder.replays += 1
            self._send(api, kind + "_replay", use, key)  # the client lost the answer: the same key again
        return status, payload

    def _send(self, api: Api, kind: str, use: KeyUse, key: str):
        status, payload = api.call(kind, "POST", use.path, use.body, key=key)
        with self.recorder.lock:
            use.statuses.append(status)
            if 200 <= status < 300:
                number = payload.get("number") if isinstance(payload, dict) else None
                if number is None and isinstance(payload, list) and payload:
                    number = ",".join(str(p.get("number")) for p in payload if isinstance(p, dict))
                use.numbers.append(str(number))
                use.final = True
            elif status == 0 or status >= 500 or in_progress(status, payload):
                # no answer, a server error or "still in progress": retry later with the same key
                if time.time() - use.first_sent < self.world.retry_window:
                    use.next_retry = time.time() + self.rng.uniform(2, 8)
                else:
                    use.final = True
            else:
                use.final = True  # a refusal (4xx): final
        return status, payload

    def retry_due(self) -> None:
        for key, use in self.recorder.pending_retries(time.time())[:2]:
            with self.recorder.lock:
                if use.final or use.next_retry > time.time():
                    continue
                use.next_retry = 0.0  # taken by this client
                self.recorder.retries += 1
            self._send(Api(self.world.base_url, use.token, self.recorder), use.kind + "_retry", use, key)

    # --- operations -----------------------------------------------------------------------------------
    def op_order(self) -> None:
        w, rng = self.world, self.rng
        key = self.recorder.new_key("so")
        credit = rng.random() < 0.05
        items = rng.sample(w.items, k=rng.randint(1, 3))
        body = {
            "customer": w.credit_customer if credit else rng.choice(w.customers),
            "promised_date": (date.today() + timedelta(days=rng.randint(1, 5))).isoformat(),
            "priority": rng.randint(1, 5),
            "ship_from": SITE,
            "customer_reference": key,
            "lines": [{"item": sku, "quantity": rng.randint(1, 6)} for sku in items],
        }
        status, order = self.create(self.coord, "order_create", "sales-orders/", body, key)
        if status != 201 or not isinstance(order, dict):
            return
        self.world.remember_order(order["id"], order["number"])
        if rng.random() < 0.92:
            self.coord.call("order_release", "POST", f"sales-orders/{order['id']}/release/")

    def op_cancel(self) -> None:
        order = self.world.some_order(self.rng)
        if order:
            self.coord.call("order_cancel", "POST", f"sales-orders/{order[0]}/cancel/", {"reason": "chaos: cancel"})

    def op_hold(self) -> None:
        order = self.world.some_order(self.rng)
        if order:
            self.coord.call("order_hold", "POST", f"sales-orders/{order[0]}/hold/", {"reason": "chaos: hold"})

    def op_approve(self) -> None:
        status, payload = self.approver.call(
            "read_approvals", "GET", f"approvals/?status=PENDING&site={SITE}&page_size=20"
        )
        pending = results(payload) if status == 200 else []
        for approval in self.rng.sample(pending, k=min(2, len(pending))):
            decision = "reject" if self.rng.random() < 0.2 else "approve"
            self.approver.call(
                f"approval_{decision}", "POST", f"approvals/{approval['id']}/{decision}/", {"note": "chaos"}
            )

    def op_wave(self) -> None:
        key = self.recorder.new_key("wv")
        body = {"site": SITE, "max_orders": self.rng.randint(2, 8)}
        status, wave = self.create(self.floor, "wave_plan", "waves/", body, key)
        if status == 201 and isinstance(wave, dict) and self.rng.random() < 0.8:
            self.stop.wait(self.rng.uniform(0, 1.5))  # a cancel may come in between
            self.floor.call("wave_release", "POST", f"waves/{wave['id']}/release/")

    def op_wave_release(self) -> None:
        status, payload = self.floor.call("read_waves", "GET", f"waves/?site={SITE}&status=PLANNED&page_size=20")
        waves = results(payload) if status == 200 else []
        if waves:
            wave = self.rng.choice(waves)
            self.floor.call("wave_release", "POST", f"waves/{wave['id']}/release/")

    def _confirm_pick(self, task: dict) -> None:
        quantity = task["quantity"]
        if quantity > 1 and self.rng.random() < 0.05:
            quantity -= 1  # a short pick
        body = {"quantity": quantity, "location": task["location"], "item": task["item"]}
        if task.get("lot"):
            body["lot"] = task["lot"]
        self.floor.call("pick_confirm", "POST", f"pick-tasks/{task['id']}/confirm/", body)

    def op_pick(self) -> None:
        status, payload = self.floor.call("read_pick_tasks", "GET", f"pick-tasks/?site={SITE}&status=OPEN&page_size=50")
        tasks = [t for t in results(payload) if t.get("wave")] if status == 200 else []
        for task in self.rng.sample(tasks, k=min(3, len(tasks))):
            self._confirm_pick(task)

    def op_pack(self) -> None:
        status, payload = self.floor.call("read_waves", "GET", f"waves/?site={SITE}&status=RELEASED&page_size=20")
        waves = results(payload) if status == 200 else []
        if waves:
            wave = self.rng.choice(waves)
            self.floor.call("wave_pack", "POST", f"waves/{wave['id']}/pack/", {})

    def op_ship(self) -> None:
        status, payload = self.floor.call("read_shipments", "GET", f"shipments/?site={SITE}&status=PACKED&page_size=20")
        shipments = results(payload) if status == 200 else []
        if shipments:
            shipment = self.rng.choice(shipments)
            self.floor.call(
                "shipment_confirm",
                "POST",
                f"shipments/{shipment['id']}/confirm/",
                {"carrier": "UPS", "tracking_number": f"1ZCHAOS{shipment['id']}"},
            )

    def op_receipt(self) -> None:
        w, rng = self.world, self.rng
        lines = [
            {"item": sku, "quantity": rng.randint(20, 60)} for sku in rng.sample(w.plain_items, k=rng.randint(1, 2))
        ]
        key = self.recorder.new_key("po")
        body = {
            "supplier": w.supplier,
            "site": SITE,
            "expected_date": (date.today() + timedelta(days=2)).isoformat(),
            "supplier_reference": key,
            "lines": [{**line, "unit_cost": "2.50"} for line in lines],
        }
        status, po = self.create(self.floor, "po_create", "purchase-orders/", body, key)
        if status != 201 or not isinstance(po, dict):
            return
        key = self.recorder.new_key("rc")
        body = {"purchase_order": po["number"], "final": True, "note": key, "lines": lines}
        status, receipt = self.create(self.floor, "receipt_create", "receipts/", body, key)
        if status != 201 or not isinstance(receipt, dict):
            return
        for sku in {line["item"] for line in lines}:
            status, payload = self.floor.call(
                "read_putaway_tasks", "GET", f"putaway-tasks/?site={SITE}&status=OPEN&item={sku}&page_size=50"
            )
            for task in results(payload) if status == 200 else []:
                if task.get("receipt") != receipt["number"]:
                    continue
                body = {"location": task.get("suggested_location"), "quantity": task["quantity"]}
                if not body["location"]:  # no suggestion: the operator chooses a bin and says why
                    body.update(location=rng.choice(w.storage_locations), reason_code="OTHER")
                self.floor.call("putaway_confirm", "POST", f"putaway-tasks/{task['id']}/confirm/", body)

    def op_adjust(self) -> None:
        w, rng = self.world, self.rng
        sku = rng.choice(w.plain_items)
        key = self.recorder.new_key("adj")
        if rng.random() < 0.5:
            location, delta, reason = rng.choice(w.storage_locations), rng.randint(1, 4), "FOUND"
        else:
            status, payload = self.floor.call(
                "read_stock_quants", "GET", f"stock-quants/?site={SITE}&item={sku}&status=AVAILABLE&page_size=50"
            )
            quants = [q for q in results(payload) if q.get("quantity", 0) - q.get("reserved", 0) > 0]
            if status != 200 or not quants:
                return
            quant = rng.choice(quants)
            location, delta, reason = quant["location"], -1, "DAMAGE"
        body = {
            "site": SITE,
            "location": location,
            "item": sku,
            "quantity_delta": delta,
            "reason_code": reason,
            "note": key,
        }
        self.create(self.floor, "adjustment_create", "adjustments/", body, key)

    def op_transfer(self) -> None:
        w, rng = self.world, self.rng
        key = self.recorder.new_key("to")
        sku = rng.choice(w.plain_items)
        body = {
            "from_site": SITE,
            "to_site": DEST_SITE,
            "reason": key,
            "lines": [{"item": sku, "quantity": rng.randint(1, 4)}],
        }
        status, transfer = self.create(self.floor, "transfer_create", "transfer-orders/", body, key)
        if status != 201 or not isinstance(transfer, dict) or transfer.get("status") != "APPROVED":
            return
        status, transfer = self.floor.call("transfer_release", "POST", f"transfer-orders/{transfer['id']}/release/")
        if status != 200 or not isinstance(transfer, dict):
            return
        for task in transfer.get("pick_tasks", []):
            if task.get("status") == "OPEN":
                self._confirm_pick(task)
        status, shipped = self.floor.call("transfer_ship", "POST", f"transfer-orders/{transfer['id']}/ship/")
        if status != 200 or not isinstance(shipped, dict):
            return
        lines = [
            {"item": line["item"], "quantity": line["shipped_quantity"]}
            for line in shipped.get("lines", [])
            if line.get("shipped_quantity")
        ]
        if lines:
            self.floor.call("transfer_receive", "POST", f"transfer-orders/{transfer['id']}/receive/", {"lines": lines})

    def op_read(self) -> None:
        w, rng = self.world, self.rng
        choice = rng.randrange(6)
        if choice == 0:
            order = w.some_order(rng)
            if order:
                self.coord.call("read_order", "GET", f"sales-orders/{order[0]}/")
        elif choice == 1:
            status = rng.choice(["ALLOCATED", "BACKORDERED", "PICKING", "RELEASED", "SHIPPED"])
            self.coord.call("read_orders", "GET", f"sales-orders/?site={SITE}&status={status}&page_size=20")
        elif choice == 2:
            self.floor.call("read_stock_levels", "GET", f"stock-levels/?site={SITE}&page_size=50")
        elif choice == 3:
            self.coord.call("read_atp", "GET", f"atp/?item={rng.choice(w.items)}&quantity={rng.randint(1, 10)}")
        elif choice == 4:
            self.floor.call("read_waves", "GET", f"waves/?site={SITE}&page_size=20")
        else:
            self.floor.call("read_moves", "GET", "stock-moves/?page_size=20")


def final_retries(world: World, recorder: Recorder, seconds: float) -> None:
    """After the load: the clients' last retries of every create still without a final answer."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        open_keys = recorder.unanswered()
        if not open_keys:
            return
        for key, use in open_keys:
            api = Api(world.base_url, use.token, recorder)
            status, payload = api.call(use.kind + "_retry", "POST", use.path, use.body, key=key)
            with recorder.lock:
                recorder.retries += 1
                use.statuses.append(status)
                if 200 <= status < 300:
                    number = payload.get("number") if isinstance(payload, dict) else None
                    use.numbers.append(str(number))
                    use.final = True
                elif status and status < 500 and not in_progress(status, payload):
                    use.final = True
        time.sleep(2)
