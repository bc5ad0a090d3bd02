"""KPI computation benchmark (issue 7, reporting). Run with `make bench` or
`python tests/bench/bench_kpis.py [--moves 1000000] [--orders 100000] [--sites 5] [--repeat 5]`.

Builds, in SQL (generate_series), a network of sites with zones, locations and items, a year of ledger moves
(default 1,000,000), sales orders with three lines each (default 100,000 orders) shipped over the year with
their allocations, waves and pick tasks, putaway tasks, count lines, exceptions and quants; then times
``reporting.kpis.compute_all`` (all 23 KPIs) for one site and for the network, for one day (what the nightly
snapshot computes) and for 30 days (the default API period), and each KPI alone for the 30-day site case.
Prints the median and worst wall time of ``--repeat`` runs and the number of queries.

Then (issue 16, ``--page-requests``, default 20) the KPI pages as a user sees them, through Django's test client
as an enterprise admin with the default period (the 30 days up to yesterday): the site page of the first site and
the network view (every site and the network side by side), p50 / p95 / max and queries, computed live (every KPI
over the whole period, as before ``reporting.rollup``) and from the daily snapshots (stored first for the 30 days,
as the hourly job does, when missing). Target: p95 < 300 ms.

Uses a scratch database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench), which it
migrates and wipes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench")


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
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE governance_site, inventory_item, orders_customer, orders_supplier, governance_jobrun, "
            "governance_exceptioncase, governance_historicalsite, inventory_historicallocation, "
            "reporting_kpisnapshot CASCADE"
        )


def insert_select(model, exprs: dict[str, str], source: str, params=None) -> int:
    """INSERT INTO model's table (every NOT NULL column: ``exprs`` or the field's constant default) SELECT ...
    FROM ``source``; ``exprs`` are SQL expressions over ``source`` (attnames as keys)."""
    from django.db import connection

    cols, vals = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        if f.attname in exprs:
            cols.append(f.column)
            vals.append(exprs[f.attname])
        elif f.null:
            continue
        elif f.has_default():
            default = f.get_default()
            cols.append(f.column)
            if callable(f.default) and f.default.__name__ in ("now", "localdate"):
                vals.append("now()" if f.default.__name__ == "now" else "current_date")
            elif isinstance(default, bool):
                vals.append("true" if default else "false")
            elif isinstance(default, (dict, list)):
                vals.append("'{}'::jsonb" if isinstance(default, dict) else "'[]'::jsonb")
            elif isinstance(default, str):
                vals.append("''" if default == "" else f"'{default}'")
            else:
                vals.append(str(default))
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            cols.append(f.column)
            vals.append("now()")
        elif f.blank and f.get_internal_type() in ("CharField", "TextField", "SlugField"):
            cols.append(f.column)
            vals.append("''")
        else:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
    sql = f'INSERT INTO "{model._meta.db_table}" ({", ".join(cols)}) SELECT {", ".join(vals)} FROM {source}'
    sql = sql.replace("%", "%%").replace("%%s", "%s")  # SQL's modulo next to the placeholders
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.rowcount


def build(n_moves: int, n_orders: int, n_sites: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from governance.models import ExceptionCase, ExceptionCode, Site
    from governance.services import create_site
    from inventory.models import CycleCount, CycleCountLine, Item, Location, StockMove, StockQuant, Zone
    from orders.models import Allocation, Customer, SalesOrder, SalesOrderLine
    from warehouse.models import PickTask, PutawayTask, Wave, WaveLine

    t0 = time.perf_counter()
    sites = [create_site(user=None, code=f"K{i}", name=f"Bench {i}", region="EAST") for i in range(n_sites)]
    site_ids = [s.pk for s in sites]
    for s in sites:
        Zone.objects.bulk_create([Zone(site=s, code=f"Z{z}", name=f"Zone {z}") for z in range(4)])
    insert_select(
        Location,
        {
            "site_id": "s.id",
            "code": "'L-' || g",
            "kind": "CASE WHEN g % 3 = 0 THEN 'PICK' ELSE 'STORAGE' END",
            "zone_id": "(SELECT z.id FROM inventory_zone z WHERE z.site_id = s.id ORDER BY z.id OFFSET g % 4 LIMIT 1)",
            "active": "true",
        },
        "governance_site s CROSS JOIN generate_series(1, 200) g",
    )
    insert_select(
        Item,
        {
            "sku": "'B-' || lpad(g::text, 6, '0')",
            "description": "'bench item'",
            "base_unit": "'EA'",
            "standard_cost": "(1 + g % 50)::numeric",
            "abc_class": "substr('ABCCC', 1 + g % 5, 1)",
        },
        "generate_series(1, 5000) g",
    )
    Customer.objects.create(code="bench", name="Bench customer")
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bl AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, site_id, kind "
            "FROM inventory_location WHERE kind IN ('PICK', 'STORAGE')"
        )
        cur.execute(
            "CREATE TEMP TABLE bv AS SELECT site_id, kind, id FROM inventory_location "
            "WHERE kind IN ('SUPPLIER', 'CUSTOMER', 'ADJUSTMENT')"
        )
        cur.execute("CREATE TEMP TABLE bi AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM inventory_item")
        cur.execute("CREATE UNIQUE INDEX ON bl (n)")
        cur.execute("CREATE UNIQUE INDEX ON bi (n)")
        cur.execute("CREATE INDEX ON bv (site_id, kind)")
        cur.execute("ANALYZE bl; ANALYZE bi; ANALYZE bv")
        cur.execute("SELECT count(*) FROM bl")
        n_loc = cur.fetchone()[0]
    now = timezone.now()
    year_ago = now - timedelta(days=365)
    # ledger: 70% moves between shelves, 12% receipts, 12% shipments, 6% adjustments, spread over a year
    insert_select(
        StockMove,
        {
            "item_id": "(SELECT id FROM bi WHERE bi.n = (g::bigint * 7919) % 5000)",
            "quantity": "1 + g % 20",
            "kind": "CASE WHEN g % 50 < 35 THEN 'MOVE' WHEN g % 50 < 41 THEN 'RECEIPT' "
            "WHEN g % 50 < 47 THEN 'SHIP' ELSE 'ADJUST' END",
            "from_location_id": "CASE WHEN g % 50 BETWEEN 35 AND 40 THEN (SELECT id FROM bv WHERE bv.site_id = "
            "l.site_id AND bv.kind = 'SUPPLIER') WHEN g % 50 >= 47 THEN (SELECT id FROM bv "
            "WHERE bv.site_id = l.site_id AND bv.kind = 'ADJUSTMENT') ELSE l.id END",
            "to_location_id": "CASE WHEN g % 50 BETWEEN 41 AND 46 THEN (SELECT id FROM bv WHERE bv.site_id = "
            "l.site_id AND bv.kind = 'CUSTOMER') WHEN g % 50 < 35 THEN (SELECT id FROM bl l2 "
            f"WHERE l2.n = (l.n + 1) % {n_loc}) ELSE l.id END",
            "from_status": "'AVAILABLE'",
            "to_status": "'AVAILABLE'",
            "created_at": "%s::timestamptz + (g::float / %s) * interval '365 days'",
        },
        f"generate_series(1, {n_moves}) g JOIN bl l ON l.n = g % {n_loc}",
        [year_ago, n_moves],
    )
    # quants: one per item and a shelf
    insert_select(
        StockQuant,
        {
            "item_id": "bi.id",
            "location_id": "l.id",
            "site_id": "l.site_id",
            "status": "'AVAILABLE'",
            "quantity": "1 + bi.n % 100",
            "reserved": "0",
            "last_received_at": "%s::timestamptz + ((bi.n % 365)::text || ' days')::interval",
        },
        f"bi JOIN bl l ON l.n = (bi.n * 13) % {n_loc}",
        [year_ago],
    )
    # orders over the year, three lines each; most shipped complete, some split, some open with backorders
    insert_select(
        SalesOrder,
        {
            "number": "'SO-B' || g",
            "customer_id": "(SELECT id FROM orders_customer LIMIT 1)",
            "site_id": f"(ARRAY{site_ids})[1 + g % {n_sites}]",
            "priority": "3",
            "promised_date": "(%s::timestamptz + (g::float / %s) * interval '365 days' + interval '2 days')::date",
            "status": "CASE WHEN g % 20 = 0 THEN 'BACKORDERED' ELSE 'SHIPPED' END",
            "released_at": "%s::timestamptz + (g::float / %s) * interval '365 days'",
            "shipped_at": "CASE WHEN g % 20 = 0 THEN NULL ELSE %s::timestamptz + (g::float / %s) * "
            "interval '365 days' + ((g % 72) || ' hours')::interval END",
            "version": "1",
        },
        f"generate_series(1, {n_orders}) g",
        [year_ago, n_orders, year_ago, n_orders, year_ago, n_orders],
    )
    insert_select(
        SalesOrderLine,
        {
            "order_id": "o.id",
            "line_number": "k",
            "item_id": "(SELECT id FROM bi WHERE bi.n = (o.id * 3 + k) % 5000)",
            "unit": "'EA'",
            "unit_factor": "1",
            "quantity": "4",
            "quantity_base": "4",
            "unit_price": "1",
            "shipped_quantity": "CASE WHEN o.status = 'SHIPPED' THEN 4 ELSE 0 END",
            "backordered_quantity": "CASE WHEN o.status = 'SHIPPED' THEN 0 ELSE 4 END",
            "backordered_since": "CASE WHEN o.status = 'SHIPPED' THEN NULL ELSE o.released_at END",
            "first_shipped_at": "CASE WHEN o.id % 10 = 0 THEN o.shipped_at - interval '1 hour' ELSE o.shipped_at END",
            "last_shipped_at": "o.shipped_at",
        },
        "sales_order_bench o CROSS JOIN generate_series(1, 3) k".replace("sales_order_bench", "orders_salesorder"),
    )
    # one allocation, wave line and pick task per shipped line; one wave per site and day
    insert_select(
        Allocation,
        {
            "line_id": "l.id",
            "site_id": "o.site_id",
            "item_id": "l.item_id",
            "quantity": "0",
            "original_quantity": "4",
            "rule": "CASE WHEN l.id % 50 = 0 THEN 'SHIP_FROM' ELSE 'HOME_SITE' END",
            "status": "'CONSUMED'",
            "created_at": "o.released_at",
        },
        "orders_salesorderline l JOIN orders_salesorder o ON o.id = l.order_id WHERE o.status = 'SHIPPED'",
    )
    insert_select(
        Wave,
        {
            "number": "'WV-B' || s.id || '-' || d",
            "site_id": "s.id",
            "status": "'COMPLETED'",
            "created_at": "%s::timestamptz + (d || ' days')::interval",
        },
        "governance_site s CROSS JOIN generate_series(0, 365) d",
        [year_ago],
    )
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bw AS SELECT w.id, w.site_id, (w.created_at::date) AS day FROM warehouse_wave w")
        cur.execute("CREATE INDEX ON bw (site_id, day)")
    insert_select(
        WaveLine,
        {
            "wave_id": "(SELECT bw.id FROM bw WHERE bw.site_id = a.site_id AND bw.day = a.created_at::date LIMIT 1)",
            "allocation_id": "a.id",
            "order_line_id": "a.line_id",
            "quantity": "4",
            "active": "true",
        },
        "orders_allocation a",
    )
    insert_select(
        PickTask,
        {
            "wave_id": "wl.wave_id",
            "site_id": "a.site_id",
            "wave_line_id": "wl.id",
            "order_line_id": "wl.order_line_id",
            "item_id": "a.item_id",
            "location_id": f"(SELECT id FROM bl WHERE bl.n = wl.id % {n_loc})",
            "to_location_id": f"(SELECT id FROM bl WHERE bl.n = (wl.id + 1) % {n_loc})",
            "quantity": "4",
            "status": "CASE WHEN wl.id % 40 = 0 THEN 'SHORT' ELSE 'PICKED' END",
            "picked_quantity": "4",
            "scanned_location": f"(SELECT code FROM inventory_location WHERE id = (SELECT id FROM bl "
            f"WHERE bl.n = wl.id % {n_loc}))",
            "confirmed_at": "a.created_at + interval '2 hours'",
            "created_at": "a.created_at",
        },
        "warehouse_waveline wl JOIN orders_allocation a ON a.id = wl.allocation_id",
    )
    insert_select(
        PutawayTask,
        {
            "site_id": "l.site_id",
            "item_id": "(SELECT id FROM bi WHERE bi.n = g % 5000)",
            "quantity": "5",
            "from_location_id": "l.id",
            "suggested_location_id": "l.id",
            "confirmed_location_id": "CASE WHEN g % 25 = 0 THEN (SELECT id FROM bl WHERE bl.n = (l.n + 1) % "
            f"{n_loc}) ELSE l.id END",
            "status": "'CONFIRMED'",
            "received_at": "%s::timestamptz + (g::float / 50000) * interval '365 days'",
            "confirmed_at": "%s::timestamptz + (g::float / 50000) * interval '365 days' "
            "+ ((g % 30) || ' hours')::interval",
        },
        f"generate_series(1, 50000) g JOIN bl l ON l.n = g % {n_loc}",
        [year_ago, year_ago],
    )
    for s in sites:
        for k in range(4):
            CycleCount.objects.create(number=f"CC-B{s.pk}-{k}", site=s)
    insert_select(
        CycleCountLine,
        {
            "count_id": "(SELECT id FROM inventory_cyclecount c WHERE c.site_id = l.site_id ORDER BY id "
            "OFFSET (g / 5000) % 4 LIMIT 1)",
            "location_id": "l.id",
            "item_id": "(SELECT id FROM bi WHERE bi.n = g % 5000)",
            "status": "'POSTED'",
            "counted_quantity": "100",
            "expected_quantity": "100 + g % 5 - 2",
            "variance": "2 - g % 5",
            "first_counted_at": "%s::timestamptz + (g::float / 20000) * interval '365 days'",
        },
        f"generate_series(1, 20000) g JOIN bl l ON l.n = g % {n_loc}",
        [year_ago],
    )
    code = ExceptionCode.objects.order_by("code").first()
    from django.contrib.contenttypes.models import ContentType

    insert_select(
        ExceptionCase,
        {
            "site_id": f"(ARRAY{site_ids})[1 + g % {n_sites}]",
            "code_id": str(code.pk),
            "content_type_id": str(ContentType.objects.get_for_model(Site).pk),
            "object_id": "g",
            "subject_label": "'bench'",
            "status": "CASE WHEN g % 10 = 0 THEN 'OPEN' ELSE 'RESOLVED' END",
            "severity": "'MEDIUM'",
            "owner_role": "'supervisor'",
            "opened_at": "%s::timestamptz + (g::float / 20000) * interval '365 days'",
            "due_at": "%s::timestamptz + (g::float / 20000) * interval '365 days' + interval '4 hours'",
            "resolved_at": "CASE WHEN g % 10 = 0 THEN NULL ELSE %s::timestamptz + (g::float / 20000) * "
            "interval '365 days' + ((g % 48) || ' hours')::interval END",
            "escalation_level": "0",
        },
        "generate_series(1, 20000) g",
        [year_ago, year_ago, year_ago],
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {"sites": sites, "seconds": time.perf_counter() - t0}


def timed(fn, repeat: int) -> tuple[float, float, int]:
    from django.db import connection, reset_queries

    connection.force_debug_cursor = True
    times, queries = [], 0
    for _ in range(repeat):
        reset_queries()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        queries = len(connection.queries)
    connection.force_debug_cursor = False
    return statistics.median(times) * 1000, max(times) * 1000, queries


PAGE_TARGET_MS = 300.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def use_snapshots(on: bool) -> None:
    """``on``: KPIs read their past days from the snapshots (reporting.rollup); off: every KPI is computed live over
    the whole period, as before the rollup, for a before/after comparison in one run."""
    from reporting import rollup

    real = getattr(rollup, "_real_complete_snapshots", rollup.complete_snapshots)
    rollup._real_complete_snapshots = real

    def none_stored(site, keys, date_from, date_to):
        return {key: {} for key in keys}

    rollup.complete_snapshots = real if on else none_stored


def store_month_of_snapshots(days: int = 30) -> tuple[int, float]:
    """The snapshots of the ``days`` days before today at every site and for the network, where a complete one
    (computed after the day ended) is missing: (days stored, seconds)."""
    from datetime import timedelta

    from governance.models import Site
    from governance.services.sites import site_local_date
    from reporting import rollup
    from reporting.models import KpiSnapshot
    from reporting.services import store_snapshots

    started, stored = time.perf_counter(), 0
    for site in [*Site.objects.filter(active=True).order_by("code"), None]:
        zones = rollup._zones(site)
        today = site_local_date(site)
        for k in range(1, days + 1):
            day = today - timedelta(days=k)
            row = KpiSnapshot.objects.filter(site=site, key="order_fill_rate", date=day).first()
            if row is None or row.computed_at < rollup.day_end(day, zones):
                store_snapshots(site, day)
                stored += 1
    return stored, time.perf_counter() - started


def measure_pages(site, requests: int) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    stored, seconds = store_month_of_snapshots()
    print(f"snapshots of the last 30 days: {stored} site-days stored in {seconds:.0f} s", flush=True)
    setup_test_environment()
    settings.DEBUG = False
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-kpi-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(admin)
    pages = (
        (f"site page {site.code}", reverse("web:kpi-site-code", args=[site.code])),
        ("network view", reverse("web:kpi-network")),
    )
    print(f"{'page (30 days to yesterday)':<44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}  load")
    for mode in ("live", "snapshots"):
        use_snapshots(mode == "snapshots")
        for label, url in pages:
            for _ in range(2):  # warm-up
                client.get(url, secure=True)
            times, queries = [], 0
            for _ in range(requests):
                with CaptureQueriesContext(connection) as ctx:
                    t = time.perf_counter()
                    response = client.get(url, secure=True)
                    times.append((time.perf_counter() - t) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"GET {url} answered {response.status_code}")
                queries = len(ctx.captured_queries)
            p95 = percentile(times, 95)
            verdict = "" if mode == "live" else ("  target met" if p95 < PAGE_TARGET_MS else "  TARGET MISSED")
            print(
                f"{label + ', ' + mode:<44} {statistics.median(times):>8.0f} {p95:>8.0f} {max(times):>8.0f} "
                f"{queries:>8}  {os.getloadavg()[0]:.2f}{verdict}",
                flush=True,
            )
    use_snapshots(True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure the data already built (no wipe)")
    parser.add_argument("--page-requests", type=int, default=20, help="timed requests per KPI page (0: none)")
    parser.add_argument("--skip-compute", action="store_true", help="only the pages (not compute_all and each KPI)")
    args = parser.parse_args(argv)
    ensure_database(BENCH_URL)
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from inventory.models import StockMove
    from orders.models import SalesOrder
    from reporting.kpis import KPIS, compute_all

    if args.reuse:
        from governance.models import Site

        site = Site.objects.order_by("pk").first()
    else:
        wipe()
        built = build(args.moves, args.orders, args.sites)
        site = built["sites"][0]
        print(f"built in {built['seconds']:.0f} s", flush=True)
    print(f"{StockMove.objects.count():,} moves, {SalesOrder.objects.count():,} orders", flush=True)
    yesterday = timezone.now().date() - timedelta(days=1)
    month = yesterday - timedelta(days=29)
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.page_requests:
        measure_pages(site, args.page_requests)
    if args.skip_compute:
        connection.close()
        return 0
    print(f"{'what':<44} {'median ms':>10} {'max ms':>10} {'queries':>8}")
    for label, target, start in (
        ("compute_all, one site, one day", site, yesterday),
        ("compute_all, network, one day", None, yesterday),
        ("compute_all, one site, 30 days", site, month),
        ("compute_all, network, 30 days", None, month),
    ):
        med, worst, queries = timed(lambda t=target, s=start: compute_all(t, s, yesterday), args.repeat)
        print(f"{label:<44} {med:>10.0f} {worst:>10.0f} {queries:>8}", flush=True)
    for key, definition in KPIS.items():
        med, worst, queries = timed(lambda d=definition: d.function(site, month, yesterday), args.repeat)
        print(f"  {key:<42} {med:>10.1f} {worst:>10.1f} {queries:>8}", flush=True)
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
