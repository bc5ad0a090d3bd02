"""Supervisor dashboard benchmark (issue 7): server time (p50/p95) and queries of GET /dashboard/ with
1,000,000 ledger moves and 100,000 orders in the database. Run with `make bench` or
`python tests/bench/bench_dashboard.py [--requests 50] [--moves 1000000] [--orders 100000] [--regenerate]`.

The data comes from gen_dashboard_data.py (its own database, ``<bench database>_dashboard``, generated once and
reused). The view runs in process through Django's test client (middleware, session, view, template: the
server's whole work for the request, no network), logged in as a supervisor of the busiest site; first a
few warm-up requests, then ``--requests`` timed full pages and as many htmx refreshes (the panels only, what
the page polls every 15 s). Target: p95 under 200 ms with a fixed number of queries.
"""

from __future__ import annotations

import argparse
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--moves", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--show-queries", action="store_true", help="print the slowest queries of a request")
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
    client = Client()
    client.force_login(user)
    for _ in range(3):  # warm-up: session, content types, template loading, PostgreSQL caches
        client.get("/dashboard/")
    print(f"data: {moves:,} ledger moves, {orders:,} orders")
    ok = True
    for name, headers in (("full page", {}), ("htmx refresh", {"HX-Request": "true"})):
        times, queries, slowest = measure(client, "/dashboard/", args.requests, headers)
        p50, p95 = statistics.median(times), percentile(times, 95)
        met = p95 < TARGET_MS
        ok = ok and met
        print(
            f"GET /dashboard/ ({name}): {args.requests} requests, p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"max {max(times):.1f} ms, {queries} queries per request -> "
            f"{'target met' if met else 'TARGET MISSED'} (p95 < {TARGET_MS:.0f} ms)"
        )
        if args.show_queries:
            for q in slowest:
                print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:300]}")
    print("dashboard target met" if ok else "dashboard target MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
