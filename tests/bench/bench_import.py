"""Cutover import benchmark (issue 13). Run with `make bench` or `python tests/bench/bench_import.py [--rows 100000]`.

Builds a site with 1,000 storage locations and 5,000 items (one in five lot tracked, with a shelf life), writes an
opening-balance CSV of ``--rows`` rows (each item at 20 locations; lot-tracked items with a lot and expiry, some
quantities in cases), then times: the upload (header check and row count), the dry run (every row checked, nothing
written) and the post (approval decided by a second user: the lots created and every row one OPENING move in one
ledger post). Target: dry run and post of 100,000 rows under 60 s each.

Uses a scratch database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench), which it
migrates and wipes.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.benchdb import setup_django, truncate  # noqa: E402


def wipe() -> None:
    truncate(
        "governance_site",
        "inventory_item",
        "governance_outboxmessage",
        "governance_approvalrequest",
        "auth_user",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args, _ = parser.parse_known_args()
    setup_django()
    wipe()

    from django.contrib.auth import get_user_model

    from cutover.models import ImportBatch
    from cutover.services import create_batch, request_post, validate_batch
    from governance.models import SiteMembership
    from governance.services import create_site, decide_approval
    from inventory.models import Item, ItemUnit, Location, StockMove
    from inventory.services.master import bulk_add_items, bulk_add_locations

    User = get_user_model()
    site = create_site(user=None, code="BENCH", name="Bench DC", region="EAST")
    lead = User.objects.create(username="bench-lead")
    approver = User.objects.create(username="bench-approver")
    SiteMembership.objects.create(user=lead, site=site, role="admin")
    SiteMembership.objects.create(user=approver, site=site, role="supervisor")
    per_item = 20
    n_items = max(1, args.rows // per_item)
    n_locations = 1000
    bulk_add_locations(
        [Location(site=site, code=f"L-{n:04d}", kind=Location.Kind.STORAGE) for n in range(n_locations)], user=None
    )
    items = [
        Item(
            sku=f"B-{n:05d}",
            description=f"Bench item {n}",
            lot_tracked=n % 5 == 0,
            shelf_life_days=365 if n % 5 == 0 else None,
        )
        for n in range(n_items)
    ]
    bulk_add_items(items, user=None)
    ItemUnit.objects.bulk_create(
        [ItemUnit(item=i, code="EA", factor=1) for i in items]
        + [ItemUnit(item=i, code="CASE", factor=12) for i in items]
    )

    expiry = (date.today() + timedelta(days=200)).isoformat()
    lines = ["location,sku,quantity,unit,lot,expiry_date,status"]
    count = 0
    for n in range(n_items):
        for k in range(per_item):
            if count == args.rows:
                break
            location = f"L-{(n * 7 + k * 50) % n_locations:04d}"
            lot = f"LOT{n}-{k % 4}" if n % 5 == 0 else ""
            status = "AVAILABLE" if k % 10 else "HOLD"
            unit, quantity = ("CASE", 2) if k % 3 == 0 else ("", 5 + k)
            lines.append(f"{location},B-{n:05d},{quantity},{unit},{lot},{expiry if lot else ''},{status}")
            count += 1
    content = ("\r\n".join(lines) + "\r\n").encode()
    print(
        f"opening balances: {count:,} rows, {len(content) / 1e6:.1f} MB, {n_items:,} items, {n_locations:,} locations"
    )

    started = time.perf_counter()
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content, file_name="bench.csv")
    upload = time.perf_counter() - started
    started = time.perf_counter()
    batch = validate_batch(user=lead, batch=batch)
    dry_run = time.perf_counter() - started
    assert batch.status == ImportBatch.Status.VALIDATED, list(batch.errors.values_list("row", "column", "message")[:5])
    assert not StockMove.objects.exists()
    batch, approval = request_post(user=lead, batch=batch)
    started = time.perf_counter()
    decide_approval(approval=approval, user=approver, approve=True)
    post = time.perf_counter() - started
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.POSTED and batch.posted_rows == count
    assert StockMove.objects.filter(kind="OPENING").count() == count
    print(
        f"upload {upload:.1f} s; dry run {dry_run:.1f} s ({count / dry_run:,.0f} rows/s); "
        f"post {post:.1f} s ({count / post:,.0f} rows/s); target: under 60 s each"
    )


if __name__ == "__main__":
    main()
