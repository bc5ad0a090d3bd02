"""Inbound, outbound, exception and execution-discipline KPIs against hand-computed numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from governance.models import ApprovalRequest
from inventory.models import Location
from orders.models import Allocation, SalesOrder, TransferOrder
from reporting import kpis
from tests.factories import LocationFactory, LotFactory, ZoneFactory
from warehouse.models import Discrepancy, PickTask, PutawayTask, Receipt, ReceiptLine, ReplenishmentTask

from .conftest import D1, D2, at, hours

pytestmark = pytest.mark.django_db


def test_dock_to_stock_median_and_p90(kb, site):
    dock = LocationFactory(site=site, kind=Location.Kind.RECEIVING)
    for h in (1, 2, 6):
        PutawayTask.objects.create(
            site=site,
            item=kb.item(),
            quantity=1,
            from_location=dock,
            status=PutawayTask.Status.CONFIRMED,
            received_at=at(12) - hours(h),
            confirmed_at=at(12),
        )
    PutawayTask.objects.create(site=site, item=kb.item(), quantity=1, from_location=dock, received_at=at(12))  # open

    v = kpis.dock_to_stock(site, D1, D2)
    assert (v.value, v.breakdown["p90"]) == (2.0, 5.2)  # p90: 2 + 0.8 * (6 - 2)
    assert (v.numerator, v.denominator, v.unit) == (9.0, 3, "h")


def _receipt(kb, site, po, when):
    dock = LocationFactory(site=site, kind=Location.Kind.RECEIVING)
    return Receipt.objects.create(number=kb.n("GR"), site=site, purchase_order=po, location=dock, received_at=when)


def _line(kb, receipt, *codes):
    line = ReceiptLine.objects.create(receipt=receipt, item=kb.item(), quantity=1, landed_status="RECEIVED")
    for code in codes:
        Discrepancy.objects.create(receipt=receipt, line=line, code=code, detail=code)
    return line


def test_supplier_receipt_accuracy_per_supplier(kb, site):
    s1, s2 = kb.supplier("s1"), kb.supplier("s2")
    r1 = _receipt(kb, site, kb.po(site, s1, D2), at(12))
    _line(kb, r1, Discrepancy.Code.OVER)
    _line(kb, r1, Discrepancy.Code.LATE)  # lateness is the lead-time KPI's matter
    _line(kb, r1)
    _line(kb, _receipt(kb, site, kb.po(site, s2, D2), at(13)), Discrepancy.Code.DAMAGED)
    _line(kb, _receipt(kb, site, None, at(13)))  # a transfer receipt: no supplier
    _line(kb, _receipt(kb, site, kb.po(site, s2, D2), at(17)))  # after the period

    v = kpis.supplier_receipt_accuracy(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (2, 4, 50.0)
    assert [(r["supplier"], r["numerator"], r["denominator"]) for r in v.breakdown["by_supplier"]] == [
        ("s1", 2, 3),
        ("s2", 0, 1),
    ]


def test_supplier_lead_time_reliability_and_lateness(kb, site, ny):
    s1, s2 = kb.supplier("s1"), kb.supplier("s2")
    _receipt(kb, site, kb.po(site, s1, at(12).date()), at(12, 23))  # on the expected day
    _receipt(kb, site, kb.po(site, s1, at(10).date()), at(13))  # 3 days late
    _receipt(kb, site, kb.po(site, s2, at(14).date()), at(11))  # early
    _receipt(kb, site, None, at(12))  # a transfer: not counted

    v = kpis.supplier_lead_time(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (2, 3, 66.67)
    assert v.breakdown["mean_lateness_days"] == 1.0
    assert [
        (r["supplier"], r["numerator"], r["denominator"], r["mean_lateness_days"]) for r in v.breakdown["by_supplier"]
    ] == [("s1", 1, 2, 1.5), ("s2", 1, 1, 0.0)]

    _receipt(kb, ny, kb.po(ny, s1, at(12).date()), at(13, 3))  # 12 Jan 22:00 in New York: on time
    assert (kpis.supplier_lead_time(ny, D1, D2).numerator, kpis.supplier_lead_time(ny, D1, D2).denominator) == (1, 1)


def test_transfer_cycle_time_at_the_destination(kb, site, other_site):
    for h in (24, 48):
        TransferOrder.objects.create(
            number=kb.n("TO"),
            from_site=other_site,
            to_site=site,
            status=TransferOrder.Status.RECEIVED,
            shipped_at=at(14) - hours(h),
            received_at=at(14),
        )
    TransferOrder.objects.create(
        number=kb.n("TO"), from_site=other_site, to_site=site, status=TransferOrder.Status.SHIPPED, shipped_at=at(14)
    )  # in transit

    v = kpis.transfer_cycle_time(site, D1, D2)
    assert (v.value, v.breakdown["p90"], v.denominator) == (36.0, 45.6, 2)
    assert kpis.transfer_cycle_time(other_site, D1, D2).value is None


@pytest.fixture
def picks(kb, site, make_user):
    """Five picks confirmed on 12 January (one short) and one still open."""
    u1, u2 = make_user("operator", site, username="op1"), make_user("operator", site, username="op2")
    z1, z2 = ZoneFactory(site=site, code="Z1"), ZoneFactory(site=site, code="Z2")
    p1, p2 = LocationFactory(site=site, kind=Location.Kind.PICK, zone=z1), LocationFactory(site=site, zone=z2)
    kb.pick(site, confirmed_at=at(12, 8, 10), user=u1, location=p1)
    kb.pick(site, confirmed_at=at(12, 8, 50), user=u1, location=p1)
    kb.pick(site, confirmed_at=at(12, 9, 5), user=u1, location=p2, status=PickTask.Status.SHORT)
    kb.pick(site, confirmed_at=at(12, 8, 30), user=u2, location=p1)
    kb.pick(site, confirmed_at=at(12, 15, 0), user=u2, location=p2, scanned="SOMEWHERE-ELSE")
    kb.pick(site, status=PickTask.Status.OPEN, location=p1)
    return u1, u2


def test_pick_productivity_by_zone_and_shift(picks, site):
    v = kpis.pick_productivity(site, D1, D2)
    # operator-hours: op1 08h, op1 09h, op2 08h, op2 15h
    assert (v.numerator, v.denominator, v.value) == (5, 4, 1.25)
    assert v.breakdown["by_zone"] == [
        {"zone": "Z1", "lines": 3, "operator_hours": 2, "value": 1.5},
        {"zone": "Z2", "lines": 2, "operator_hours": 2, "value": 1.0},
    ]
    assert v.breakdown["by_shift"] == [
        {"shift": "early", "lines": 4, "operator_hours": 3, "value": 1.33},
        {"shift": "late", "lines": 1, "operator_hours": 1, "value": 1.0},
    ]


def test_short_pick_rate(picks, site, other_site):
    v = kpis.short_pick_rate(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (1, 5, 20.0)
    assert kpis.short_pick_rate(other_site, D1, D2).value is None


def test_scan_compliance_by_operator(picks, kb, site):
    u1, u2 = picks
    lot = LotFactory(number="L1")
    face, reserve = LocationFactory(site=site, kind=Location.Kind.PICK), LocationFactory(site=site)
    kb.pick(site, confirmed_at=at(13), user=u1, lot=lot, scanned_lot="L2")  # wrong lot
    ReplenishmentTask.objects.create(
        site=site,
        item=kb.item(),
        from_location=reserve,
        to_location=face,
        quantity=1,
        status=ReplenishmentTask.Status.DONE,
        confirmed_by=u2,
        confirmed_at=at(13),
        scanned_location=reserve.code,
    )

    v = kpis.scan_compliance(site, D1, D2)
    # op1: three good picks and the wrong lot; op2: a good pick, a wrong location, a good replenishment
    assert (v.numerator, v.denominator, v.value) == (5, 7, 71.43)
    assert [(r["operator"], r["numerator"], r["denominator"]) for r in v.breakdown["by_operator"]] == [
        ("op1", 3, 4),
        ("op2", 2, 3),
    ]


def test_override_rate_per_kind(picks, kb, site, make_user):
    dock = LocationFactory(site=site, kind=Location.Kind.RECEIVING)
    suggested, other = LocationFactory(site=site), LocationFactory(site=site)
    for confirmed in (suggested, suggested, other):
        PutawayTask.objects.create(
            site=site,
            item=kb.item(),
            quantity=1,
            from_location=dock,
            suggested_location=suggested,
            confirmed_location=confirmed,
            status=PutawayTask.Status.CONFIRMED,
            received_at=at(11),
            confirmed_at=at(12),
        )
    order = kb.order(site, status=SalesOrder.Status.ALLOCATED)
    for rule in ("HOME_SITE", "REGION_SITE", "HOME_SITE", "SHIP_FROM"):
        line = kb.line(order, 1)
        Allocation.objects.create(
            line=line, site=site, item=line.item, quantity=1, original_quantity=1, rule=rule, created_at=at(12)
        )
    requester = make_user("coordinator", site)
    for status in (ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED):
        held = kb.order(site, status=SalesOrder.Status.ON_HOLD)
        ApprovalRequest.objects.create(
            kind="ORDER_HOLD",
            site=site,
            content_type=ContentType.objects.get_for_model(SalesOrder),
            object_id=held.pk,
            subject_label=held.number,
            reason="credit",
            requested_by=requester,
            status=status,
            decided_at=at(13),
        )

    v = kpis.override_rate(site, D1, D2)
    by_kind = {r["kind"]: (r["numerator"], r["denominator"]) for r in v.breakdown["by_kind"]}
    assert by_kind == {"putaway": (1, 3), "pick": (1, 5), "allocation": (1, 4), "hold": (1, 2)}
    assert (v.numerator, v.denominator, v.value) == (4, 14, 28.57)


def test_exception_backlog_at_the_end_of_the_period(kb, site):
    kb.exception(site, "SHORT_PICK", opened_at=at(16, 12), due_at=at(16, 14), severity="HIGH")  # overdue
    kb.exception(site, "OVER_RECEIPT", opened_at=at(9), due_at=at(20), resolved_at=at(18))  # open then, 7.5 days
    kb.exception(site, "OVER_RECEIPT", opened_at=at(15), due_at=at(20), resolved_at=at(16))  # resolved
    kb.exception(site, "SHORT_PICK", opened_at=at(17, 1), due_at=at(17, 5))  # opened later

    v = kpis.exception_backlog(site, D1, D2)
    assert (v.value, v.numerator, v.denominator) == (2, 2, None)
    assert v.breakdown["overdue"] == 1
    assert v.breakdown["by_code"] == [
        {"code": "OVER_RECEIPT", "open": 1, "overdue": 0},
        {"code": "SHORT_PICK", "open": 1, "overdue": 1},
    ]
    assert v.breakdown["by_age"] == [
        {"age": "<1d", "open": 1},
        {"age": "1-2d", "open": 0},
        {"age": "3-6d", "open": 0},
        {"age": "7d+", "open": 1},
    ]


def test_exception_resolution_time_by_code(kb, site):
    for h, code in ((2, "SHORT_PICK"), (4, "SHORT_PICK"), (10, "OVER_RECEIPT")):
        kb.exception(site, code, opened_at=at(12) - hours(h), due_at=at(20), resolved_at=at(12))
    kb.exception(site, "SHORT_PICK", opened_at=at(12), due_at=at(20))  # still open

    v = kpis.exception_resolution_time(site, D1, D2)
    assert (v.value, v.breakdown["p90"], v.numerator, v.denominator) == (4.0, 8.8, 16.0, 3)
    assert v.breakdown["by_code"] == [
        {"code": "OVER_RECEIPT", "count": 1, "median": 10.0, "p90": 10.0},
        {"code": "SHORT_PICK", "count": 2, "median": 3.0, "p90": 3.8},
    ]


def test_returns_turnaround(kb, site):
    for h in (5, 15):
        order = kb.order(site)
        kb.line(order, 1, shipped=1, first=at(5))
        kb.rma(order, created_at=at(6), received_at=at(12) - hours(h), disposed_at=at(12))
    pending = kb.order(site)
    kb.line(pending, 1, shipped=1, first=at(5))
    kb.rma(pending, created_at=at(6), received_at=at(12))  # received, not disposed

    v = kpis.returns_turnaround(site, D1, D2)
    assert (v.value, v.breakdown["p90"], v.denominator) == (10.0, 14.0, 2)
    assert Decimal(str(v.numerator)) == Decimal("20.0")
