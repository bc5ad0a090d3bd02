"""load_demo: a fresh database migrates, the demo loads, a second run changes nothing, the inventory is consistent."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from distribution_erp import demo
from governance.models import Role, Site, SiteMembership, SiteRuleValue
from governance.services.rules import effective_rules
from inventory.models import Item, ItemSubstitute, ItemUnit, Location, Lot, StockLevel, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from orders.models import Customer, PickFacePolicy, PurchaseOrder, ReplenishmentPolicy, SalesOrder, Supplier
from reporting.models import KpiSnapshot
from warehouse.models import Shipment

BASE_DIR = Path(settings.BASE_DIR)

SNAPSHOT_SQL = {
    "sites": "SELECT count(*) FROM governance_site",
    "memberships": "SELECT count(*) FROM governance_sitemembership",
    "users": "SELECT count(*) FROM auth_user",
    "rule values": "SELECT count(*) FROM governance_siterulevalue",
    "zones": "SELECT count(*) FROM inventory_zone",
    "locations": "SELECT count(*) FROM inventory_location",
    "items": "SELECT count(*) FROM inventory_item",
    "units": "SELECT count(*) FROM inventory_itemunit",
    "substitutes": "SELECT count(*) FROM inventory_itemsubstitute",
    "lots": "SELECT count(*) FROM inventory_lot",
    "moves": "SELECT count(*) FROM inventory_stockmove",
    "moved units": "SELECT coalesce(sum(quantity), 0) FROM inventory_stockmove",
    "quants": "SELECT count(*) FROM inventory_stockquant",
    "units on hand": "SELECT coalesce(sum(quantity), 0) FROM inventory_stockquant",
    "levels": "SELECT count(*) FROM inventory_stocklevel",
    "available": "SELECT coalesce(sum(available), 0) FROM inventory_stocklevel",
    "item history": "SELECT count(*) FROM inventory_historicalitem",
    "location history": "SELECT count(*) FROM inventory_historicallocation",
    "periodic tasks": "SELECT count(*) FROM django_celery_beat_periodictask",
    "password hashes": "SELECT md5(string_agg(password, ',' ORDER BY username)) FROM auth_user",
    # the activity stage
    "customers": "SELECT count(*) FROM orders_customer",
    "suppliers": "SELECT count(*) FROM orders_supplier",
    "replenishment policies": "SELECT count(*) FROM orders_replenishmentpolicy",
    "pick face policies": "SELECT count(*) FROM orders_pickfacepolicy",
    "orders": "SELECT md5(string_agg(number || status, ',' ORDER BY number)) FROM orders_salesorder",
    "order lines": "SELECT count(*) FROM orders_salesorderline",
    "allocations": "SELECT count(*) FROM orders_allocation",
    "purchase orders": "SELECT md5(string_agg(number || status, ',' ORDER BY number)) FROM orders_purchaseorder",
    "ship notices": "SELECT count(*) FROM orders_shipnoticeline",
    "receipts": "SELECT count(*) FROM warehouse_receipt",
    "waves": "SELECT count(*) FROM warehouse_wave",
    "pick tasks": "SELECT count(*) FROM warehouse_picktask",
    "shipments": "SELECT count(*) FROM warehouse_shipment",
    "replenishment tasks": "SELECT count(*) FROM warehouse_replenishmenttask",
    "putaway tasks": "SELECT count(*) FROM warehouse_putawaytask",
    "transfers": "SELECT count(*) FROM orders_transferorder",
    "adjustments": "SELECT count(*) FROM inventory_adjustment",
    "approvals": "SELECT count(*) FROM governance_approvalrequest",
    "exceptions": "SELECT count(*) FROM governance_exceptioncase",
    "cycle counts": "SELECT count(*) FROM inventory_cyclecount",
    "kpi snapshots": "SELECT count(*) FROM reporting_kpisnapshot",
}


def _snapshot_orm() -> dict[str, object]:
    with connection.cursor() as cursor:
        out = {}
        for name, sql in SNAPSHOT_SQL.items():
            cursor.execute(sql)
            out[name] = cursor.fetchone()[0]
    return out


# --- a fresh database, the real commands in their own processes --------------------------------------------------


def _server_params() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        "host": str(db.get("HOST") or ""),
        "port": str(db.get("PORT") or ""),
        "user": str(db.get("USER") or ""),
        "password": str(db.get("PASSWORD") or ""),
    }


def _url(params: dict[str, str], name: str) -> str:
    credentials = quote(params["user"], safe="")
    if params["password"]:
        credentials += ":" + quote(params["password"], safe="")
    host = quote(params["host"], safe="") + (f":{params['port']}" if params["port"] else "")
    return f"postgresql://{credentials}@{host}/{name}"


def _admin_connection(params):
    return psycopg.connect(
        dbname="postgres",
        host=params["host"] or None,
        port=params["port"] or None,
        user=params["user"] or None,
        password=params["password"] or None,
        autocommit=True,
    )


@pytest.fixture
def fresh_database():
    """An empty database of its own on the same server (dropped afterwards); yields its DATABASE_URL."""
    params = _server_params()
    name = f"{settings.DATABASES['default']['NAME']}_demo_{os.getpid()}"[:63]
    with _admin_connection(params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _url(params, name)
    finally:
        with _admin_connection(params) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "1",  # tasks sent after commit run in the process, not into a shared broker
        "DJANGO_SETTINGS_MODULE": "distribution_erp.settings",
    }
    env.pop("DJANGO_TEST_DB_NAME", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
    )


def _snapshot(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in SNAPSHOT_SQL.items()}


@pytest.mark.slow
def test_fresh_database_migrates_and_load_demo_twice_gives_the_same_result(fresh_database):
    migrated = _manage(fresh_database, "migrate", "--no-input", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr

    first = _manage(fresh_database, "load_demo", "--small")
    assert first.returncode == 0, first.stderr
    after_first = _snapshot(fresh_database)
    second = _manage(fresh_database, "load_demo", "--small")
    assert second.returncode == 0, second.stderr
    after_second = _snapshot(fresh_database)
    verified = _manage(fresh_database, "verify_inventory")

    assert after_second == after_first
    assert "nothing changed" in second.stdout
    for username, password, _ in demo.DEMO_LOGINS:
        assert f"{username}" in first.stdout and password in first.stdout
    assert after_first["sites"] == 6  # five live sites and DC-NORTH in cutover
    assert after_first["items"] == demo.SMALL.items
    assert after_first["moves"] > 0
    assert after_first["customers"] == 40 and after_first["suppliers"] == 8
    assert after_first["shipments"] > 0 and after_first["waves"] > 0 and after_first["transfers"] == 1
    with psycopg.connect(fresh_database) as conn:
        statuses = {row[0] for row in conn.execute("SELECT DISTINCT status FROM orders_salesorder")}
        in_transit = conn.execute("SELECT count(*) FROM inventory_stockquant WHERE status = 'IN_TRANSIT'").fetchone()
    # the allocation tasks sent after commit ran (eagerly) and changed nothing the demo had not done already
    assert {"DRAFT", "ON_HOLD", "ALLOCATED", "BACKORDERED", "PICKING", "SHIPPED"} <= statuses, statuses
    assert in_transit[0] > 0
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Inventory consistent" in verified.stdout


# --- the full-size network, in the test database ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_full_demo_network_loads_once_and_a_second_run_changes_nothing():
    call_command("load_demo", stdout=StringIO())
    first = _snapshot_orm()
    out = StringIO()
    call_command("load_demo", stdout=out)

    assert _snapshot_orm() == first
    assert "nothing changed" in out.getvalue()
    assert find_inventory_drift() == []

    # the network: 5 live sites in 2 regions, 3 distribution centres and 2 branches; DC-NORTH going live
    live = Site.objects.filter(stage=Site.Stage.LIVE)
    assert live.count() == 5 and Site.objects.count() == 6
    assert set(Site.objects.values_list("region", flat=True)) == {"EAST", "WEST"}
    assert sorted(live.values_list("kind", flat=True)) == ["BRANCH", "BRANCH", "DC", "DC", "DC"]
    north = Site.objects.get(code="DC-NORTH")
    assert north.stage == Site.Stage.CUTOVER and north.kind == "DC"
    assert not StockQuant.objects.filter(site=north).exists() and not SalesOrder.objects.filter(site=north).exists()
    # zones and a few hundred bins of every physical kind per site, and the virtual locations
    for site in Site.objects.all():
        kinds = dict(Location.objects.filter(site=site).values_list("kind").annotate(n=Count("id")))
        assert kinds["STORAGE"] >= 200 and kinds["PICK"] >= 100, (site, kinds)
        assert all(kinds.get(k, 0) >= 1 for k in ("RECEIVING", "STAGING", "QUALITY", "DAMAGED")), kinds
        assert all(kinds.get(k) == 1 for k in Location.VIRTUAL_KINDS), kinds
        assert site.zones.count() == 5
        assert not Location.objects.filter(site=site, zone__isnull=True).exclude(kind__in=Location.VIRTUAL_KINDS)
    assert Location.objects.filter(code="A-01-03-B").count() == 6
    # 2,000 items, each with EA, CASE and PALLET
    assert Item.objects.count() == 2000
    assert ItemUnit.objects.filter(code="EA", factor=1).count() == 2000
    assert ItemUnit.objects.filter(code="CASE").count() == ItemUnit.objects.filter(code="PALLET").count() == 2000
    assert set(Item.objects.values_list("abc_class", flat=True)) == {"A", "B", "C"}
    assert Item.objects.values("category").distinct().count() >= 10
    assert Item.objects.values("storage_type").distinct().count() >= 4
    assert Item.objects.filter(requires_inspection=True).count() > 20
    assert ItemSubstitute.objects.count() > 50
    lot_tracked = Item.objects.filter(lot_tracked=True)
    assert 500 < lot_tracked.count() < 1500
    assert not lot_tracked.filter(lots__isnull=True).exists()
    assert not Lot.objects.filter(expiry_date__isnull=True).exists()
    # opening balances posted through the ledger, by site, with some held and damaged stock; the only adjustment
    # of the activity waits for approval (nothing posted)
    assert set(StockMove.objects.filter(kind="ADJUST").values_list("reason_code", flat=True).distinct()) == {
        "OPENING_BALANCE"
    }
    assert (
        StockLevel.objects.aggregate(s=Sum("available"))["s"]
        == StockQuant.objects.filter(status="AVAILABLE").aggregate(s=Sum("quantity"))["s"]
    )
    assert StockQuant.objects.filter(status="HOLD", location__kind="QUALITY").exists()
    assert StockQuant.objects.filter(status="DAMAGED", location__kind="DAMAGED").exists()
    assert StockQuant.objects.filter(location__kind="PICK").values("location").distinct().count() >= 500
    assert StockQuant.objects.values("site").distinct().count() == 5
    # users for every role at specific sites; site rule deviations to show
    roles = set(SiteMembership.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    assert get_user_model().objects.get(username="admin").is_superuser
    deviations = sum(row["overridden"] for site in Site.objects.all() for row in effective_rules(site))
    assert deviations == len(demo.RULE_OVERRIDES) == SiteRuleValue.objects.count()
    # activity at every live site: orders in every state, shipments today, purchase orders, policies
    for site in live:
        statuses = set(SalesOrder.objects.filter(site=site).values_list("status", flat=True))
        assert {"DRAFT", "ON_HOLD", "ALLOCATED", "BACKORDERED", "PICKING", "SHIPPED"} <= statuses, (site, statuses)
        assert PurchaseOrder.objects.filter(site=site, status="OPEN").count() >= 5
        assert ReplenishmentPolicy.objects.filter(site=site).count() == demo.FULL.policies_per_site
    assert ReplenishmentPolicy.objects.count() == 300 and PickFacePolicy.objects.count() > 500
    assert Shipment.objects.filter(status="SHIPPED").count() >= 20
    assert KpiSnapshot.objects.filter(site=None).values("date").distinct().count() == 14


# --- smaller facts, small scale ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_logins_work_with_the_printed_password_and_have_their_roles(settings):
    settings.DEBUG = True  # as `make run` has it; with DEBUG off they get no password (tests/security)
    demo.load_demo(scale=demo.SMALL, activity=False)  # the network only (as the dashboard benchmark loads it)
    User = get_user_model()

    for username, password, _ in demo.DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert user.check_password(password), username
        assert user.is_active
    assert set(SiteMembership.objects.filter(user__username="sup-east").values_list("site__code", "role")) == {
        ("DC-EAST", "supervisor")
    }
    assert SiteMembership.objects.filter(user__username="coord").count() == 5
    assert set(SiteMembership.objects.filter(user__username="lead-north").values_list("site__code", "role")) == {
        ("DC-NORTH", "admin")
    }
    staff = User.objects.get(username="mgr-bos")
    assert staff.is_staff and staff.has_perm("governance.add_sitemembership")
    assert not User.objects.get(username="op-east").is_staff
    assert not Customer.objects.exists() and not SalesOrder.objects.exists()


@pytest.mark.django_db
def test_the_demo_activity_goes_through_the_services_and_a_second_run_adds_nothing():
    from governance.models import ApprovalRequest, ExceptionCase
    from inventory.models import CycleCount, InventoryStatus
    from orders.models import TransferOrder
    from warehouse.models import Discrepancy, PickTask, ReplenishmentTask

    demo.load_demo(scale=demo.SMALL)
    first = _snapshot_orm()
    again = demo.load_demo(scale=demo.SMALL)

    assert not any(again.values()), again
    assert _snapshot_orm() == first
    assert find_inventory_drift() == []
    # customers: 8 per site, some held for credit, some wanting shelf life; suppliers with lead times
    assert Customer.objects.count() == 40 and Customer.objects.filter(home_site__isnull=True).count() == 0
    assert Customer.objects.filter(credit_overdue=True).count() == 2
    assert Customer.objects.filter(credit_limit__lt=1000).count() == 5
    assert Customer.objects.filter(min_shelf_life_days__isnull=False).count() == 5
    assert Supplier.objects.count() == 8 and Supplier.objects.filter(lead_time_days__gt=7).exists()
    methods = set(ReplenishmentPolicy.objects.values_list("method", flat=True))
    assert methods == {"MIN_MAX", "REORDER_POINT"} and not ReplenishmentPolicy.objects.filter(supplier=None)
    assert PickFacePolicy.objects.exists()
    assert not PickFacePolicy.objects.exclude(location__kind="PICK").exists()
    assert ReplenishmentTask.objects.filter(status="OPEN").exists()  # the faces set at their min
    # sales orders in every state at DC-EAST, one short pick, shipments shipped today
    east = SalesOrder.objects.filter(site__code="DC-EAST")
    statuses = set(east.values_list("status", flat=True))
    assert {"DRAFT", "ON_HOLD", "ALLOCATED", "BACKORDERED", "PICKING", "SHIPPED"} <= statuses, statuses
    assert ApprovalRequest.objects.filter(kind="ORDER_HOLD", status="PENDING").count() == 1
    assert PickTask.objects.filter(status="SHORT").count() == 1
    assert ExceptionCase.objects.filter(code__code="SHORT_PICK").count() == 1
    assert Shipment.objects.filter(status="SHIPPED").exclude(tracking_number="").exists()
    assert Shipment.objects.filter(status="PACKED").exists()
    # purchasing: open POs (one overdue with its exception, one with a ship notice), one received short
    assert PurchaseOrder.objects.filter(status="OPEN").count() >= 2
    assert ExceptionCase.objects.filter(code__code="OVERDUE_RECEIPT").exists()
    assert PurchaseOrder.objects.filter(lines__ship_notice_lines__isnull=False).exists()
    assert Discrepancy.objects.exists()
    # a transfer in transit, an adjustment waiting for a second person, today's cycle counts, KPI snapshots
    assert TransferOrder.objects.get().status == "SHIPPED"
    assert StockQuant.objects.filter(status=InventoryStatus.IN_TRANSIT, quantity__gt=0).exists()
    assert ApprovalRequest.objects.filter(kind="ADJUSTMENT", status="PENDING").count() == 1
    assert CycleCount.objects.filter(status="OPEN").count() == 5
    assert CycleCount.objects.filter(lines__isnull=False).distinct().count() == 5
    assert KpiSnapshot.objects.filter(site=None).values("date").distinct().count() == demo.SMALL.snapshot_days


def test_the_demo_is_deterministic_and_the_small_catalogue_is_a_prefix_of_the_full_one():
    full = demo.plan_items(400)

    assert demo.plan_items(120) == full[:120]
    assert demo.plan_items(400) == full
    assert len({p.sku for p in full}) == 400
    assert all(all(j < i for j in p.substitutes) for i, p in enumerate(full))
    assert all(p.pallet % p.case == 0 and p.case > 1 for p in full)
    assert all((p.shelf_life_days is not None) == p.lot_tracked == bool(p.lots) for p in full)
    bins = demo.plan_bins(demo.FULL, "DC")
    assert len({code for code, _, _ in bins}) == len(bins)
    assert {kind for _, kind, _ in bins} == {"STORAGE", "PICK", "RECEIVING", "STAGING", "QUALITY", "DAMAGED"}
