"""KPIs over a period read back from the daily snapshots (reporting/rollup.py, issue 16): for every KPI, the value
from stored days plus today live equals the live computation over the whole period on the same data, for a site,
a site west of UTC and the network; a snapshot computed before its day ended is not used; stored days are read,
not recomputed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.models import ApprovalRequest
from governance.services.sites import site_local_date
from inventory.models import Location, StockMove
from orders.models import Allocation, SalesOrder
from reporting import kpis, rollup
from reporting.dashboard import DASHBOARD_TILES, dashboard_tiles
from reporting.models import KpiSnapshot
from reporting.rollup import ROLLUPS, combine, period_values
from reporting.selectors import kpis_for
from reporting.services import store_snapshots
from tests.factories import LocationFactory, LotFactory, ZoneFactory
from warehouse.models import Discrepancy, PickTask, PutawayTask, Receipt, ReceiptLine, ReplenishmentTask

pytestmark = pytest.mark.django_db
DAYS = 3  # the period: two past days and today


def _local(site, day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(site.timezone))


class Week:
    """A few rows of every kind the KPIs count, on each of the period's days (today included) at one site."""

    def __init__(self, kb, make_user):
        self.kb = kb
        self.make_user = make_user
        self.users: dict = {}

    def user(self, site, name):
        if name not in self.users:
            self.users[name] = self.make_user("operator", site, username=name)
        return self.users[name]

    def day(self, site, day, k: int, shared_user=None):
        kb = self.kb
        zone = ZoneFactory(site=site, code=f"Z{k % 2}-{site.code}-{day:%d}")
        face = LocationFactory(site=site, kind=Location.Kind.PICK, zone=zone if k % 3 else None)
        op1, op2 = self.user(site, f"{site.code}-op1"), self.user(site, f"{site.code}-op2")
        # picks: two operators over two hours, one short, one wrong location, one wrong lot, one at 23:30
        kb.pick(site, confirmed_at=_local(site, day, 8, 10), user=op1, location=face)
        kb.pick(site, confirmed_at=_local(site, day, 8, 40), user=op1, location=face, status=PickTask.Status.SHORT)
        kb.pick(site, confirmed_at=_local(site, day, 15, 5), user=op2, location=face, scanned="ELSEWHERE" * (k % 2))
        kb.pick(site, confirmed_at=_local(site, day, 23, 30), user=op2, location=face)
        lot = LotFactory(number=f"L-{site.code}-{day:%d}")
        kb.pick(site, confirmed_at=_local(site, day, 9), user=op1, location=face, lot=lot, scanned_lot="BAD" * (k % 2))
        if shared_user is not None:  # the same operator at two sites in one hour: one network operator-hour
            kb.pick(site, confirmed_at=_local(site, day, 10, 5 + k), user=shared_user, location=face)
        reserve = LocationFactory(site=site)
        ReplenishmentTask.objects.create(
            site=site,
            item=kb.item(),
            from_location=reserve,
            to_location=face,
            quantity=1,
            status=ReplenishmentTask.Status.DONE,
            confirmed_by=op2,
            confirmed_at=_local(site, day, 11),
            scanned_location=reserve.code if k % 2 else "WRONG",
        )
        # order lines first shipped this day: complete, partly shipped, shipped twice
        order = kb.order(site, promised=day, shipped_at=_local(site, day, 16), released_at=_local(site, day, 7))
        kb.line(order, 2, shipped=2, first=_local(site, day, 16))
        kb.line(order, 3, shipped=1 + k % 2, first=_local(site, day, 16))
        kb.line(order, 2, shipped=2, first=_local(site, day, 12), last=_local(site, day, 16))
        # putaways (one elsewhere than suggested), allocations (one by ship-from), hold decisions
        dock = LocationFactory(site=site, kind=Location.Kind.RECEIVING)
        for confirmed in [reserve, face][: 1 + k % 2]:
            PutawayTask.objects.create(
                site=site,
                item=kb.item(),
                quantity=1,
                from_location=dock,
                suggested_location=reserve,
                confirmed_location=confirmed,
                status=PutawayTask.Status.CONFIRMED,
                received_at=_local(site, day, 6),
                confirmed_at=_local(site, day, 6 + k),
            )
        allocated = kb.order(site, status=SalesOrder.Status.ALLOCATED)
        for rule in ["HOME_SITE", "SHIP_FROM", "REGION_SITE"][: 2 + k % 2]:
            line = kb.line(allocated, 1)
            Allocation.objects.create(
                line=line, site=site, item=line.item, quantity=1, original_quantity=1, rule=rule,
                created_at=_local(site, day, 13),
            )  # fmt: skip
        held = kb.order(site, status=SalesOrder.Status.ON_HOLD)
        ApprovalRequest.objects.create(
            kind="ORDER_HOLD",
            site=site,
            content_type=ContentType.objects.get_for_model(SalesOrder),
            object_id=held.pk,
            subject_label=held.number,
            reason="credit",
            requested_by=op1,
            status=ApprovalRequest.Status.APPROVED if k % 2 else ApprovalRequest.Status.REJECTED,
            decided_at=_local(site, day, 14),
        )
        # ledger moves: adjustments (at a unit cost) among receipts
        item = kb.item(standard_cost=Decimal("10.00"))
        adjustments = Location.objects.get(site=site, kind=Location.Kind.ADJUSTMENT)
        supplier_loc = Location.objects.get(site=site, kind=Location.Kind.SUPPLIER)
        customer = Location.objects.get(site=site, kind=Location.Kind.CUSTOMER)
        for kind, frm, to, qty, cost in (
            (StockMove.Kind.RECEIPT, supplier_loc, reserve, 5, Decimal("9.00")),
            (StockMove.Kind.ADJUST, adjustments, reserve, 1 + k, Decimal("2.35")),
            (StockMove.Kind.ADJUST, reserve, adjustments, 1, Decimal("10.05")),
            (StockMove.Kind.SHIP, reserve, customer, 2, Decimal("9.00")),
        ):
            StockMove.objects.create(
                item=item,
                quantity=qty,
                from_location=frm,
                to_location=to,
                kind=kind,
                from_status="AVAILABLE",
                to_status="AVAILABLE",
                created_at=_local(site, day, 12 + k % 3),
                unit_cost=cost,
            )
        # purchase receipts of two suppliers, with discrepancies
        for code, issues in (("S1", [Discrepancy.Code.OVER]), ("S2" if k % 2 else "S1", [])):
            receipt = Receipt.objects.create(
                number=kb.n("GR"),
                site=site,
                purchase_order=kb.po(site, kb.supplier(code), day - timedelta(days=k % 2)),
                location=dock,
                received_at=_local(site, day, 10),
            )
            line = ReceiptLine.objects.create(receipt=receipt, item=kb.item(), quantity=1, landed_status="RECEIVED")
            for issue in issues:
                Discrepancy.objects.create(receipt=receipt, line=line, code=issue, detail=issue)
        kb.exception(
            site,
            "SHORT_PICK",
            opened_at=_local(site, day, 9),
            due_at=_local(site, day, 12),
            resolved_at=_local(site, day, 11 + k) if k % 2 else None,
        )


@pytest.fixture
def week(kb, make_user, site, other_site, ny):
    """DAYS days of activity at three sites (one in New York), ending today at each site; snapshots of every
    past day as the hourly job stores them (after the day ended)."""
    w = Week(kb, make_user)
    shared = make_user("operator", site, username="roamer")
    for s in (site, other_site, ny):
        today = site_local_date(s)
        for k in range(DAYS):
            w.day(s, today - timedelta(days=DAYS - 1 - k), k, shared_user=shared if s != ny else None)
    for s in (site, other_site, ny, None):
        today = site_local_date(s)
        for k in range(1, DAYS):
            store_snapshots(s, today - timedelta(days=k))
    return w


def _comparable(values):
    """The values without the instant state KPIs were read at (``as_of`` is now when the period ends today)."""
    return [replace(v, breakdown={k: x for k, x in v.breakdown.items() if k != "as_of"}) for v in values]


def _period(s):
    today = site_local_date(s)
    return today - timedelta(days=DAYS - 1), today


@pytest.mark.parametrize("which", ["site", "ny", "network"])
def test_every_kpi_from_snapshots_equals_the_live_computation(week, site, ny, which):
    target = {"site": site, "ny": ny, "network": None}[which]
    date_from, date_to = _period(target)
    live = _comparable(kpis.compute_all(target, date_from, date_to))
    rolled = _comparable(period_values(target, date_from, date_to))
    assert [v.key for v in rolled] == list(kpis.KPIS)
    for expected, got in zip(live, rolled, strict=True):
        assert got == expected, expected.key
    # the data is not trivial: every rolled-up KPI has a numerator and a denominator
    for v in rolled:
        if v.key in ROLLUPS:
            assert v.numerator and v.denominator, v.key


def test_past_days_only_and_the_dashboard_tiles_agree_too(week, site, ny):
    for target in (site, ny, None):
        date_from, today = _period(target)
        for start, end in ((date_from, today - timedelta(days=1)), (today - timedelta(days=2), today)):
            assert _comparable(period_values(target, start, end)) == _comparable(kpis.compute_all(target, start, end))
    tiles = dashboard_tiles(site)
    since = site_local_date(site) - timedelta(days=6)
    today = site_local_date(site)
    live = [kpis.compute(key, site, since, today) for key in DASHBOARD_TILES]
    assert _comparable([t.value for t in tiles]) == _comparable(live)


def test_stored_days_are_read_not_recomputed(week, site, monkeypatch):
    date_from, date_to = _period(site)
    ranges = []
    real = kpis.KPIS["short_pick_rate"]

    def spy(s, start, end):
        ranges.append((start, end))
        return real.function(s, start, end)

    monkeypatch.setitem(kpis.KPIS, "short_pick_rate", replace(real, function=spy))
    rollup.period_value("short_pick_rate", site, date_from, date_to)
    assert ranges == [(date_to, date_to)]  # today only

    # a stored day is what the period reads: changing it changes the result (the test can fail)
    row = KpiSnapshot.objects.get(site=site, key="short_pick_rate", date=date_from)
    KpiSnapshot.objects.filter(pk=row.pk).update(numerator=row.numerator + 5)
    value = rollup.period_value("short_pick_rate", site, date_from, date_to)
    assert value.numerator == kpis.short_pick_rate(site, date_from, date_to).numerator + 5


def test_past_days_cost_one_query_for_every_kpi_read_from_snapshots(week, site):
    date_from, date_to = _period(site)
    yesterday = date_to - timedelta(days=1)
    with CaptureQueriesContext(connection) as live:
        kpis.compute_all(site, date_from, yesterday)
    with CaptureQueriesContext(connection) as rolled:
        period_values(site, date_from, yesterday)
    rollup_queries = 0
    for key in [*ROLLUPS, *rollup.END_OF_PERIOD]:
        with CaptureQueriesContext(connection) as one:
            kpis.compute(key, site, date_from, yesterday)
        rollup_queries += len(one.captured_queries)
    assert len(rolled.captured_queries) == len(live.captured_queries) - rollup_queries + 1


def test_a_snapshot_computed_before_its_day_ended_is_not_used(week, site, kb):
    date_from, date_to = _period(site)
    yesterday = date_to - timedelta(days=1)
    # the hourly job ran during yesterday: its row misses what came later that day
    early = _local(site, yesterday, 12)
    KpiSnapshot.objects.filter(site=site, date=yesterday).update(computed_at=early, numerator=0, denominator=0)
    # and a snapshot of today (still running) is never read either
    store_snapshots(site, date_to)
    KpiSnapshot.objects.filter(site=site, date=date_to).update(numerator=999)
    assert _comparable(period_values(site, date_from, date_to)) == _comparable(
        kpis.compute_all(site, date_from, date_to)
    )


def test_the_network_needs_every_sites_day_to_have_ended(week, ny):
    """The network's snapshot of a day counts once the day is over at every site (New York ends it last)."""
    zones = rollup._zones(None)
    day = site_local_date(None) - timedelta(days=1)
    ny_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(ny.timezone))
    assert rollup.day_end(day, zones) == ny_end
    KpiSnapshot.objects.filter(site=None, date=day).update(computed_at=ny_end - timedelta(minutes=1), numerator=0)
    date_from, date_to = _period(None)
    assert _comparable(period_values(None, date_from, date_to)) == _comparable(
        kpis.compute_all(None, date_from, date_to)
    )


def test_inventory_turns_to_a_past_day_is_that_days_snapshot(week, site):
    date_from, date_to = _period(site)
    yesterday = date_to - timedelta(days=1)
    stored = KpiSnapshot.objects.get(site=site, key="inventory_turns", date=yesterday)
    assert stored.numerator and stored.denominator  # the week's shipments and stock: not an empty figure
    assert rollup.period_value("inventory_turns", site, date_from, yesterday) == kpis.inventory_turns(
        site, date_from, yesterday
    )
    KpiSnapshot.objects.filter(pk=stored.pk).update(value=Decimal("99"))
    assert rollup.period_value("inventory_turns", site, date_from, yesterday).value == 99.0
    assert rollup.period_value("inventory_turns", site, date_from, date_to) == kpis.inventory_turns(
        site, date_from, date_to
    )  # to today: live


def test_without_snapshots_everything_is_live(site, kb, make_user):
    Week(kb, make_user).day(site, site_local_date(site) - timedelta(days=1), 1)
    date_from, date_to = _period(site)
    assert not KpiSnapshot.objects.exists()
    assert _comparable(period_values(site, date_from, date_to)) == _comparable(
        kpis.compute_all(site, date_from, date_to)
    )


def test_kpis_for_reads_the_snapshots_and_hides_the_network_breakdown_as_before(week, make_user, admin_user, site):
    date_from, date_to = _period(None)
    live = _comparable(kpis.compute_all(None, date_from, date_to))
    assert _comparable(kpis_for(admin_user, None, date_from, date_to)) == live
    site_admin = make_user("admin", site)  # sees the network's totals, not the other sites' breakdowns
    values = kpis_for(site_admin, None, date_from, date_to)
    assert [(v.value, v.numerator, v.denominator) for v in values] == [
        (v.value, v.numerator, v.denominator) for v in live
    ]
    assert {str(v.breakdown) for v in values} == {
        str({"hidden": "The network's breakdown names sites you cannot see; ask per site."})
    }


def test_combine_is_the_kpis_own_arithmetic():
    def part(num, den, rows):
        return kpis.KpiValue("pick_productivity", "x", None, num, den, "lines/h", {"by_zone": rows})

    merged = combine(
        "pick_productivity",
        [
            part(3, 2, [{"zone": "Z2", "lines": 3, "operator_hours": 2, "value": 1.5}]),
            part(4, 3, [{"zone": None, "lines": 1, "operator_hours": 1, "value": 1.0},
                        {"zone": "Z2", "lines": 3, "operator_hours": 2, "value": 1.5}]),
        ],
    )  # fmt: skip
    assert (merged.numerator, merged.denominator, merged.value) == (7, 5, 1.4)
    assert merged.breakdown["by_zone"] == [
        {"zone": "Z2", "lines": 6, "operator_hours": 4, "value": 1.5},
        {"zone": None, "lines": 1, "operator_hours": 1, "value": 1.0},
    ]
    assert merged.breakdown["by_site"] == [] and merged.label == kpis.KPIS["pick_productivity"].label
