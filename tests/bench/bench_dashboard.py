"""Supervisor dashboard benchmark (issue 7): server time (p50/p95) and queries of GET /dashboard/ with
1,000,000 ledger moves and 100,000 orders in the database. Run with `make bench` or
`python tests/bench/bench_dashboard.py [--requests 50] [--moves 1000000] [--orders 100000] [--regenerate]`.

The data comes from gen_dashboard_data.py (its own database, ``<bench database>_dashboard``, generated once and
reused). The view runs in process through Django's test client (middleware, session, view, template: the
server's whole work for the request, no network), logged in as a supervisor of the busiest site; first a
few warm-up requests, then ``--requests`` timed full pages and as many htmx refreshes (the panels only, what
the page polls every 15 s). Target: p95 under 200 ms with a fixed number of queries.

``--clients 2`` (the default measures 1 and then 2) runs that many supervisors at once, each in its own process
(forked after the warm-up, its own database connection, as two gunicorn workers would), each making
``--requests`` requests of both kinds back to back; the p50/p95 are over every request of every client.

The generated trend snapshots are synthetic (a sine wave); the tiles read their past days from the snapshots
(``reporting.rollup``), so before measuring, the snapshots of the tiles' past days at the site are computed from
the data (``reporting.services.store_snapshots``, replacing the synthetic rows of those days).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gen_dashboard_data as gen

TARGET_MS = 200.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(client, url: str, n: int, headers: dict) -> tuple[list[float], int, list[dict]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    slowest: list[dict] = []
    for i in range(n):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        times.append(elapsed)
        if i == 0:
            queries = len(ctx.captured_queries)
            slowest = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:5]
        elif len(ctx.captured_queries) != queries:
            print(f"  note: request {i} ran {len(ctx.captured_queries)} queries, the first {queries}")
    return times, queries, slowest


def _client_process(user_pk: int, n: int, start, out) -> None:
    """One supervisor in its own process: n full pages and n htmx refreshes, back to back, after ``start``."""
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client

    connections.close_all()  # the parent's connections stay the parent's
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_pk))
    client.get("/dashboard/")
    start.wait()
    times = {"full page": [], "htmx refresh": []}
    for i in range(2 * n):
        name, headers = ("full page", {}) if i % 2 == 0 else ("htmx refresh", {"HX-Request": "true"})
        t = time.perf_counter()
        response = client.get("/dashboard/", headers=headers)
        times[name].append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET /dashboard/ answered {response.status_code}")
    out.put(times)
    connections.close_all()


def measure_concurrent(user_pks: list[int], n: int) -> dict[str, list[float]]:
    """``len(user_pks)`` supervisors refreshing at once (forked processes); every request's time by kind."""
    import multiprocessing

    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(len(user_pks)), ctx.Queue()
    procs = [ctx.Process(target=_client_process, args=(pk, n, start, out)) for pk in user_pks]
    for proc in procs:
        proc.start()
    merged: dict[str, list[float]] = {"full page": [], "htmx refresh": []}
    for _ in procs:
        for name, times in out.get(timeout=600).items():
            merged[name] += times
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a client process failed ({proc.exitcode})")
    return merged


def use_snapshots(on: bool) -> None:
    """``on``: the tiles read their past days from the snapshots (reporting.rollup); off: every tile is computed
    live over its whole period, as before the rollup, for a before/after comparison in one run."""
    from reporting import dashboard, rollup

    real = getattr(rollup, "_real_complete_snapshots", rollup.complete_snapshots)
    rollup._real_complete_snapshots = real

    def none_stored(site, keys, date_from, date_to):
        return {key: {} for key in keys}

    dashboard.complete_snapshots = rollup.complete_snapshots = real if on else none_stored


def real_tile_snapshots(site) -> int:
    """Store the snapshots of the tiles' past days at ``site`` from the data (they replace the synthetic rows)."""
    from datetime import timedelta

    from reporting.dashboard import TILE_DAYS, local_today
    from reporting.services import store_snapshots

    today = local_today(site)
    return sum(store_snapshots(site, today - timedelta(days=k)) for k in range(1, TILE_DAYS))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--moves", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--show-queries", action="store_true", help="print the slowest queries of a request")
    parser.add_argument("--clients", default="1,2", help="concurrent supervisors to measure (default 1,2)")
    parser.add_argument(
        "--modes",
        default="live,snapshots",
        help="live (every tile computed over its period, as before) and/or "
        "snapshots (past days from the stored snapshots, reporting.rollup); default both",
    )
    args, _ = parser.parse_known_args(argv)
    url = gen.dashboard_database_url()
    gen.ensure_database(url, drop=args.regenerate)
    gen.setup_django(url)
    gen.generate(moves=args.moves, orders=args.orders)

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from inventory.models import StockMove
    from orders.models import SalesOrder

    setup_test_environment()
    settings.DEBUG = False
    moves, orders = StockMove.objects.count(), SalesOrder.objects.count()
    user = get_user_model().objects.get(username=gen.BENCH_USER)
    from governance.models import SiteMembership

    site = SiteMembership.objects.filter(user=user).select_related("site").first().site
    t = time.perf_counter()
    rows = real_tile_snapshots(site)
    print(
        f"snapshots of the tiles' past days at {site.code} from the data: {rows} rows, {time.perf_counter() - t:.1f} s"
    )
    client = Client()
    client.force_login(user)
    for _ in range(3):  # warm-up: session, content types, template loading, PostgreSQL caches
        client.get("/dashboard/")
    print(f"data: {moves:,} ledger moves, {orders:,} orders; load average {os.getloadavg()[0]:.2f}")
    ok = True
    for mode, clients in [(m, int(c)) for m in args.modes.split(",") if m for c in str(args.clients).split(",") if c]:
        use_snapshots(mode == "snapshots")
        if clients == 1:
            results, counts = {}, {}
            for name, headers in (("full page", {}), ("htmx refresh", {"HX-Request": "true"})):
                times, queries, slowest = measure(client, "/dashboard/", args.requests, headers)
                results[name], counts[name] = times, queries
                if args.show_queries:
                    for q in slowest:
                        print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:300]}")
        else:
            results = measure_concurrent([user.pk] * clients, args.requests)
        for name, times in results.items():
            p50, p95 = statistics.median(times), percentile(times, 95)
            met = p95 < TARGET_MS
            ok = ok and (met or mode == "live")
            plural = "s" if clients > 1 else ""
            print(
                f"GET /dashboard/ {mode} ({name}, {clients} client{plural}): {len(times)} requests, "
                f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms"
                + (f", {counts[name]} queries per request" if clients == 1 else "")
                + f" -> {'target met' if met else 'TARGET MISSED'} (p95 < {TARGET_MS:.0f} ms); "
                f"load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    print("dashboard target met" if ok else "dashboard target MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
