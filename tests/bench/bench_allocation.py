"""Allocation throughput benchmark (issue 3). Run with `make bench` or
`python tests/bench/bench_allocation.py [--batch 25] [--workers 1,4,16]`.

Measures allocated order lines per second with 1, 4 and 16 concurrent worker processes for
(a) one hot item at one site and (b) 5,000 items at 5 sites with Zipf-skewed demand, and, in the same
run, the rate of single-row `UPDATE ... SET n = n - 1` transactions on one hot row (the physical limit
of a hot row on this machine). Uses a scratch database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/erp_bench), which it migrates and wipes.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench")


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distribution_erp.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""
            TRUNCATE orders_allocationdecision, orders_allocation, orders_historicalsalesorder,
                     orders_salesorderline, orders_salesorder, orders_historicalcustomer, orders_customer,
                     inventory_stocklevel, inventory_stockquant, inventory_stockmove, inventory_itemunit,
                     inventory_itemsubstitute, inventory_historicalitem, inventory_item,
                     inventory_historicallocation, inventory_location, governance_historicalsite,
                     governance_exceptioncase, governance_historicalexceptioncase, governance_siterulevalue,
                     governance_site CASCADE
        """)


def make_world(n_items: int, n_sites: int):
    from governance.services import create_site
    from inventory.models import Item, StockLevel
    from orders.models import Customer

    sites = [
        create_site(user=None, code=f"B{i}", name=f"Bench {i}", region="EAST" if i < 3 else "WEST")
        for i in range(n_sites)
    ]
    Item.objects.bulk_create([Item(sku=f"B-{i:05d}", description=f"bench {i}") for i in range(n_items)])
    items = list(Item.objects.order_by("pk").values_list("pk", flat=True))
    StockLevel.objects.bulk_create(
        [StockLevel(item_id=i, site=s, available=10_000_000) for i in items for s in sites], batch_size=5000
    )
    Customer.objects.bulk_create(
        [
            Customer(
                code=f"BC{i}",
                name=f"bench {i}",
                home_site=sites[i % n_sites],
                region=sites[i % n_sites].region,
                credit_limit=10**9,
            )
            for i in range(100)
        ]
    )
    return sites, items, list(Customer.objects.order_by("pk"))


def make_orders(n_orders: int, items: list[int], customers, *, zipf: bool, lines_per_order=(1, 3)) -> tuple[list, int]:
    from django.utils import timezone

    from orders.models import SalesOrder, SalesOrderLine

    rng = random.Random(42)
    now = timezone.now()
    start = SalesOrder.objects.count()
    orders = SalesOrder.objects.bulk_create(
        [
            SalesOrder(
                number=f"BSO-{start + i:07d}",
                customer=customers[i % len(customers)],
                site_id=customers[i % len(customers)].home_site_id,
                priority=rng.randint(1, 5),
                promised_date=(now + timedelta(days=rng.randint(1, 20))).date(),
                status="RELEASED",
                released_at=now,
            )
            for i in range(n_orders)
        ],
        batch_size=2000,
    )
    weights = [1 / (rank + 1) for rank in range(len(items))] if zipf else None
    lines = []
    for order in orders:
        count = rng.randint(*lines_per_order)
        chosen = set(rng.choices(items, weights=weights, k=count)) if zipf else {items[0]}
        for n, item in enumerate(chosen):
            lines.append(
                SalesOrderLine(
                    order=order, line_number=n + 1, item_id=item, unit="EA", quantity=2, quantity_base=2, unit_price=1
                )
            )
    SalesOrderLine.objects.bulk_create(lines, batch_size=5000)
    return [o.pk for o in orders], len(lines)


def _worker(queue, result_queue):
    from django.db import connection

    from orders.services import allocate_orders

    lines = 0
    while True:
        batch = queue.get()
        if batch is None:
            break
        counts = allocate_orders(batch)
        lines += counts["allocated_units"] // 2
    connection.close()
    result_queue.put(lines)


def run_allocation(order_ids: list[int], workers: int, batch: int) -> tuple[float, int]:
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    queue, results = ctx.Queue(), ctx.Queue()
    for i in range(0, len(order_ids), batch):
        queue.put(order_ids[i : i + batch])
    for _ in range(workers):
        queue.put(None)
    procs = [ctx.Process(target=_worker, args=(queue, results)) for _ in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    total = sum(results.get() for _ in procs)
    for p in procs:
        p.join()
    return time.perf_counter() - started, total


def _hot_worker(url: str, seconds: float, result_queue) -> None:
    import psycopg

    done = 0
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            conn.execute("UPDATE bench_hot_row SET n = n - 1 WHERE id = 1")
            done += 1
    result_queue.put(done)


def hot_row_limit(workers: int, seconds: float = 4.0) -> float:
    import psycopg

    with psycopg.connect(BENCH_URL, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_hot_row (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_hot_row VALUES (1, 1000000000) ON CONFLICT (id) DO NOTHING")
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_hot_worker, args=(BENCH_URL, seconds, results)) for _ in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    total = sum(results.get() for _ in procs)
    for p in procs:
        p.join()
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,4,16")
    parser.add_argument("--batch", type=int, default=200, help="orders per allocation transaction")
    parser.add_argument("--orders", type=int, default=8000, help="orders per measurement")
    args = parser.parse_args()
    ensure_database(BENCH_URL)
    setup_django()
    wipe()
    sites, items, customers = make_world(5000, 5)
    hot_customers = [c for c in customers if c.home_site_id == sites[0].pk]
    print(f"world: {len(sites)} sites, {len(items)} items, batch={args.batch} orders/transaction")
    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        limit = hot_row_limit(workers)
        ids, n_lines = make_orders(args.orders, items, hot_customers, zipf=False)
        hot_secs, hot_lines = run_allocation(ids, workers, args.batch)
        ids, n_lines = make_orders(args.orders, items, customers, zipf=True)
        skew_secs, skew_lines = run_allocation(ids, workers, args.batch)
        rows.append((workers, limit, hot_lines / hot_secs, skew_lines / skew_secs, hot_lines, skew_lines))
        print(
            f"workers={workers:2d}  hot-row UPDATE tx/s={limit:8.0f}  (a) hot item lines/s={hot_lines / hot_secs:8.0f}"
            f" ({hot_lines} lines, {100 * hot_lines / hot_secs / limit:5.1f}% of hot-row limit)"
            f"  (b) 5,000 items Zipf lines/s={skew_lines / skew_secs:8.0f} ({skew_lines} lines)"
        )
    from inventory.selectors import find_inventory_drift

    drift = [d for d in find_inventory_drift() if d.kind in ("ALLOCATED_VS_ALLOCATIONS", "LINE_VS_ALLOCATIONS")]
    print(f"allocation drift after the run: {len(drift)} rows")
    ok_b = any(w == 16 and b >= 1000 for w, _, _, b, *_ in rows)
    ok_a = all(a >= 0.5 * limit for _, limit, a, *_ in rows)
    print(
        f"targets: (b) >= 1000 lines/s with 16 workers: {'MET' if ok_b else 'NOT MET'}; "
        f"(a) >= 50% of hot-row limit: {'MET' if ok_a else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
