"""Replenishment planning benchmark (issue 6). Run with `make bench` or
`python tests/bench/bench_replenishment.py [--items 2000,10000] [--sites 5] [--batch 2000]`.

Builds a network of 5 sites with one replenishment policy per item and site (60% MIN_MAX, 40% REORDER_POINT
with 90 days of SHIP history), stock levels, open purchase orders and transfers, then plans every site the
way the replenishment worker does (one run per site: `orders.services.replenishment.execute_run`) and
reports, per scale (items x sites = item-site pairs):

- the wall time to plan every pair (target: 50,000 pairs in under 10 seconds);
- the database queries per run (set-based: a fixed handful per batch, independent of the item count);
- the tracemalloc peak of one run, which must not grow with the number of items beyond the batch size
  (compare the smallest and largest scale).

Uses a scratch database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench), which it
migrates and wipes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench")
TARGET_PAIRS, TARGET_SECONDS = 50_000, 10.0


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.split("?")[0].rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distribution_erp.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    os.environ.setdefault("DJANGO_DEBUG", "0")  # as in production: no query log kept in memory
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE governance_site, inventory_item, orders_supplier, governance_jobrun, "
            "governance_historicalsite, inventory_historicallocation CASCADE"
        )


def build(n_items: int, n_sites: int, seed: int = 7):
    """The network: sites, items, stock levels, policies, 90 days of shipments, open POs and transfers."""
    from django.utils import timezone

    from core.db import bulk_insert_rows
    from governance.services import create_site
    from inventory.models import Item, Location, StockLevel, StockMove
    from orders.models import (
        PurchaseOrder,
        PurchaseOrderLine,
        ReplenishmentPolicy,
        Supplier,
        TransferOrder,
        TransferOrderLine,
    )

    rng = random.Random(seed)
    now = timezone.now()
    sites = [
        create_site(user=None, code=f"R{i}", name=f"Bench {i}", region="EAST" if i < 3 else "WEST")
        for i in range(n_sites)
    ]
    shelves = {s.pk: Location.objects.create(site=s, code="BULK", kind=Location.Kind.STORAGE) for s in sites}
    customers = {s.pk: Location.objects.get(site=s, kind=Location.Kind.CUSTOMER) for s in sites}
    supplier = Supplier.objects.create(code="BSUP", name="Bench supplier", lead_time_days=7)
    Item.objects.bulk_create(
        [
            Item(sku=f"R-{i:06d}", description=f"bench {i}", standard_cost=Decimal(rng.randint(1, 50)))
            for i in range(n_items)
        ],
        batch_size=5000,
    )
    items = list(Item.objects.order_by("pk").values_list("pk", flat=True))
    levels, policies, moves = [], [], []
    start = now - timedelta(days=90)
    for item in items:
        for s in sites:
            max_q = rng.randint(100, 300)
            available = rng.randint(0, 400)
            allocated = rng.randint(0, available // 4)
            levels.append((item, s.pk, 0, available, 0, 0, 0, allocated, now))
            rop = rng.random() < 0.4
            policies.append(
                (
                    item,
                    s.pk,
                    "REORDER_POINT" if rop else "MIN_MAX",
                    max_q // 4,
                    max_q,
                    Decimal("0.95"),
                    7,
                    None,
                    rng.choice((1, 6, 12)),
                    rng.choice((0, 0, 24)),
                    supplier.pk if rng.random() < 0.9 else None,
                    True,
                    now,
                    now,
                )
            )
            if rop:
                for _ in range(rng.randint(5, 15)):
                    moves.append(
                        (
                            item,
                            rng.randint(1, 20),
                            shelves[s.pk].pk,
                            "AVAILABLE",
                            customers[s.pk].pk,
                            "",
                            "SHIP",
                            "BENCH",
                            "",
                            "",
                            "",
                            start + timedelta(days=rng.random() * 89.5),
                        )
                    )
    level_fields = ["item", "site", "received", "available", "hold", "damaged", "in_transit", "allocated", "updated_at"]
    policy_fields = [
        "item",
        "site",
        "method",
        "min_quantity",
        "max_quantity",
        "service_level",
        "review_days",
        "lead_time_days",
        "pack_multiple",
        "min_order_quantity",
        "supplier",
        "active",
        "created_at",
        "updated_at",
    ]
    move_fields = [
        "item",
        "quantity",
        "from_location",
        "from_status",
        "to_location",
        "to_status",
        "kind",
        "reference",
        "document_type",
        "reason_code",
        "note",
        "created_at",
    ]
    for rows, model, fields in (
        (levels, StockLevel, level_fields),
        (policies, ReplenishmentPolicy, policy_fields),
        (moves, StockMove, move_fields),
    ):
        for i in range(0, len(rows), 20_000):
            bulk_insert_rows(model, fields, rows[i : i + 20_000])
    for s in sites:  # open purchase orders for 5% of the items, transfers for 1%
        po = PurchaseOrder.objects.create(
            number=f"BPO-{s.code}", supplier=supplier, site=s, expected_date=now.date() + timedelta(days=5)
        )
        PurchaseOrderLine.objects.bulk_create(
            [
                PurchaseOrderLine(purchase_order=po, line_number=n % 30000 + 1, item_id=item, quantity=50, unit_cost=1)
                for n, item in enumerate(rng.sample(items, max(n_items // 20, 1)))
            ]
        )
    for i, s in enumerate(sites):
        to = TransferOrder.objects.create(
            number=f"BTO-{s.code}", from_site=s, to_site=sites[(i + 1) % len(sites)], status="APPROVED"
        )
        TransferOrderLine.objects.bulk_create(
            [
                TransferOrderLine(transfer=to, line_number=n + 1, item_id=item, quantity=10)
                for n, item in enumerate(rng.sample(items, max(n_items // 100, 1)))
            ]
        )
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return sites, len(policies), len(moves)


def backend_cpu_seconds() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (Linux, same machine), else None."""
    from django.db import connection

    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def plan_all(sites, batch: int, *, trace: bool = False) -> tuple[float, int, list[dict], int, float]:
    """Plan every site once; returns (seconds, queries per run, counts per run, tracemalloc peak per run,
    CPU seconds of this process and its database backend)."""
    from django.db import connection

    from orders.models import ReplenishmentRun, ReplenishmentSuggestion
    from orders.services.replenishment import execute_run

    ReplenishmentSuggestion.objects.all().delete()
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    peak, all_counts, per_run_queries = 0, [], 0
    elapsed = 0.0
    cpu_before, db_before = time.process_time(), backend_cpu_seconds()
    with connection.execute_wrapper(count):
        for site in sites:
            run = ReplenishmentRun.objects.create(site=site)
            queries[0] = 0
            if trace:
                tracemalloc.reset_peak()
            started = time.perf_counter()
            done = execute_run(run_id=run.pk, batch_size=batch)
            elapsed += time.perf_counter() - started
            if trace:
                peak = max(peak, tracemalloc.get_traced_memory()[1])
            per_run_queries = max(per_run_queries, queries[0])
            all_counts.append(done.counts)
    db_after = backend_cpu_seconds()
    cpu = time.process_time() - cpu_before + (db_after - db_before if db_before is not None and db_after else 0)
    return elapsed, per_run_queries, all_counts, peak, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", default="2000,10000", help="items per site, per scale (pairs = items x sites)")
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2000, help="policies per planning batch")
    args, _ = parser.parse_known_args()
    ensure_database(BENCH_URL)
    setup_django()
    results = []
    for n_items in [int(x) for x in args.items.split(",")]:
        wipe()
        started = time.perf_counter()
        sites, pairs, n_moves = build(n_items, args.sites)
        setup = time.perf_counter() - started
        seconds, queries, counts, _, cpu = plan_all(sites, args.batch)
        suggestions = sum(c["purchase_suggestions"] + c["transfer_suggestions"] for c in counts)
        again, _, _, _, cpu_again = plan_all(sites, args.batch)  # warm: same work again
        tracemalloc.start()
        _, _, _, peak, _ = plan_all(sites, args.batch, trace=True)
        tracemalloc.stop()
        best = min(seconds, again)
        results.append((pairs, best, peak))
        print(
            f"pairs={pairs:6d} ({n_items} items x {args.sites} sites, {n_moves} SHIP moves; setup {setup:.1f}s)  "
            f"plan all: {seconds:5.2f}s cold, {again:5.2f}s warm = {pairs / best:6.0f} pairs/s; "
            f"CPU (python + postgres) {min(cpu, cpu_again):5.2f}s  suggestions={suggestions}  "
            f"queries/run<={queries}  tracemalloc peak/run={peak / 1e6:5.2f} MB (batch {args.batch})",
            flush=True,
        )
    print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    biggest = max(results)
    if biggest[0] >= TARGET_PAIRS:
        verdict = "MET" if biggest[1] < TARGET_SECONDS else "NOT MET"
        print(
            f"target: {TARGET_PAIRS:,} pairs in < {TARGET_SECONDS:.0f}s: {verdict} ({biggest[1]:.2f}s for "
            f"{biggest[0]:,} pairs)"
        )
    if len(results) > 1:
        smallest = min(results)
        growth = biggest[2] / smallest[2] if smallest[2] else float("inf")
        print(
            f"memory: peak per run {smallest[2] / 1e6:.2f} MB at {smallest[0]:,} pairs vs {biggest[2] / 1e6:.2f} MB "
            f"at {biggest[0]:,} pairs (x{growth:.2f}): {'BOUNDED' if growth < 1.5 else 'GROWS'}"
        )


if __name__ == "__main__":
    main()
