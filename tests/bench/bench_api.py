"""End-to-end API benchmark (issue 16). Run with `make bench` or
`python tests/bench/bench_api.py [--quick] [--clients 1,4,16,32] [--seconds 12]`.

Starts the system as `make run` does (gunicorn 2 workers x 4 gthread threads, a Celery worker with concurrency 2
on every queue, the outbox relay) with production settings (DJANGO_DEBUG=0, the test hosts allowed, no SSL
redirect), against its own database (BENCH_DATABASE_URL, dropped, created, migrated, `load_demo --scale small`)
and REDIS_URL's Redis (or a redis-server it starts on a free port). Then, in one run, over HTTP with keep-alive
connections (one per client thread) and token auth, at each client count:

(a) null: GET /api/v1/sites/DC-EAST/ (an existing cheap GET: token auth, one site row, the framework's ceiling);
(b) create: POST /api/v1/sales-orders/ with 5 lines;
(c) create + release + poll GET sales-orders/<id>/ until ALLOCATED / PARTIALLY_ALLOCATED / BACKORDERED.

Then (``--scale-clients``, default 16) a second "host" starts, a gunicorn and a worker of its own on another port
against the same database and Redis, and (b) and (c) run again with the clients spread over both: the throughput
ratio two hosts / one host (on one 2-core machine the two share the CPUs, so it shows statelessness, not speed-up).

It reports throughput, p50/p95/p99 and the ratio to (a) at the same client count, and for (c) the time from the
release's answer to the allocated status. In process, before the servers start, it counts the SQL queries of one
create and one release request with 1, 5 and 20 lines (Django's CaptureQueriesContext, the full request path
through the API client). Results: var/bench-api.json and a table. A missed target is reported, not a failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench")
QUEUES = "allocation,replenishment,alerts,default"
SITE = "DC-EAST"
DONE = {"ALLOCATED", "PARTIALLY_ALLOCATED", "BACKORDERED"}
LOGS = ROOT / "var" / "bench-api"
#: the clients' poll interval while they wait for the allocation (BENCH_POLL_SECONDS). 10 ms polls by 16 clients were
#: hundreds of order reads per second competing with the work they waited for (create + release 7.2 per s at 16
#: clients with 10 ms, 12.2 with 100 ms on the quiet machine); the latency is also read off the server's own stamps
POLL_SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", "0.05"))


def say(message: str) -> None:
    print(f"[bench_api {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.split("?")[0].rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


class Children:
    """The processes this run started, each in its own process group; all stopped on exit."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        LOGS.mkdir(parents=True, exist_ok=True)
        with open(LOGS / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group (pool processes, gunicorn workers)
            except ProcessLookupError:
                pass
            proc.wait()
        self.procs.clear()

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs if proc.poll() is not None]


def gunicorn_extra() -> list[str]:
    from gunicorn import config

    return ["--no-control-socket"] if hasattr(config, "ControlSocketDisable") else []


# --- set-up in process ------------------------------------------------------------------------------------------


def seed() -> dict:
    """A coordinator of DC-EAST with a token, a customer with room for every order, the stocked items."""
    from django.contrib.auth import get_user_model

    from governance.api.authentication import generate_token
    from governance.models import Site, SiteMembership
    from inventory.models import StockLevel
    from orders.models import Customer
    from orders.services.customers import create_customer

    site = Site.objects.get(code=SITE)
    user, _ = get_user_model().objects.get_or_create(username="bench-api", defaults={"email": "bench@api"})
    user.set_unusable_password()
    user.save()
    SiteMembership.objects.get_or_create(user=user, site=site, role="coordinator")
    token = generate_token(user=user, name="bench")[1]
    if not Customer.objects.filter(code="BENCH").exists():
        create_customer(
            user=None,
            code="BENCH",
            name="Bench customer",
            home_site=site,
            credit_limit=10**11,
            allow_backorders=True,
            allow_partial_shipment=True,
        )
    levels = (
        StockLevel.objects.filter(site=site, item__active=True, available__gt=0)
        .select_related("item")
        .order_by("-available", "item__sku")
    )
    items = [level.item.sku for level in levels[:20]]
    if len(items) < 20:
        sys.exit(f"the demo data has only {len(items)} stocked items at {SITE}; 20 are needed")
    return {"token": token, "items": items, "customer": "BENCH"}


def order_body(world: dict, lines: int, n: int) -> dict:
    items = world["items"]
    return {
        "customer": world["customer"],
        "promised_date": (date.today() + timedelta(days=3)).isoformat(),
        "ship_from": SITE,
        "priority": 1 + n % 5,
        "lines": [{"item": items[(n + i) % len(items)], "quantity": 1} for i in range(lines)],
    }


def count_queries(world: dict) -> dict:
    """SQL queries of one create and one release request, by line count, through the whole request path."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world['token']}")
    out = {}
    for warm in (True, False):  # the first round warms caches (rules, content types, permissions)
        for lines in (1, 5, 20):
            with CaptureQueriesContext(connection) as create_q:
                response = client.post(
                    "/api/v1/sales-orders/",
                    order_body(world, lines, lines),
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
                )
            assert response.status_code == 201, response.content[:300]
            order_id = response.json()["id"]
            with CaptureQueriesContext(connection) as release_q:
                response = client.post(f"/api/v1/sales-orders/{order_id}/release/")
            assert response.status_code in (200, 202), response.content[:300]
            if not warm:
                out[lines] = {"create": len(create_q.captured_queries), "release": len(release_q.captured_queries)}
    return out


# --- load -------------------------------------------------------------------------------------------------------


class Client:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: dict | None = None, key: str | None = None):
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json", "Host": "127.0.0.1"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif method == "POST":
            data = b""
        if key:
            headers["Idempotency-Key"] = key
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            try:
                self.conn.request(method, "/api/v1/" + path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return response.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def op_null(client: Client, world: dict, n: int, extra: dict) -> bool:
    status, _ = client.call("GET", f"sites/{SITE}/")
    return status == 200


def op_create(client: Client, world: dict, n: int, extra: dict) -> bool:
    status, _ = client.call("POST", "sales-orders/", order_body(world, 5, n), key=uuid.uuid4().hex)
    return status == 201


def op_release(client: Client, world: dict, n: int, extra: dict) -> bool:
    status, order = client.call("POST", "sales-orders/", order_body(world, 5, n), key=uuid.uuid4().hex)
    if status != 201:
        return False
    status, _ = client.call("POST", f"sales-orders/{order['id']}/release/")
    if status not in (200, 202):
        return False
    released = time.perf_counter()
    extra.setdefault("orders", []).append(order["id"])
    deadline = released + 30
    while time.perf_counter() < deadline:
        status, body = client.call("GET", f"sales-orders/{order['id']}/")
        if status == 200 and body.get("status") in DONE:
            extra.setdefault("release_to_allocated", []).append(time.perf_counter() - released)
            return True
        time.sleep(POLL_SECONDS)
    return False


def measure(op, port, world: dict, clients: int, seconds: float) -> dict:
    """``port``: one port, or a list of them (client threads take them in turn: N hosts behind a balancer)."""
    ports = port if isinstance(port, list) else [port]
    stop = threading.Event()
    results: list[tuple[float, bool]] = []
    extras: list[dict] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    turn = iter(range(10**9))

    def run() -> None:
        client, local, extra = Client(ports[next(turn) % len(ports)], world["token"]), [], {}
        op(client, world, next(counter), {})  # warm-up: connection, first request of the thread
        while not stop.is_set():
            started = time.perf_counter()
            try:
                ok = op(client, world, next(counter), extra)
            except Exception:
                ok = False
            local.append((time.perf_counter() - started, ok))
        client.conn.close()
        with lock:
            results.extend(local)
            extras.append(extra)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every thread connected and warmed up before the window opens
    with lock:
        results.clear()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.perf_counter() - t0
    ok = sorted(d for d, good in results if good)
    out = {
        "clients": clients,
        "requests": len(results),
        "errors": sum(1 for _, good in results if not good),
        "throughput_per_s": round(len(ok) / elapsed, 1),
        **percentiles(ok, "ms"),
    }
    tail = sorted(x for e in extras for x in e.get("release_to_allocated", []))
    if tail:
        out["release_to_allocated"] = percentiles(tail, "ms")
    orders = [pk for e in extras for pk in e.get("orders", [])]
    if orders:
        out["release_to_allocated_server"] = server_latency(orders)
    return out


def server_latency(order_ids: list[int]) -> dict:
    """Release to the allocation's decision, read off the server's stamps (the order's ``released_at``, its first
    allocation decision's ``created_at``): the latency without the clients' polling."""
    from django.db.models import Min

    from orders.models import SalesOrder

    rows = SalesOrder.objects.filter(pk__in=order_ids, released_at__isnull=False).annotate(
        decided=Min("decisions__created_at")
    )
    values = sorted((r.decided - r.released_at).total_seconds() for r in rows if r.decided is not None)
    return percentiles(values, "ms") if values else {}


def percentiles(values: list[float], unit: str) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    values = sorted(values)

    def at(q: float) -> float:
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1)

    return {
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(1000 * statistics.mean(values), 1),
    }


# --- main -------------------------------------------------------------------------------------------------------


def start_instance(children: Children, name: str, port: int, env: dict) -> None:
    """One "host": gunicorn as `make run` starts it on ``port`` and a Celery worker of its own."""
    children.start(
        f"web{name}",
        [
            PYTHON, "-m", "gunicorn", "distribution_erp.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", os.environ.get("WEB_WORKERS", "2"), "--threads", os.environ.get("WEB_THREADS", "4"),
            "--worker-class", "gthread", "--timeout", "120", "--graceful-timeout", "20", *gunicorn_extra(),
        ],
        env,
    )  # fmt: skip
    children.start(
        f"worker{name}",
        [
            PYTHON, "-m", "celery", "-A", "distribution_erp", "worker", "-Q", QUEUES,
            "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"), "--loglevel", "WARNING",
            "-n", f"bench{name}-{port}@%h", "--without-gossip", "--without-mingle",
        ],
        env,
    )  # fmt: skip


def wait_up(children: Children, port: int, token: str, seconds: float = 90) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline and not children.dead():
        try:
            status, _ = Client(port, token).call("GET", f"sites/{SITE}/")
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 16 clients, 4 s each (~1-2 minutes)")
    parser.add_argument("--clients", default=None, help="client counts (default 1,4,16,32)")
    parser.add_argument("--seconds", type=float, default=None, help="measurement window per point (default 10)")
    parser.add_argument(
        "--scale-clients",
        type=int,
        default=16,
        help="scale-out phase: create and create+release at this many clients on one host, then on two (0: skip)",
    )
    args, _unknown = parser.parse_known_args()  # `make bench BENCH_ARGS=...` passes every script the same options
    clients = [int(c) for c in (args.clients or ("1,16" if args.quick else "1,4,16,32")).split(",")]
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    started = time.time()
    load_before = os.getloadavg()
    LOGS.mkdir(parents=True, exist_ok=True)

    children = Children()
    port = free_port()
    redis_url = os.environ.get("REDIS_URL", "")
    env = {
        **os.environ,
        "DATABASE_URL": BENCH_URL,
        "DJANGO_SETTINGS_MODULE": "distribution_erp.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECRET_KEY": "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("PYTEST_XDIST_WORKER", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_TEST_DB_NAME"):
        env.pop(name, None)
    try:
        if not redis_url:
            redis_port = free_port()
            children.start(
                "redis",
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                env,
            )
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            time.sleep(0.5)
        env["REDIS_URL"] = redis_url
        say(f"database {BENCH_URL.rsplit('/', 1)[1]} (recreated), redis {redis_url}, load {load_before[0]:.2f}")
        recreate_database(BENCH_URL)
        for step in (["migrate", "--noinput", "-v", "0"], ["load_demo", "--scale", "small"]):
            say("manage.py " + " ".join(step))
            with open(LOGS / "setup.log", "ab") as log:
                subprocess.run(
                    [PYTHON, str(ROOT / "manage.py"), *step], cwd=ROOT, env=env, check=True, stdout=log, stderr=log
                )
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG")})
        os.environ.update({k: env[k] for k in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_ALLOWED_HOSTS", "LOG_LEVEL")})
        import django

        django.setup()
        from django.db import connections

        world = seed()
        queries = count_queries(world)
        say(f"queries per request (lines: create / release): {queries}")
        connections.close_all()

        start_instance(children, "", port, env)
        children.start("relay", [PYTHON, str(ROOT / "manage.py"), "outbox_relay"], env)
        if not wait_up(children, port, world["token"]):
            say(f"the system did not come up (dead: {children.dead()}); logs in {LOGS}")
            return 2
        time.sleep(3)  # the worker connects to the broker
        say(f"system up on port {port}; {seconds:.0f} s per point at {clients} clients")

        ops = {"null": op_null, "create": op_create, "create_release": op_release}
        rows: dict[str, list[dict]] = {name: [] for name in ops}
        for n in clients:
            for name, op in ops.items():
                result = measure(op, port, world, n, seconds)
                rows[name].append(result)
                say(f"{name:>14} x{n:<2} {result['throughput_per_s']:7.1f}/s p50 {result['p50_ms']} ms "
                    f"p95 {result['p95_ms']} ms errors {result['errors']}")  # fmt: skip
            if children.dead():
                say(f"a process died during the run: {children.dead()}")
                return 2
        for name in ("create", "create_release"):
            for row, null in zip(rows[name], rows["null"], strict=True):
                row["ratio_to_null"] = round(row["throughput_per_s"] / null["throughput_per_s"], 3)
        scale = {}
        if args.scale_clients:
            # two "hosts" (a second gunicorn and worker on another port) sharing the database and Redis
            n = args.scale_clients
            one = {name: measure(op, port, world, n, seconds) for name, op in ops.items() if name != "null"}
            port2 = free_port()
            start_instance(children, "2", port2, env)
            if not wait_up(children, port2, world["token"]):
                say(f"the second instance did not come up (dead: {children.dead()})")
                return 2
            time.sleep(3)
            two = {name: measure(op, [port, port2], world, n, seconds) for name, op in ops.items() if name != "null"}
            for name in one:
                scale[name] = {
                    "clients": n,
                    "one_host_per_s": one[name]["throughput_per_s"],
                    "two_hosts_per_s": two[name]["throughput_per_s"],
                    "ratio": round(two[name]["throughput_per_s"] / max(one[name]["throughput_per_s"], 0.1), 2),
                    "two_hosts_p95_ms": two[name]["p95_ms"],
                    "errors": one[name]["errors"] + two[name]["errors"],
                }
                say(f"scale-out {name:>14} x{n}: one host {scale[name]['one_host_per_s']}/s, two hosts "
                    f"{scale[name]['two_hosts_per_s']}/s (ratio {scale[name]['ratio']})")  # fmt: skip
    finally:
        children.stop()

    at16 = {name: next((r for r in rows[name] if r["clients"] == 16), None) for name in rows}
    targets = {}
    if at16["create"]:
        targets["create_ratio_ge_0.5"] = min(r["ratio_to_null"] for r in rows["create"]) >= 0.5
        targets["create_p95_lt_100ms_at_16"] = at16["create"]["p95_ms"] < 100
    if at16["create_release"] and at16["create_release"].get("release_to_allocated"):
        targets["release_to_allocated_p95_lt_250ms_at_16"] = (
            at16["create_release"]["release_to_allocated"]["p95_ms"] < 250
        )
    grow = {kind: queries[20][kind] - queries[1][kind] for kind in ("create", "release")}
    targets["queries_fixed"] = all(v == 0 for v in grow.values())
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },  # fmt: skip
        "setup": {
            "web": "gunicorn gthread",
            "web_workers": int(os.environ.get("WEB_WORKERS", "2")),
            "web_threads": int(os.environ.get("WEB_THREADS", "4")),
            "worker_concurrency": int(os.environ.get("WORKER_CONCURRENCY", "2")),
            "null_endpoint": f"GET /api/v1/sites/{SITE}/",
            "seconds_per_point": seconds,
            "quick": args.quick,
        },  # fmt: skip
        "queries_per_request": {str(k): v for k, v in queries.items()},
        "results": rows,
        "scale_out": scale,
        "targets": targets,
        "wall_seconds": round(time.time() - started, 1),
    }
    out = ROOT / "var" / "bench-api.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_table(report)
    say(f"wrote {out.relative_to(ROOT)} in {report['wall_seconds']:.0f} s")
    return 0


def print_table(report: dict) -> None:
    rows = report["results"]
    print("\n| clients | null GET /s (p50 / p95 / p99 ms) | create 5 lines /s (ratio; p50 / p95 / p99 ms) |"
          " create+release /s (ratio; p50 / p95 ms) |"
          " release->allocated p50 / p95 / p99 ms (polled; server stamps) |")  # fmt: skip
    print("|---:|---|---|---|---|")
    for null, create, rel in zip(rows["null"], rows["create"], rows["create_release"], strict=True):
        r2a = rel.get("release_to_allocated") or {}
        server = rel.get("release_to_allocated_server") or {}
        print(
            f"| {null['clients']} | {null['throughput_per_s']} ({null['p50_ms']} / {null['p95_ms']} / {null['p99_ms']})"
            f" | {create['throughput_per_s']} ({create['ratio_to_null']}x; {create['p50_ms']} / {create['p95_ms']} /"
            f" {create['p99_ms']}) | {rel['throughput_per_s']} ({rel['ratio_to_null']}x; {rel['p50_ms']} /"
            f" {rel['p95_ms']}) | {r2a.get('p50_ms')} / {r2a.get('p95_ms')} / {r2a.get('p99_ms')};"
            f" {server.get('p50_ms')} / {server.get('p95_ms')} / {server.get('p99_ms')} |"
        )
    q = report["queries_per_request"]
    print("\nqueries per request (1 / 5 / 20 lines): create " + " / ".join(str(q[k]["create"]) for k in q)
          + ", release " + " / ".join(str(q[k]["release"]) for k in q))  # fmt: skip
    for name, row in (report.get("scale_out") or {}).items():
        print(f"scale-out {name} at {row['clients']} clients: one host {row['one_host_per_s']}/s, two hosts "
              f"{row['two_hosts_per_s']}/s, ratio {row['ratio']}")  # fmt: skip
    print("targets: " + ", ".join(f"{k} {'MET' if v else 'NOT MET'}" for k, v in report["targets"].items()))


if __name__ == "__main__":
    sys.exit(main())
