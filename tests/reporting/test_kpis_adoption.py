"""Adoption KPIs (issue 13) against hand-computed numbers: refused and skipped scans per 100 confirmations, floor
overrides per 100 tasks, scan compliance without skipped scans, manual workarounds derived from the ledger."""

from __future__ import annotations

import pytest

from governance.models import SiteRuleValue
from inventory.models import Location, StockMove
from reporting import kpis
from tests.factories import LocationFactory
from warehouse.models import FloorEvent, PutawayTask

from .conftest import D1, D2, at, hours

pytestmark = pytest.mark.django_db
K = FloorEvent.Kind


def event(site, user, kind, process, when, task_id=None):
    return FloorEvent.objects.create(
        site=site, user=user, kind=kind, process=process, created_at=when, task_id=task_id, field="location"
    )


@pytest.fixture
def floor_week(kb, site, other_site, make_user):
    """op1 confirms 3 picks, op2 a putaway; op1 has 2 refused pick scans, op2 1 refused putaway scan and 1
    putaway override; outside the period and at the other site there are more."""
    op1, op2 = make_user("operator", site, username="op1"), make_user("operator", site, username="op2")
    picks = [kb.pick(site, confirmed_at=at(12, 9), user=op1) for _ in range(3)]
    dock = LocationFactory(site=site, kind=Location.Kind.RECEIVING)
    PutawayTask.objects.create(
        site=site,
        item=kb.item(),
        quantity=1,
        from_location=dock,
        status=PutawayTask.Status.CONFIRMED,
        confirmed_by=op2,
        received_at=at(12),
        confirmed_at=at(12, 10),
    )
    event(site, op1, K.REFUSED_SCAN, "PICK", at(12, 8))
    event(site, op1, K.REFUSED_SCAN, "PICK", at(13, 8))
    event(site, op2, K.REFUSED_SCAN, "PUTAWAY", at(12, 9))
    event(site, op2, K.OVERRIDE, "PUTAWAY", at(12, 10))
    event(site, op1, K.REFUSED_SCAN, "PICK", at(17, 8))  # after the period
    event(other_site, op1, K.REFUSED_SCAN, "PICK", at(12, 8))  # another site
    return op1, op2, picks


def test_refused_scans_per_100_confirmations_by_site_operator_and_process(floor_week, site, other_site):
    v = kpis.refused_scan_rate(site, D1, D2)
    assert (v.numerator, v.denominator, v.value, v.unit) == (3, 4, 75.0, "per 100")
    assert [(r["operator"], r["numerator"], r["denominator"]) for r in v.breakdown["by_operator"]] == [
        ("op1", 2, 3),
        ("op2", 1, 1),
    ]
    assert [(r["process"], r["numerator"], r["denominator"], r["value"]) for r in v.breakdown["by_process"]] == [
        ("PICK", 2, 3, 66.67),
        ("PUTAWAY", 1, 1, 100.0),
    ]
    # the other site: one refusal and no confirmation (no rate)
    other = kpis.refused_scan_rate(other_site, D1, D2)
    assert (other.numerator, other.denominator, other.value) == (1, 0, None)
    # the network is the sum of the sites
    network = kpis.refused_scan_rate(None, D1, D2)
    assert (network.numerator, network.denominator) == (4, 4)
    assert [(r["site"], r["numerator"]) for r in network.breakdown["by_site"]] == [("DC1", 3), ("DC2", 1)]


def test_floor_overrides_per_100_tasks(floor_week, site):
    v = kpis.floor_override_rate(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (1, 4, 25.0)
    assert kpis.compute("floor_override_rate", site, D1, D2) == v


def test_scan_compliance_does_not_count_a_confirmation_whose_item_scan_was_skipped(floor_week, site):
    op1, _op2, picks = floor_week
    assert kpis.scan_compliance(site, D1, D2).value == 100.0
    event(site, op1, K.SKIPPED_SCAN, "PICK", at(12, 9), task_id=picks[0].pk)
    event(site, op1, K.SKIPPED_SCAN, "REFILL", at(12, 9), task_id=picks[1].pk)  # a refill's id, not this pick
    v = kpis.scan_compliance(site, D1, D2)
    assert (v.numerator, v.denominator) == (2, 3)
    skipped = kpis.skipped_scan_rate(site, D1, D2)
    assert (skipped.numerator, skipped.denominator, skipped.value) == (2, 4, 50.0)


def test_manual_workarounds_are_adjustments_at_a_picked_location_within_the_window(kb, site, other_site, make_user):
    clerk = make_user("supervisor", site, username="clerk")
    item, other_item = kb.item(), kb.item()
    face = LocationFactory(site=site, kind=Location.Kind.PICK)
    adj = Location.objects.get(site=site, kind=Location.Kind.ADJUSTMENT)
    stage = kb.staging(site)

    def move(kind, frm, to, when, what=item, user=None):
        StockMove.objects.create(
            item=what, quantity=1, from_location=frm, to_location=to, kind=kind, created_at=when, user=user
        )

    move(StockMove.Kind.PICK, face, stage, at(12, 9))
    move(StockMove.Kind.PICK, face, stage, at(14, 9))
    move(StockMove.Kind.ADJUST, face, adj, at(12, 9, 30), user=clerk)  # 30 min after a pick there: a workaround
    move(StockMove.Kind.ADJUST, adj, face, at(12, 9, 59), user=clerk)  # found again, into the face: one too
    move(StockMove.Kind.ADJUST, face, adj, at(12, 10, 30))  # 90 min after: not within 60
    move(StockMove.Kind.ADJUST, face, adj, at(12, 9, 10), what=other_item)  # another item
    move(StockMove.Kind.ADJUST, face, adj, at(12, 8, 30))  # before the pick
    move(StockMove.Kind.ADJUST, face, adj, at(14, 9) + hours(0.5))  # after the second pick: a workaround

    v = kpis.manual_workarounds(site, D1, D2)
    assert (v.value, v.numerator, v.denominator) == (3, 3, 2)
    assert v.breakdown["by_operator"] == [
        {"site": "DC1", "operator": None, "workarounds": 1},
        {"site": "DC1", "operator": "clerk", "workarounds": 2},
    ]
    SiteRuleValue.objects.create(key="adoption.workaround_minutes", site=site, value=120, reason="slow site")
    assert kpis.manual_workarounds(site, D1, D2).value == 4
    assert kpis.manual_workarounds(other_site, D1, D2).value == 0
    assert kpis.manual_workarounds(None, D1, D2).value == 4


def test_adoption_kpis_are_not_among_the_kpis_of_kpis_md():
    assert set(kpis.ADOPTION_KPIS).isdisjoint(kpis.KPIS)
    assert len(kpis.KPIS) == 23
