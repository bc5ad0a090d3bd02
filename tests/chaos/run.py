"""Chaos run (`make chaos`, `make chaos CHAOS_ARGS=--short`): the whole system as real processes under mixed API
load, with web and worker processes SIGKILLed and Redis stopped, and an invariant checker every few seconds.
What it does, its figures and its targets: tests/chaos/README.md. Not a pytest module (no test_ prefix).

Processes (each in its own process group, all stopped on exit, Ctrl-C, SIGTERM or failure): its own
redis-server on a free port, gunicorn (2 workers x 4 threads) on a free port, a Celery worker (all queues),
Celery beat and the outbox relay, against the PostgreSQL database erp_chaos (dropped and created again, migrated,
``load_demo --scale small``). This process runs the clients (threads, over HTTP), the fault schedule and the
invariant checker (Django ORM on erp_chaos).

Exit status 0 when every target is met, 1 when one is missed, 2 when the run could not be set up.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import invariants  # noqa: E402
import workload  # noqa: E402

DATABASE = "erp_chaos"  # the only database this script touches
PYTHON = sys.executable
QUEUES = "allocation,replenishment,alerts,default"
VAR = ROOT / "var" / "chaos"
PIDS_FILE = VAR / "pids.json"
RELEASE_DEADLINE_SECONDS = 30  # every released order allocated or backordered within this after recovery
REDIS_GRACE_SECONDS = 6  # after Redis answers again: the cache's and the broker's 5 s circuit breakers close
WEB_GRACE_SECONDS = 2


def say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- processes --------------------------------------------------------------------------------------------------


class Child:
    """A long-running process in its own process group, its output appended to var/chaos/logs/NAME.log."""

    registry: list[Child] = []

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name, self.argv, self.env = name, argv, env
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.expected_down = False  # set while a fault has it down on purpose
        Child.registry.append(self)

    def start(self) -> None:
        log = open(VAR / "logs" / f"{self.name}.log", "ab")
        log.write(f"\n===== chaos: start {self.name} #{self.starts + 1} at {time.strftime('%H:%M:%S')}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        save_pids()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (pool processes, gunicorn workers) and reap the leader."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        if sig == signal.SIGKILL:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None:
            return
        if self.running():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)  # stragglers of the group


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


RUN_ID = uuid.uuid4().hex


def start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat): with the pid, it names one process for good."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def save_pids() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    leaders = [[c.pid, start_time(c.pid)] for c in Child.registry if c.pid and c.running()]
    PIDS_FILE.write_text(json.dumps({"run": RUN_ID, "leaders": leaders}))


def kill_leftovers() -> None:
    """Process groups a previous chaos run left (it was killed before it could clean up): only groups whose
    leader is still the very process it started (same pid and start time)."""
    try:
        previous = json.loads(PIDS_FILE.read_text())
    except (OSError, ValueError):
        return
    for pgid, started in previous.get("leaders", []):
        if started and start_time(pgid) == started:
            say(f"killing process group {pgid} left by an earlier chaos run")
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    PIDS_FILE.unlink(missing_ok=True)


_cleaned = threading.Event()


def cleanup() -> None:
    if _cleaned.is_set():
        return
    _cleaned.set()
    for child in reversed(Child.registry):
        if child.running():
            say(f"stopping {child.name}")
        child.stop()
    PIDS_FILE.unlink(missing_ok=True)


# --- set-up -----------------------------------------------------------------------------------------------------


def recreate_database(server_url: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [DATABASE],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
        # lock waits longer than deadlock_timeout go to the server log, with both sides' queries (this database only)
        conn.execute(f'ALTER DATABASE "{DATABASE}" SET log_lock_waits = on')


def manage(env: dict[str, str], *args: str) -> None:
    say("manage.py " + " ".join(args))
    with open(VAR / "logs" / "setup.log", "ab") as log:
        subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def gunicorn_extra() -> list[str]:
    from gunicorn import config

    return ["--no-control-socket"] if hasattr(config, "ControlSocketDisable") else []


def seed_world(base_url: str, retry_window: float) -> workload.World:
    """Users, tokens, customers and the hot item set, through the services where the project has them."""
    from django.contrib.auth import get_user_model

    from governance.api.authentication import generate_token
    from governance.models import Site, SiteMembership
    from inventory.models import Location, StockLevel
    from orders.models import Customer, Supplier
    from orders.services.customers import create_customer

    site = Site.objects.get(code=workload.SITE)
    dest = Site.objects.get(code=workload.DEST_SITE)
    users = {}
    roles = {
        "chaos-coord": ["coordinator"],
        "chaos-floor": ["supervisor", "operator", "planner"],
        "chaos-approver": ["supervisor"],
    }
    for username, wanted in roles.items():
        user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@chaos"})
        user.set_unusable_password()
        user.save()
        for s in (site, dest):
            for role in wanted:
                SiteMembership.objects.get_or_create(user=user, site=s, role=role)
        users[username] = generate_token(user=user, name="chaos")[1]
    customers = []
    for n in range(1, 9):
        code = f"chaos{n:02d}"
        if not Customer.objects.filter(code=code).exists():
            create_customer(
                user=None,
                code=code,
                name=f"Chaos customer {n}",
                home_site=site,
                credit_limit=9_999_999,
                allow_backorders=True,
                allow_partial_shipment=True,
                priority=1 + n % 5,
            )
        customers.append(code)
    credit = "chaoslow"
    if not Customer.objects.filter(code=credit).exists():
        create_customer(user=None, code=credit, name="Chaos low credit", home_site=site, credit_limit=1)
    levels = list(
        StockLevel.objects.filter(site=site, available__gte=40, item__active=True)
        .select_related("item")
        .order_by("-available", "item__sku")[:40]
    )
    rng = random.Random(7)
    hot = rng.sample(levels, k=min(20, len(levels)))
    items = sorted(level.item.sku for level in hot)
    plain = (
        sorted(
            level.item.sku
            for level in levels
            if not level.item.lot_tracked and not level.item.requires_inspection and level.item.sku in items
        )
        or items
    )
    storage = list(
        Location.objects.filter(site=site, kind=Location.Kind.STORAGE).order_by("code").values_list("code", flat=True)
    )
    supplier = Supplier.objects.filter(active=True).order_by("code").values_list("code", flat=True).first()
    say(f"hot items: {len(items)} ({len(plain)} without lots), {len(storage)} storage bins, supplier {supplier}")
    return workload.World(
        base_url=base_url,
        coord_token=users["chaos-coord"],
        floor_token=users["chaos-floor"],
        approver_token=users["chaos-approver"],
        customers=customers,
        credit_customer=credit,
        items=items,
        plain_items=plain,
        storage_locations=storage[:12],
        supplier=supplier,
        retry_window=retry_window,
    )


# --- faults -----------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    started: float
    recovered: float | None = None
    affects_api: bool = True
    detail: str = ""

    def window(self) -> tuple[float, float]:
        grace = REDIS_GRACE_SECONDS if self.kind == "redis_stop" else WEB_GRACE_SECONDS
        return self.started, (self.recovered or time.time()) + grace

    def as_dict(self, t0: float) -> dict:
        return {
            "kind": self.kind,
            "at_s": round(self.started - t0, 1),
            "recovered_after_s": round(self.recovered - self.started, 1) if self.recovered else None,
            "affects_api": self.affects_api,
            "detail": self.detail,
        }


@dataclass
class System:
    env: dict[str, str]
    base_url: str
    redis_port: int
    redis: Child
    web: Child
    worker: Child
    beat: Child
    relay: Child
    faults: list[Fault] = field(default_factory=list)
    crashes: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def restart_crashed(self, t0: float) -> None:
        """A process that died on its own (no fault had it down) is a finding: record it, start it again."""
        for child in (self.redis, self.web, self.worker, self.beat, self.relay):
            if child.running() or child.expected_down:
                continue
            with self.lock:
                if child.running() or child.expected_down:
                    continue
                code = child.proc.returncode if child.proc else None
                last = ""
                try:
                    lines = (VAR / "logs" / f"{child.name}.log").read_text(errors="replace").splitlines()
                    last = next((ln for ln in reversed(lines) if "CRITICAL" in ln or "Error" in ln), lines[-1])
                except (OSError, IndexError):
                    pass
                self.crashes.append(
                    {"process": child.name, "at_s": round(time.time() - t0, 1), "exit_status": code, "log": last[:300]}
                )
                say(f"CRASH: {child.name} exited on its own (status {code}): restarting it; {last[:200]}")
                child.start()

    def fault_active(self) -> bool:
        with self.lock:
            return any(f.recovered is None for f in self.faults)

    def last_recovery(self) -> float:
        with self.lock:
            return max((f.recovered or time.time() for f in self.faults), default=0.0)

    def live(self, timeout: float = 2) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/health/live/", timeout=timeout) as response:
                return response.status == 200
        except OSError:
            return False

    def redis_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def wait_for(self, check, timeout: float) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if check():
                return True
            time.sleep(0.25)
        return False

    def worker_heartbeat(self, pid: int, since: float) -> bool:
        from django.db import connection

        from governance.models import ServiceHeartbeat

        try:
            found = ServiceHeartbeat.objects.filter(
                name="worker", pid=pid, seen_at__gte=datetime.fromtimestamp(since, UTC)
            ).exists()
        finally:
            connection.close()
        return found

    def begin(self, kind: str, affects_api: bool, detail: str = "") -> Fault:
        fault = Fault(kind, time.time(), affects_api=affects_api, detail=detail)
        with self.lock:
            self.faults.append(fault)
        say(f"FAULT {kind} {detail}")
        return fault

    def end(self, fault: Fault, ok: bool) -> None:
        fault.recovered = time.time()
        if not ok:
            fault.detail += " (not recovered in time)"
        say(f"recovered from {fault.kind} in {fault.recovered - fault.started:.1f}s{'' if ok else ' (TIMEOUT)'}")

    # each fault
    def kill_web_worker(self) -> None:
        workers = children_of(self.web.pid) if self.web.running() else []
        if not workers:
            return
        victim = random.choice(workers)
        fault = self.begin("web_worker_kill", True, f"gunicorn worker pid {victim}")
        os.kill(victim, signal.SIGKILL)
        ok = self.wait_for(lambda: len([p for p in children_of(self.web.pid) if p != victim]) >= 2, 30)
        self.end(fault, ok and self.wait_for(lambda: self.live(timeout=10), 30))

    def kill_web_master(self) -> None:
        fault = self.begin("web_master_kill", True, f"gunicorn master pid {self.web.pid} and its workers")
        self.web.expected_down = True
        self.web.kill(signal.SIGKILL)
        time.sleep(1)
        self.web.start()
        self.web.expected_down = False
        self.end(fault, self.wait_for(lambda: self.live(timeout=10), 60))

    def kill_celery_worker(self) -> None:
        fault = self.begin("celery_worker_kill", False, f"celery worker pid {self.worker.pid} and its pool")
        self.worker.expected_down = True
        self.worker.kill(signal.SIGKILL)
        time.sleep(1)
        started = time.time()
        self.worker.start()
        self.worker.expected_down = False
        pid = self.worker.pid
        self.end(fault, self.wait_for(lambda: self.worker_heartbeat(pid, started), 90))

    def kill_celery_pool_process(self) -> None:
        pool = children_of(self.worker.pid) if self.worker.running() else []
        if not pool:
            return
        victim = random.choice(pool)
        fault = self.begin("celery_pool_kill", False, f"celery pool process pid {victim}")
        os.kill(victim, signal.SIGKILL)
        ok = self.wait_for(lambda: len([p for p in children_of(self.worker.pid) if p != victim]) >= 2, 30)
        self.end(fault, ok)

    def stop_redis(self, seconds: float) -> None:
        fault = self.begin("redis_stop", True, f"redis-server on port {self.redis_port} for {seconds:.0f}s")
        self.redis.expected_down = True
        self.redis.kill(signal.SIGKILL)
        time.sleep(seconds)
        self.redis.start()
        self.redis.expected_down = False
        self.end(fault, self.wait_for(self.redis_ping, 20))


SCHEDULES = {
    # (seconds after the load started, fault, argument)
    "short": [
        (8, "kill_web_worker", None),
        (16, "kill_celery_worker", None),
        (26, "stop_redis", 12),
        (46, "kill_web_master", None),
    ],
    "full": [
        (35, "kill_web_worker", None),
        (65, "kill_celery_worker", None),
        (105, "stop_redis", 20),
        (165, "kill_web_master", None),
        (210, "kill_celery_pool_process", None),
        (250, "kill_web_worker", None),
        (285, "stop_redis", 20),
        (345, "kill_celery_worker", None),
        (385, "kill_web_master", None),
        (415, "kill_web_worker", None),
    ],
}


def run_faults(system: System, schedule, t0: float, stop: threading.Event, failures: list[str]) -> None:
    for at, name, arg in schedule:
        if stop.wait(max(0.0, t0 + at - time.time())):
            return
        try:
            method = getattr(system, name)
            method(arg) if arg is not None else method()
        except Exception as error:
            failures.append(f"fault {name}: {type(error).__name__}: {error}")
            say(f"fault {name} failed: {error}")


# --- checker ----------------------------------------------------------------------------------------------------


class Checker(threading.Thread):
    def __init__(self, system: System, run_started: datetime, interval: float, stop: threading.Event):
        super().__init__(name="checker", daemon=True)
        self.system, self.run_started, self.interval, self.stop = system, run_started, interval, stop
        self.violations: dict[tuple[str, str], dict] = {}
        self.duplicates: dict[str, dict] = {}
        self.late: dict[int, dict] = {}
        self.passes = 0
        self.errors: list[str] = []
        self.max_seconds = 0.0
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.check_once()

    def check_once(self) -> invariants.CheckResult:
        now = time.time()
        result = invariants.check(run_started=self.run_started, now=now)
        with self.lock:
            self.passes += 1
            self.max_seconds = max(self.max_seconds, result.seconds)
            if result.error:
                self.errors.append(result.error)
                say(f"check failed: {result.error}")
                return result
            for v in result.violations:
                entry = self.violations.get((v.kind, v.key))
                if entry is None:
                    say(f"VIOLATION {v.kind}: {v.detail}")
                    entry = self.violations[(v.kind, v.key)] = {**v.as_dict(), "first_seen": now, "times_seen": 0}
                entry["times_seen"] += 1
                entry["last_seen"] = now
                entry["last_detail"] = v.detail
            for dup in result.duplicates:
                if dup["key"] not in self.duplicates:
                    say(f"DUPLICATE {dup['kind']} for key {dup['key']}: {dup['documents']}")
                self.duplicates[dup["key"]] = dup
            late = invariants.overdue_released_orders(
                result.released_waiting,
                now=now,
                last_recovery=self.system.last_recovery(),
                fault_active=self.system.fault_active(),
                deadline_seconds=RELEASE_DEADLINE_SECONDS,
            )
            for order in late:
                if order["id"] not in self.late:
                    say(f"LATE {order['number']} still RELEASED after {order['waited_seconds']}s")
                    self.late[order["id"]] = order
        return result


# --- figures ----------------------------------------------------------------------------------------------------


def classify(records: list[workload.Record], faults: list[Fault]) -> dict:
    api_windows = [f.window() for f in faults if f.affects_api]
    redis_windows = [f.window() for f in faults if f.kind == "redis_stop"]

    def overlaps(record, windows) -> bool:
        return any(record.t0 <= end and record.t1 >= start for start, end in windows)

    def bucket(status: int) -> str:
        if status == 0:
            return "no_answer"
        return f"{status // 100}xx"

    totals = {"outside_outage": Counter(), "during_outage": Counter()}
    by_kind: dict[str, Counter] = defaultdict(Counter)
    five_xx = {"outside_outage": [], "during_outage": [], "reads_during_redis_outage": []}
    latencies: dict[str, list[float]] = defaultdict(list)
    refusals: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        if record.reason:
            refusals[record.kind][record.reason] += 1
        during = overlaps(record, api_windows)
        where = "during_outage" if during else "outside_outage"
        b = bucket(record.status)
        totals[where][b] += 1
        by_kind[record.kind][b] += 1
        by_kind[record.kind][f"{b}_{'during' if during else 'outside'}"] += 1
        if record.status:
            latencies[record.kind].append(record.t1 - record.t0)
        if record.status >= 500:
            sample = {
                "kind": record.kind,
                "method": record.method,
                "path": record.path,
                "status": record.status,
                "at": datetime.fromtimestamp(record.t0, UTC).strftime("%H:%M:%S.%f")[:-3],
                "body": record.body,
            }
            five_xx[where].append(sample)
            if record.is_read and overlaps(record, redis_windows):
                five_xx["reads_during_redis_outage"].append(sample)

    def p(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) if values else 0.0

    return {
        "responses": {where: dict(counter) for where, counter in totals.items()},
        "responses_by_kind": {kind: dict(counter) for kind, counter in sorted(by_kind.items())},
        "latency_ms": {
            kind: {"p50": p(values, 0.5), "p95": p(values, 0.95), "max": p(values, 1.0)}
            for kind, values in sorted(latencies.items())
        },
        "refusals": {kind: dict(counter.most_common(6)) for kind, counter in sorted(refusals.items())},
        "five_xx": {where: len(samples) for where, samples in five_xx.items()},
        "five_xx_samples": {where: samples[:25] for where, samples in five_xx.items()},
    }


def client_duplicates(recorder: workload.Recorder, db_documents: dict[str, list[str]]) -> list[dict]:
    """Keys answered with two different documents, or with a document other than the one the database holds."""
    found = []
    for key, use in recorder.keys.items():
        numbers = sorted({n for n in use.numbers if n and n != "None"})
        in_db = sorted(set(db_documents.get(key, [])))
        if len(numbers) > 1:
            found.append({"kind": use.kind, "key": key, "documents": numbers, "seen_by": "client"})
        elif len(in_db) > 1:
            found.append({"kind": use.kind, "key": key, "documents": in_db, "seen_by": "database"})
    return found


def deadlock_log(since: datetime, limit: int = 12, want_waits: bool = False) -> list[str]:
    """The server log's deadlock reports for erp_chaos since the run started (best effort: Debian's log file,
    or CHAOS_PG_LOG), each the ERROR line with its DETAIL, CONTEXT and STATEMENT lines, queries shortened."""
    import glob
    import re

    paths = (
        [os.environ["CHAOS_PG_LOG"]]
        if os.environ.get("CHAOS_PG_LOG")
        else glob.glob("/var/log/postgresql/postgresql-*-main.log")
    )
    stamp = since.strftime("%Y-%m-%d %H:%M:%S")
    reports: list[str] = []
    for path in paths:
        try:
            lines = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            continue
        current: list[str] | None = None
        pid = None
        for line in lines:
            head = re.match(r"^(\S+ \S+) UTC \[(\d+)\] \S+@(\S+) (\w+):", line)
            if head:
                if current is not None and (head.group(2) != pid or head.group(4) == "ERROR"):
                    reports.append(" | ".join(current))
                    current = None
                wanted = "deadlock detected" in line or ("still waiting for" in line and want_waits)
                if head.group(3) == DATABASE and wanted and head.group(1) >= stamp:
                    current, pid = [line], head.group(2)
                elif current is not None and head.group(2) == pid:
                    current.append(line.split(": ", 1)[-1] if ": " in line else line)
            elif current is not None:
                current.append(line.strip())
        if current is not None:
            reports.append(" | ".join(current))
    shorten = re.compile(r"SELECT \"[^\n]*?FROM")
    if want_waits:
        reports = [r for r in reports if "still waiting" in r]
    else:
        reports = [r for r in reports if "deadlock detected" in r]
    return [shorten.sub("SELECT ... FROM", r)[:900] for r in reports[:limit]]


def foreign_key_waits(since: datetime) -> dict[str, int]:
    """Lock waits over deadlock_timeout on a deferred foreign-key check (FOR KEY SHARE at COMMIT), by relation:
    the rows a COMMIT waited for because another transaction held them FOR UPDATE."""
    import re

    found: Counter = Counter()
    for report in deadlock_log(since, limit=100000, want_waits=True):
        if "FOR KEY SHARE" in report:
            match = re.search(r'relation "?(\w+)"?', report.split("CONTEXT", 1)[-1])
            found[match.group(1) if match else "?"] += 1
    return dict(found.most_common())


# --- main -------------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Chaos run of the whole system (tests/chaos/README.md).")
    parser.add_argument("--short", action="store_true", help="~60 s of load, one fault of each kind (CI)")
    parser.add_argument("--duration", type=float, help="seconds of load (default: 60 short, 450 full)")
    parser.add_argument("--clients", type=int, default=14, help="client threads (default 14)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    parser.add_argument("--report", default=str(ROOT / "var" / "chaos-report.json"))
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CHAOS_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help=f"the PostgreSQL server (database {DATABASE} on it is dropped and created)",
    )
    parser.add_argument("--no-faults", action="store_true", help="load and checks only (a baseline)")
    parser.add_argument(
        "--deadlock-budget",
        type=int,
        default=0,
        help="deadlocks tolerated (default 0, the target; CI's short run allows a few: they are retried, and rare "
        "ones remain, see FINDINGS.md)",
    )
    args = parser.parse_args(argv)
    mode = "short" if args.short else "full"
    duration = args.duration or (60 if args.short else 450)
    random.seed(args.seed)

    def on_signal(signum, _frame):
        say(f"{signal.Signals(signum).name}: cleaning up")
        cleanup()
        os._exit(130)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    atexit.register(cleanup)

    if (VAR / "logs").is_dir():  # the previous run's logs are kept beside, once
        import shutil

        shutil.rmtree(VAR / "logs.previous", ignore_errors=True)
        (VAR / "logs").rename(VAR / "logs.previous")
    (VAR / "logs").mkdir(parents=True, exist_ok=True)
    kill_leftovers()
    setup_started = time.time()
    redis_port, web_port = free_port(), free_port()
    server = args.postgres.rstrip("/")
    env = {
        **os.environ,
        "DATABASE_URL": f"{server}/{DATABASE}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DJANGO_SETTINGS_MODULE": "distribution_erp.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECRET_KEY": "chaos-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "PYTHONUNBUFFERED": "1",
        "CHAOS_RUN_ID": RUN_ID,
        "LOG_LEVEL": os.environ.get("CHAOS_LOG_LEVEL", "WARNING"),
    }
    for name in ("PYTEST_XDIST_WORKER", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_TEST_DB_NAME"):
        env.pop(name, None)
    base_url = f"http://127.0.0.1:{web_port}"
    redis = Child(
        "redis",
        [
            "redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no",
        ],
        env,
    )  # fmt: skip
    web = Child(
        "web",
        [
            PYTHON, "-m", "gunicorn", "distribution_erp.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
            "--workers", "2", "--threads", "4", "--worker-class", "gthread", "--timeout", "60",
            "--graceful-timeout", "10", *gunicorn_extra(),
        ],
        env,
    )  # fmt: skip
    worker = Child(
        "worker",
        [
            PYTHON, "-m", "celery", "-A", "distribution_erp", "worker", "-Q", QUEUES, "--concurrency", "2",
            "--loglevel", "INFO", "-n", f"chaos-{redis_port}@%h", "--without-gossip", "--without-mingle",
        ],
        env,
    )  # fmt: skip
    beat = Child(
        "beat",
        [
            PYTHON, "-m", "celery", "-A", "distribution_erp", "beat", "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler", "--loglevel", "INFO",
            "--pidfile", str(VAR / "beat.pid"),
        ],
        env,
    )  # fmt: skip
    relay = Child("relay", [PYTHON, str(ROOT / "manage.py"), "outbox_relay"], env)
    system = System(env, base_url, redis_port, redis, web, worker, beat, relay)

    try:
        say(f"mode {mode}: {duration:.0f}s of load, {args.clients} clients; logs in {VAR / 'logs'}")
        redis.start()
        if not system.wait_for(system.redis_ping, 15):
            say("redis-server did not start")
            return 2
        say(f"redis-server on port {redis_port}; (re)creating database {DATABASE}")
        recreate_database(server)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "load_demo", "--scale", "small")
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG")})
        os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
        os.environ.pop("PYTEST_XDIST_WORKER", None)
        import django

        django.setup()
        from django.db import connection

        retry_window = 360 if mode == "full" else duration
        world = seed_world(base_url, retry_window)
        connection.close()
        for child in (web, worker, beat, relay):
            child.start()
        if not system.wait_for(system.live, 90):
            say("gunicorn did not answer /health/live/ within 90 s")
            return 2
        started = time.time()
        if not system.wait_for(lambda: system.worker_heartbeat(worker.pid, started - 120), 90):
            say("the Celery worker wrote no heartbeat within 90 s")
            return 2
        say(f"system up in {time.time() - setup_started:.0f}s at {base_url}")
        deadlocks_before = invariants.deadlocks(DATABASE)
        connection.close()

        run_started = datetime.now(UTC)
        recorder = workload.Recorder()
        stop_load, stop_checks, stop_faults = threading.Event(), threading.Event(), threading.Event()
        checker = Checker(system, run_started, 3.0 if args.short else 4.0, stop_checks)
        checker.start()
        clients = [
            workload.Client(i, world, recorder, stop_load, args.seed) for i in range(max(1, min(args.clients, 32)))
        ]
        t0 = time.time()
        for client in clients:
            client.start()
        fault_failures: list[str] = []
        fault_thread = threading.Thread(
            target=run_faults,
            args=(system, [] if args.no_faults else SCHEDULES[mode], t0, stop_faults, fault_failures),
            name="faults",
            daemon=True,
        )
        fault_thread.start()
        while time.time() - t0 < duration:
            time.sleep(1)
            system.restart_crashed(t0)
            if int(time.time() - t0) % 30 == 0:
                say(f"{int(time.time() - t0)}s: {len(recorder.records)} requests")
        say("load phase over: stopping clients")
        stop_faults.set()
        fault_thread.join(timeout=120)
        stop_load.set()
        for client in clients:
            client.join(timeout=TIMEOUT_JOIN)
        load_seconds = time.time() - t0
        say("final retries of unanswered creates")
        workload.final_retries(world, recorder, 30)
        # let the last releases be allocated: until no order waits in RELEASED, or every waiting order is overdue
        settle_until = max(time.time(), system.last_recovery()) + RELEASE_DEADLINE_SECONDS + 5
        while time.time() < settle_until:
            system.restart_crashed(t0)
            result = checker.check_once()
            if not result.error and not result.released_waiting:
                break
            time.sleep(3)
        stop_checks.set()
        checker.join(timeout=120)
        final = checker.check_once()
        lost = invariants.overdue_released_orders(
            final.released_waiting,
            now=time.time(),
            last_recovery=system.last_recovery(),
            fault_active=False,
            deadline_seconds=RELEASE_DEADLINE_SECONDS,
        )
        deadlocks_after = invariants.deadlocks(DATABASE)
        db_documents = invariants.documents_by_key()
        connection.close()
        all_processes_up = all(c.running() for c in (web, worker, beat, relay, redis))
        cleanup()  # the processes are not needed any more; the self-test runs on a quiet database
        self_test_missed = invariants.self_test(run_started)
        connection.close()
        if self_test_missed:
            say("checker self-test MISSED: " + "; ".join(self_test_missed))

        figures = classify(recorder.records, system.faults)
        duplicates = list(checker.duplicates.values())
        seen = {d["key"] for d in duplicates}
        duplicates += [d for d in client_duplicates(recorder, db_documents) if d["key"] not in seen]
        violations = sorted(checker.violations.values(), key=lambda v: v["first_seen"])
        for v in violations:
            v["first_seen_s"] = round(v.pop("first_seen") - t0, 1)
            v["last_seen_s"] = round(v.pop("last_seen") - t0, 1)
        late = [{k: o[k] for k in ("number", "waited_seconds")} for o in checker.late.values()]
        violations += [
            {
                "kind": "RELEASED_NOT_ALLOCATED_IN_TIME",
                "key": o["number"],
                "detail": f"{o['number']} still RELEASED {o['waited_seconds']}s after its release or the last "
                f"recovery (deadline {RELEASE_DEADLINE_SECONDS}s)",
            }
            for o in checker.late.values()
        ]
        client_failures = [f for c in clients for f in c.failures]
        keyed = [u for u in recorder.keys.values()]
        report = {
            "mode": mode,
            "seed": args.seed,
            "started_at": run_started.isoformat(timespec="seconds"),
            "load_seconds": round(load_seconds, 1),
            "setup_seconds": round(t0 - setup_started, 1),
            "clients": len(clients),
            "requests": len(recorder.records),
            "operations": dict(sorted(recorder.operations.items())),
            "faults": [f.as_dict(t0) for f in system.faults],
            **figures,
            "violations": violations,
            "duplicates": duplicates,
            "lost": [{k: o[k] for k in ("number", "waited_seconds")} for o in lost],
            "late": late,
            "deadlocks": deadlocks_after - deadlocks_before,
            "idempotency": {
                "keys": len(keyed),
                "answered_2xx": sum(1 for u in keyed if u.numbers),
                "immediate_replays": recorder.replays,
                "retries_after_no_answer_or_409": recorder.retries,
                "never_answered": sum(1 for u in keyed if not u.final),
            },
            "checker": {
                "passes": checker.passes,
                "errors": checker.errors[:10],
                "slowest_pass_s": round(checker.max_seconds, 2),
            },
            "checker_self_test_missed": self_test_missed,
            "crashes": system.crashes,
            "deadlock_log": deadlock_log(run_started),
            "foreign_key_lock_waits": foreign_key_waits(run_started),
            "client_errors": client_failures[:20],
            "fault_errors": fault_failures,
            "all_processes_up_at_end": all_processes_up,
        }
        targets = {
            "violations": (len(violations), 0),
            "duplicates": (len(duplicates), 0),
            "lost": (len(lost), 0),
            "deadlocks": (report["deadlocks"], args.deadlock_budget),
            "5xx_outside_outage": (figures["five_xx"]["outside_outage"], 0),
            "5xx_reads_during_redis_outage": (figures["five_xx"]["reads_during_redis_outage"], 0),
            "checker_errors": (len(checker.errors), 0),
            "checker_self_test_missed": (len(self_test_missed), 0),
            "fault_errors": (len(fault_failures), 0),
            "processes_down_at_end": (0 if all_processes_up else 1, 0),
            "process_crashes": (len(system.crashes), 0),
        }
        report["targets"] = {
            name: {"value": value, "target": target, "ok": value <= target} for name, (value, target) in targets.items()
        }
        report["passed"] = all(t["ok"] for t in report["targets"].values())
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2, default=str) + "\n")
        print_summary(report, args.report)
        return 0 if report["passed"] else 1
    except subprocess.CalledProcessError as error:
        say(f"set-up step failed ({' '.join(map(str, error.cmd[1:3]))}): see {VAR / 'logs' / 'setup.log'}")
        return 2
    finally:
        cleanup()


TIMEOUT_JOIN = workload.TIMEOUT_SECONDS + 5


def print_summary(report: dict, path: str) -> None:
    lines = [
        "",
        "=" * 100,
        f"CHAOS RUN ({report['mode']}, {report['load_seconds']}s of load, {report['clients']} clients, "
        f"{report['requests']} requests)",
        "operations: " + ", ".join(f"{k} {v}" for k, v in report["operations"].items()),
        "faults: "
        + "; ".join(f"{f['kind']} at {f['at_s']}s (recovered in {f['recovered_after_s']}s)" for f in report["faults"]),
    ]
    for where in ("outside_outage", "during_outage"):
        counts = report["responses"].get(where, {})
        lines.append(f"responses {where}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    lines.append(
        "5xx: "
        + ", ".join(f"{k} {v}" for k, v in report["five_xx"].items())
        + f"; deadlocks {report['deadlocks']}; duplicates {len(report['duplicates'])}; lost {len(report['lost'])}; "
        f"late {len(report['late'])}; violations {len(report['violations'])}"
    )
    lines.append("idempotency: " + ", ".join(f"{k} {v}" for k, v in report["idempotency"].items()))
    for v in report["violations"][:15]:
        lines.append(f"  violation {v['kind']}: {v['detail']}")
    for d in report["duplicates"][:10]:
        lines.append(f"  duplicate {d['kind']} {d['key']}: {d['documents']}")
    for where, samples in report["five_xx_samples"].items():
        for s in samples[:5]:
            lines.append(f"  5xx {where}: {s['status']} {s['method']} {s['path']} at {s['at']} {s['body'][:120]!r}")
    for error in report["client_errors"][:5] + report["fault_errors"] + report["checker"]["errors"][:3]:
        lines.append(f"  error: {error}")
    lines.append(
        "targets: "
        + ", ".join(f"{name} {t['value']}{'' if t['ok'] else ' (MISSED)'}" for name, t in report["targets"].items())
    )
    lines.append(f"{'PASSED' if report['passed'] else 'FAILED'}; report: {path}")
    lines.append("=" * 100)
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
