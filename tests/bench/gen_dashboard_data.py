"""Data for the supervisor dashboard benchmark (issue 7): 1,000,000 ledger moves and 100,000 orders.

Run by tests/bench/bench_dashboard.py (and `make bench`), or alone:
`python tests/bench/gen_dashboard_data.py [--moves 1000000] [--orders 100000] [--regenerate]`.

Uses its own database, ``<bench database>_dashboard`` (from BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/erp_bench), kept between runs: generating takes a few minutes, so a database
that already holds the asked-for volumes is reused (``--regenerate`` drops and rebuilds it).

How, fast and consistent:
1. the demo network (``distribution_erp.demo.load_demo``: 5 sites, bins, 2,000 items, opening balances
   posted through the ledger), then one real scenario run through the services at the first site: orders
   created, released, allocated, waved, picked (one short: a SHORT_PICK exception), packed and shipped; a
   purchase order received (a putaway task). Those rows are the templates;
2. the volume is cloned from the templates with ``INSERT ... SELECT ... FROM generate_series`` (every column
   the template has, the varying ones overridden in SQL), spread over 400 days and every site:
   - ledger moves in pairs on the existing on-hand keys (item, location, lot, AVAILABLE): a RECEIPT of q
     units from the site's supplier location, then a SHIP of the same q an hour later to its customer
     location. Every pair nets to zero, so each quant still equals the sum of its moves and each stock level
     the sum of its quants (``manage.py verify_inventory`` stays clean) while the ledger holds the volume;
   - orders (98 % shipped, 2 % released and backordered) with two lines each, completed waves of 50 orders of
     one site, one pick task per shipped line (1 in 40 short, with its exception, resolved unless recent),
     confirmed and open putaway tasks, a few open waves with open pick tasks, daily KPI snapshots;
3. ANALYZE.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench")
DAYS = 400
PREFIX_ORDER = "BO"
PREFIX_WAVE = "BW"
BENCH_USER = "bench-sup"


def dashboard_database_url(base: str = BASE_URL) -> str:
    head, _, tail = base.partition("?")
    return f"{head}_dashboard" + (f"?{tail}" if tail else "")


def _admin_conn(url: str):
    import psycopg

    base, _ = url.split("?")[0].rsplit("/", 1)
    return psycopg.connect(f"{base}/postgres", autocommit=True)


def ensure_database(url: str, *, drop: bool = False) -> None:
    name = url.split("?")[0].rsplit("/", 1)[1]
    with _admin_conn(url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distribution_erp.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def log(msg: str) -> None:
    print(f"[gen {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- cloning ------------------------------------------------------------------------------------------------


def clone(model, template, source: str, overrides: dict[str, str]) -> int:
    """INSERT INTO <model's table> every column (but the id): the SQL expression in ``overrides`` (by column
    name) or the template's value; FROM ``source`` (e.g. "generate_series(1, 10) g JOIN ..."). Returns rows."""
    from django.db import connection

    cols, exprs, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        cols.append(connection.ops.quote_name(f.column))
        if f.column in overrides:
            exprs.append(overrides[f.column].replace("%", "%%"))  # the template's values are parameters
        else:
            exprs.append("%s")
            params.append(f.get_db_prep_save(getattr(template, f.attname), connection))
    unknown = set(overrides) - {f.column for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__}: no column(s) {sorted(unknown)}")
    source = source.replace("%", "%%")
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {source}"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def run_sql(sql: str, params=None) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.rowcount


def scalar(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchone()[0]


# --- the seed scenario --------------------------------------------------------------------------------------


def seed():
    """The demo network and one real scenario at the first site, through the services; returns templates."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from distribution_erp.demo import FULL, load_demo
    from governance.models import ExceptionCase, Site, SiteMembership
    from inventory.models import Location, StockQuant
    from orders.models import Customer, SalesOrder, SalesOrderLine
    from orders.services import allocate_orders, create_order, create_purchase_order, create_supplier, release_order
    from warehouse.models import PickTask, PutawayTask, Shipment
    from warehouse.services import confirm_pick, confirm_shipment, pack_wave, plan_wave, receive, release_wave

    t = time.monotonic()
    load_demo(scale=FULL, activity=False)  # the network only: the scenario below and the clones are the activity
    log(f"demo network loaded in {time.monotonic() - t:.0f} s")
    sites = list(Site.objects.filter(active=True).order_by("code"))
    site = sites[0]
    user_model = get_user_model()
    boss, _ = user_model.objects.get_or_create(username=BENCH_USER, defaults={"is_active": True})
    boss.set_password("bench-pass-123")
    boss.save()
    for role in ("supervisor", "coordinator", "operator", "planner"):
        SiteMembership.objects.get_or_create(user=boss, site=site, role=role)
    customers = [
        Customer.objects.get_or_create(
            code=f"BENCH-{s.code}-{i}",
            defaults={"name": f"Bench {i}", "home_site": s, "region": s.region, "credit_limit": 10**9},
        )[0]
        for s in sites
        for i in range(20)
    ]
    pick = (
        StockQuant.objects.filter(
            site=site,
            location__kind=Location.Kind.PICK,
            status="AVAILABLE",
            quantity__gte=20,
            lot__isnull=True,
            item__active=True,
            item__lot_tracked=False,
            item__requires_inspection=False,
        )
        .select_related("item", "location")
        .order_by("id")
        .first()
    )
    if pick is None:
        raise SystemExit("no pick-face stock without lots at the first site to run the seed scenario on")
    item = pick.item
    orders = []
    for quantity in (4, 2):
        order = create_order(
            user=boss,
            customer=customers[0],
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": item.sku, "quantity": quantity}],
        )
        release_order(user=boss, order=order)
        orders.append(order)
    allocate_orders([o.pk for o in orders])
    wave = plan_wave(user=boss, site=site)
    release_wave(user=boss, wave=wave)
    for task in PickTask.objects.filter(wave=wave).select_related("location", "item").order_by("id"):
        short = task.quantity == 4
        confirm_pick(
            user=boss,
            task=task,
            quantity=task.quantity - 1 if short else task.quantity,
            location_code=task.location.code,
            item_sku=task.item.sku,
        )
    for shipment in pack_wave(user=boss, wave=wave):
        confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number=f"1Z-BENCH-{shipment.pk}")
    supplier = create_supplier(user=None, code="BENCH-SUP", name="Bench supplier", lead_time_days=5)
    po = create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate(),
        lines=[{"item": item.sku, "quantity": 10, "unit_cost": "5.00"}],
    )
    receive(user=boss, purchase_order=po, lines=[{"item": item.sku, "quantity": 10}])
    shipped = SalesOrder.objects.filter(pk__in=[o.pk for o in orders], status=SalesOrder.Status.SHIPPED).first()
    if shipped is None:
        raise SystemExit("the seed scenario shipped no order complete")
    wave.refresh_from_db()
    templates = {
        "order": shipped,
        "line": SalesOrderLine.objects.filter(order=shipped).first(),
        "wave": wave,
        "pick": PickTask.objects.filter(wave=wave, status=PickTask.Status.PICKED).first(),
        "exception": ExceptionCase.objects.filter(code__code="SHORT_PICK").first(),
        "putaway": PutawayTask.objects.filter(site=site).first(),
        "shipment": Shipment.objects.first(),
        "sites": sites,
        "customers": customers,
        "boss": boss,
    }
    missing = [k for k, v in templates.items() if v is None]
    if missing:
        raise SystemExit(f"seed scenario left no template for {missing}")
    return templates


# --- the volume ---------------------------------------------------------------------------------------------


def helper_tables(templates) -> dict:
    """Temporary lookup tables: sites with their locations, items, customers, on-hand keys (idx from 0)."""
    run_sql("DROP TABLE IF EXISTS bench_site, bench_item, bench_customer, bench_key")
    run_sql("""
        CREATE TABLE bench_site AS
        SELECT (row_number() OVER (ORDER BY s.code) - 1)::int AS idx, s.id AS site_id,
               (SELECT id FROM inventory_location l WHERE l.site_id = s.id AND l.kind = 'PICK' ORDER BY id LIMIT 1)
                   AS pick_loc,
               (SELECT id FROM inventory_location l WHERE l.site_id = s.id AND l.kind = 'STAGING' ORDER BY id LIMIT 1)
                   AS stage_loc,
               (SELECT id FROM inventory_location l WHERE l.site_id = s.id AND l.kind = 'RECEIVING' ORDER BY id
                 LIMIT 1) AS dock_loc,
               (SELECT id FROM inventory_location l WHERE l.site_id = s.id AND l.kind = 'STORAGE' ORDER BY id LIMIT 1)
                   AS storage_loc,
               (SELECT id FROM inventory_location l WHERE l.site_id = s.id AND l.kind = 'SUPPLIER' ORDER BY id LIMIT 1)
                   AS supplier_loc,
               (SELECT id FROM inventory_location l WHERE l.site_id = s.id AND l.kind = 'CUSTOMER' ORDER BY id LIMIT 1)
                   AS customer_loc
          FROM governance_site s WHERE s.active
    """)
    if scalar("SELECT count(*) FROM bench_site WHERE supplier_loc IS NULL OR customer_loc IS NULL OR pick_loc IS NULL"):
        raise SystemExit("a site lacks a supplier, customer or pick location")
    run_sql("""CREATE TABLE bench_item AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS idx, id AS item_id
                 FROM inventory_item WHERE active""")
    ids = ",".join(str(c.pk) for c in templates["customers"])
    run_sql(f"""CREATE TABLE bench_customer AS
                SELECT (row_number() OVER (ORDER BY c.home_site_id, c.id) - 1)::int AS idx, c.id AS customer_id,
                       c.home_site_id AS site_id
                  FROM orders_customer c WHERE c.id IN ({ids})""")
    run_sql("""CREATE TABLE bench_key AS
               SELECT (row_number() OVER (ORDER BY q.id) - 1)::int AS idx, q.item_id, q.location_id, q.lot_id,
                      q.site_id, s.supplier_loc, s.customer_loc
                 FROM inventory_stockquant q JOIN bench_site s ON s.site_id = q.site_id
                 JOIN inventory_location l ON l.id = q.location_id
                WHERE q.status = 'AVAILABLE' AND q.quantity > 0 AND l.kind IN ('STORAGE', 'PICK')""")
    for table in ("bench_site", "bench_item", "bench_customer", "bench_key"):
        run_sql(f"CREATE UNIQUE INDEX ON {table} (idx)")
    return {
        "sites": scalar("SELECT count(*) FROM bench_site"),
        "items": scalar("SELECT count(*) FROM bench_item"),
        "keys": scalar("SELECT count(*) FROM bench_key"),
        "customers_per_site": len(templates["customers"]) // len(templates["sites"]),
    }


def gen_moves(templates, n: dict, moves: int) -> int:
    """``moves`` ledger moves as RECEIPT/SHIP pairs on on-hand keys, netting to zero per key."""
    from inventory.models import StockMove

    have = StockMove.objects.count()
    pairs = max(0, (moves - have + 1) // 2)
    if not pairs:
        return 0
    template = StockMove.objects.order_by("id").first()
    span = f"(interval '{DAYS} days' * (1 - g::float8 / {pairs}))"
    common = {
        "item_id": "k.item_id",
        "lot_id": "k.lot_id",
        "reference": "'BENCH-' || g",
        "document_type": "''",
        "document_id": "NULL",
        "reason_code": "''",
        "note": "''",
        "unit_cost": "NULL",
        "user_id": "NULL",
    }
    source = f"generate_series(1, {pairs}) g JOIN bench_key k ON k.idx = g % {n['keys']}"
    rows = clone(
        StockMove,
        template,
        source,
        {
            **common,
            "quantity": "1 + g % 7",
            "from_location_id": "k.supplier_loc",
            "from_status": "''",
            "to_location_id": "k.location_id",
            "to_status": "'AVAILABLE'",
            "kind": "'RECEIPT'",
            "created_at": f"now() - {span}",
        },
    )
    rows += clone(
        StockMove,
        template,
        source,
        {
            **common,
            "quantity": "1 + g % 7",
            "from_location_id": "k.location_id",
            "from_status": "'AVAILABLE'",
            "to_location_id": "k.customer_loc",
            "to_status": "''",
            "kind": "'SHIP'",
            "created_at": f"now() - {span} + interval '1 hour'",
        },
    )
    return rows


def gen_orders(templates, n: dict, orders: int) -> dict:
    from governance.models import ExceptionCase
    from orders.models import SalesOrder, SalesOrderLine
    from warehouse.models import PickTask, PutawayTask, Wave

    have = SalesOrder.objects.filter(number__startswith=PREFIX_ORDER).count()
    todo = orders - SalesOrder.objects.exclude(number__startswith=PREFIX_ORDER).count() - have
    counts = {}
    if todo <= 0:
        return counts
    ns, npc = n["sites"], n["customers_per_site"]
    # order g: site g % ns, created (400 days ago .. now) in g order; every 50th is still released and backordered
    created = f"(now() - interval '{DAYS} days' * (1 - g::float8 / {todo}))"
    released = "(g % 50 = 0)"
    counts["orders"] = clone(
        SalesOrder,
        templates["order"],
        (
            f"generate_series(1, {todo}) g JOIN bench_site s ON s.idx = g % {ns} "
            f"JOIN bench_customer c ON c.idx = s.idx * {npc} + (g / {ns}) % {npc}"
        ),
        {
            "number": f"'{PREFIX_ORDER}' || lpad(g::text, 8, '0')",
            "site_id": "s.site_id",
            "customer_id": "c.customer_id",
            "customer_reference": "''",
            "promised_date": f"({created} + interval '2 days')::date",
            "status": f"CASE WHEN {released} THEN 'RELEASED' ELSE 'SHIPPED' END",
            "created_at": created,
            "validated_at": created,
            "released_at": f"{created} + interval '10 minutes'",
            "allocated_at": f"CASE WHEN {released} THEN NULL ELSE {created} + interval '11 minutes' END",
            "shipped_at": f"CASE WHEN {released} THEN NULL ELSE {created} + interval '20 hours' + "
            f"interval '1 hour' * (g % 40) END",
            "ship_from_id": "NULL",
        },
    )
    log(f"{counts['orders']:,} orders")
    bench_orders = f"orders_salesorder o WHERE o.number LIKE '{PREFIX_ORDER}%'"
    qty = "(1 + (o.id + ln) % 9)"
    short = "((o.id + ln) % 40 = 0)"
    is_released = "(o.status = 'RELEASED')"
    counts["lines"] = clone(
        SalesOrderLine,
        templates["line"],
        (
            f"orders_salesorder o CROSS JOIN generate_series(1, 2) ln "
            f"JOIN bench_item i ON i.idx = (o.id * 2 + ln) % {n['items']} "
            f"WHERE o.number LIKE '{PREFIX_ORDER}%'"
        ),
        {
            "order_id": "o.id",
            "line_number": "ln",
            "item_id": "i.item_id",
            "unit": "'EA'",
            "unit_factor": "1",
            "quantity": qty,
            "quantity_base": qty,
            "ship_from_id": "NULL",
            "allocated_quantity": "0",
            "backordered_quantity": f"CASE WHEN {is_released} THEN {qty} ELSE 0 END",
            "picked_quantity": f"CASE WHEN {is_released} THEN 0 WHEN {short} THEN {qty} - 1 ELSE {qty} END",
            "shipped_quantity": f"CASE WHEN {is_released} THEN 0 WHEN {short} THEN {qty} - 1 ELSE {qty} END",
            "first_shipped_at": "o.shipped_at",
            "last_shipped_at": "o.shipped_at",
            "backordered_since": f"CASE WHEN {is_released} THEN o.released_at END",
        },
    )
    log(f"{counts['lines']:,} order lines")
    # completed waves: the shipped orders of one site in groups of 50 (wave key W = (g / (50 ns)) ns + g % ns)
    g_of = f"substring(o.number from {len(PREFIX_ORDER) + 1})::int"
    wave_key = f"(({g_of}) / {50 * ns}) * {ns} + ({g_of}) % {ns}"
    counts["waves"] = clone(
        Wave,
        templates["wave"],
        (
            f"(SELECT {wave_key} AS w, min(o.site_id) AS site_id, min(o.released_at) AS at FROM {bench_orders} "
            f"GROUP BY 1) x"
        ),
        {
            "number": f"'{PREFIX_WAVE}' || lpad(x.w::text, 8, '0')",
            "site_id": "x.site_id",
            "status": "'COMPLETED'",
            "created_at": "x.at + interval '1 hour'",
            "released_at": "x.at + interval '1 hour'",
            "completed_at": "x.at + interval '3 hours'",
        },
    )
    log(f"{counts['waves']:,} completed waves")
    counts["picks"] = clone(
        PickTask,
        templates["pick"],
        (
            f"orders_salesorderline l JOIN orders_salesorder o ON o.id = l.order_id "
            f"JOIN warehouse_wave w ON w.number = '{PREFIX_WAVE}' || lpad(({wave_key})::text, 8, '0') "
            f"JOIN bench_site s ON s.site_id = o.site_id "
            f"WHERE o.number LIKE '{PREFIX_ORDER}%' AND o.status = 'SHIPPED'"
        ),
        {
            "wave_id": "w.id",
            "site_id": "o.site_id",
            "order_line_id": "l.id",
            "item_id": "l.item_id",
            "lot_id": "NULL",
            "location_id": "s.pick_loc",
            "to_location_id": "s.stage_loc",
            "quantity": "l.quantity_base",
            "sequence": "l.line_number",
            "status": "CASE WHEN l.shipped_quantity < l.quantity_base THEN 'SHORT' ELSE 'PICKED' END",
            "picked_quantity": "l.shipped_quantity",
            "scanned_location": "''",
            "confirmed_at": "o.released_at + interval '2 hours'",
            "created_at": "o.released_at + interval '1 hour'",
        },
    )
    log(f"{counts['picks']:,} pick tasks")
    # a SHORT_PICK exception per short pick: resolved 5 h later, unless confirmed in the last 3 days
    recent = "(p.confirmed_at > now() - interval '3 days')"
    counts["exceptions"] = clone(
        ExceptionCase,
        templates["exception"],
        (
            f"warehouse_picktask p JOIN warehouse_wave w ON w.id = p.wave_id "
            f"WHERE w.number LIKE '{PREFIX_WAVE}%' AND p.status = 'SHORT'"
        ),
        {
            "site_id": "p.site_id",
            "object_id": "p.id",
            "subject_label": "'PICK-' || p.id",
            "summary": "'Short pick PICK-' || p.id",
            "status": f"CASE WHEN {recent} THEN (ARRAY['OPEN', 'ACKNOWLEDGED'])[1 + p.id % 2] ELSE 'RESOLVED' END",
            "severity": "(ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])[1 + p.id % 4]",
            "assignee_id": "NULL",
            "opened_at": "p.confirmed_at",
            "due_at": "p.confirmed_at + interval '4 hours'",
            "acknowledged_at": "p.confirmed_at + interval '1 hour'",
            "resolved_at": f"CASE WHEN {recent} THEN NULL ELSE p.confirmed_at + interval '5 hours' END",
            "resolution_note": f"CASE WHEN {recent} THEN '' ELSE 'counted' END",
        },
    )
    log(f"{counts['exceptions']:,} exceptions")
    # putaway: one confirmed task per 5 orders, spread over the period, and 25 open at each site
    n_put = todo // 5
    put_at = f"(now() - interval '{DAYS} days' * (1 - g::float8 / {n_put}))"
    counts["putaway"] = clone(
        PutawayTask,
        templates["putaway"],
        (
            f"generate_series(1, {n_put}) g JOIN bench_site s ON s.idx = g % {ns} "
            f"JOIN bench_item i ON i.idx = g % {n['items']}"
        ),
        {
            "site_id": "s.site_id",
            "item_id": "i.item_id",
            "lot_id": "NULL",
            "quantity": "1 + g % 20",
            "from_location_id": "s.dock_loc",
            "suggested_location_id": "s.storage_loc",
            "status": "'CONFIRMED'",
            "confirmed_location_id": "s.storage_loc",
            "confirmed_quantity": "1 + g % 20",
            "created_at": put_at,
            "received_at": put_at,
            "confirmed_at": f"{put_at} + interval '3 hours'",
            "dock_to_stock_seconds": "10800",
        },
    )
    counts["putaway"] += clone(
        PutawayTask,
        templates["putaway"],
        (
            f"generate_series(1, {25 * ns}) g JOIN bench_site s ON s.idx = g % {ns} "
            f"JOIN bench_item i ON i.idx = g % {n['items']}"
        ),
        {
            "site_id": "s.site_id",
            "item_id": "i.item_id",
            "lot_id": "NULL",
            "quantity": "1 + g % 20",
            "from_location_id": "s.dock_loc",
            "suggested_location_id": "s.storage_loc",
            "status": "'OPEN'",
            "confirmed_location_id": "NULL",
            "confirmed_quantity": "NULL",
            "confirmed_by_id": "NULL",
            "created_at": "now() - interval '1 hour' * g",
            "received_at": "now() - interval '1 hour' * g",
            "confirmed_at": "NULL",
            "dock_to_stock_seconds": "NULL",
        },
    )
    log(f"{counts['putaway']:,} putaway tasks")
    # open waves: 3 released per site, each with 20 open pick tasks on the backordered lines of its site
    counts["open_waves"] = clone(
        Wave,
        templates["wave"],
        (f"generate_series(0, {3 * ns - 1}) g JOIN bench_site s ON s.idx = g % {ns}"),
        {
            "number": f"'{PREFIX_WAVE}-OPEN-' || g",
            "site_id": "s.site_id",
            "status": "'RELEASED'",
            "created_at": "now() - interval '2 hours'",
            "released_at": "now() - interval '1 hour'",
            "completed_at": "NULL",
        },
    )
    counts["open_picks"] = clone(
        PickTask,
        templates["pick"],
        (
            f"(SELECT l.*, o.site_id AS o_site, row_number() OVER (PARTITION BY o.site_id ORDER BY l.id DESC) AS rn "
            f"   FROM orders_salesorderline l JOIN orders_salesorder o ON o.id = l.order_id "
            f"  WHERE o.number LIKE '{PREFIX_ORDER}%' AND o.status = 'RELEASED') l "
            f"JOIN bench_site s ON s.site_id = l.o_site "
            f"JOIN warehouse_wave w ON w.number = '{PREFIX_WAVE}-OPEN-' || (s.idx + {ns} * ((l.rn - 1) % 3)) "
            f"WHERE l.rn <= 60"
        ),
        {
            "wave_id": "w.id",
            "site_id": "l.o_site",
            "order_line_id": "l.id",
            "item_id": "l.item_id",
            "lot_id": "NULL",
            "location_id": "s.pick_loc",
            "to_location_id": "s.stage_loc",
            "quantity": "l.quantity_base",
            "sequence": "l.rn",
            "status": "'OPEN'",
            "picked_quantity": "NULL",
            "scanned_location": "''",
            "scanned_lot": "''",
            "confirmed_by_id": "NULL",
            "confirmed_at": "NULL",
            "created_at": "now() - interval '1 hour'",
        },
    )
    log(f"{counts['open_waves']} open waves with {counts['open_picks']} open pick tasks")
    return counts


def gen_snapshots(templates, n: dict) -> int:
    """Daily KPI snapshots for the last 60 days at every site (the trend lines)."""
    from reporting.kpis import KPIS
    from reporting.models import KpiSnapshot

    if KpiSnapshot.objects.exists():
        return 0
    template = KpiSnapshot(
        key="x", date=templates["order"].created_at.date(), value=1, numerator=1, denominator=1, unit="%", breakdown={}
    )
    keys = "ARRAY[" + ",".join(f"'{k}'" for k, d in KPIS.items() if d.trend) + "]"
    return clone(
        KpiSnapshot,
        template,
        (f"bench_site s CROSS JOIN unnest({keys}) k CROSS JOIN generate_series(1, 60) d"),
        {
            "site_id": "s.site_id",
            "key": "k",
            "date": "current_date - d",
            "value": "50 + 40 * sin(d / 7.0 + s.idx)",
            "numerator": "50 + 40 * sin(d / 7.0 + s.idx)",
            "denominator": "100",
            "computed_at": "now()",
        },
    )


def generate(*, moves: int, orders: int) -> dict:
    from django.db import transaction

    from inventory.models import StockMove
    from orders.models import SalesOrder

    if SalesOrder.objects.filter(number__startswith=PREFIX_ORDER).exists():
        log(
            f"data already there: {StockMove.objects.count():,} moves, {SalesOrder.objects.count():,} orders "
            "(--regenerate to build it again)"
        )
        return {}
    t0 = time.monotonic()
    with transaction.atomic():
        templates = seed()
    log(f"seed scenario done in {time.monotonic() - t0:.0f} s")
    with transaction.atomic():
        n = helper_tables(templates)
        counts = gen_orders(templates, n, orders)
        counts["moves"] = gen_moves(templates, n, moves)
        log(f"{counts['moves']:,} moves")
        counts["snapshots"] = gen_snapshots(templates, n)
        run_sql("DROP TABLE bench_site, bench_item, bench_customer, bench_key")
    run_sql("ANALYZE")
    log(f"generated in {time.monotonic() - t0:.0f} s: {counts}")
    return counts


def verify() -> int:
    """The inventory invariants (ledger = quants = levels; allocations) hold: number of mismatches."""
    from inventory.selectors import find_inventory_drift

    drifts = find_inventory_drift()
    for d in drifts[:20]:
        print(f"MISMATCH {d}")
    return len(drifts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--regenerate", action="store_true", help="drop the database and generate again")
    parser.add_argument("--verify", action="store_true", help="check the inventory invariants afterwards")
    args, _ = parser.parse_known_args(argv)
    url = dashboard_database_url()
    ensure_database(url, drop=args.regenerate)
    setup_django(url)
    generate(moves=args.moves, orders=args.orders)
    if args.verify:
        bad = verify()
        log("inventory invariants hold" if not bad else f"{bad} inventory mismatch(es)")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
