"""Hold, release and lot recall (inventory.services.holds): every site, reserved and allocated units reported and
left alone, a second recall holds nothing more, permission refusals change nothing."""

from __future__ import annotations

import pytest
from django.db import transaction

from core.errors import InsufficientStock, NotFound, PermissionDenied, StateConflict, ValidationFailed
from governance.models import Site
from inventory.models import Location, StockMove
from inventory.policy.holds import QuantState, plan_holds
from inventory.selectors import find_inventory_drift, held_stock
from inventory.services import change_allocated, receive_stock, reserve_stock
from inventory.services.holds import hold_stock, recall_lot, release_stock
from tests.factories import ItemFactory, LocationFactory, LotFactory, SiteFactory

from .helpers import inventory_state, level_of, quant_of

pytestmark = pytest.mark.django_db


# --- the pure plan ------------------------------------------------------------------------------------------


def q(pk, status="AVAILABLE", quantity=10, reserved=0, kind="STORAGE"):
    return QuantState(pk, pk, kind, status, quantity, reserved)


def test_plan_holds_every_free_unit_received_first_and_reports_reserved():
    plan = plan_holds([q(1, reserved=3), q(2, status="RECEIVED", quantity=4)], headroom=100)
    assert [(line.quant_id, line.quantity) for line in plan.lines] == [(2, 4), (1, 7)]
    assert plan.reserved == {1: 3} and plan.allocated == 0


def test_plan_leaves_what_allocations_need_and_takes_staging_last():
    plan = plan_holds([q(1, kind="STAGING"), q(2), q(3, status="HOLD")], headroom=12)
    assert [(line.quant_id, line.quantity) for line in plan.lines] == [(2, 10), (1, 2)]
    assert plan.allocated == 8


def test_plan_for_a_wanted_quantity_stops_there():
    plan = plan_holds([q(1), q(2)], headroom=100, wanted=13)
    assert [(line.quant_id, line.quantity) for line in plan.lines] == [(1, 10), (2, 3)]
    short = plan_holds([q(1), q(2)], headroom=5, wanted=13)
    assert short.held == 5 and short.allocated == 8


# --- the floor ----------------------------------------------------------------------------------------------


@pytest.fixture
def network(site, other_site, make_user):
    third = SiteFactory(code="DC3", name="North DC", region="NORTH")
    item = ItemFactory(sku="JAM", lot_tracked=True)
    lot = LotFactory(item=item, number="L-RECALL")
    other_lot = LotFactory(item=item, number="L-OK")
    bins = {}
    for s in (site, other_site, third):
        bins[s.code] = LocationFactory(site=s, code="B-01", kind=Location.Kind.STORAGE)
        bins[s.code + "-dock"] = LocationFactory(site=s, code="DOCK", kind=Location.Kind.RECEIVING)
    for code, status, qty, which in (
        ("DC1", "AVAILABLE", 50, lot),
        ("DC1-dock", "RECEIVED", 10, lot),
        ("DC1", "AVAILABLE", 20, other_lot),
        ("DC2", "AVAILABLE", 30, lot),
        ("DC3", "AVAILABLE", 7, lot),
    ):
        receive_stock(
            user=None, item=item, location=bins[code], quantity=qty, status=status, lot=which, check_permission=False
        )
    boss = make_user("supervisor", site, other_site, username="recall-boss")
    return {"item": item, "lot": lot, "other_lot": other_lot, "bins": bins, "boss": boss, "third": third}


def test_recall_holds_every_free_unit_of_the_lot_at_every_site_in_one_transaction(network, site, other_site):
    item, lot, boss = network["item"], network["lot"], network["boss"]

    result = recall_lot(user=boss, item=item, lot=lot, reason="Supplier recall 2026-12")

    assert result.held_total == 90
    by_site = {s.site: s for s in result.sites}
    assert set(by_site) == {"DC1", "DC2"} and result.unseen_sites == 1  # DC3 is not the boss's to see
    assert sorted((h.location, h.from_status, h.quantity) for h in by_site["DC1"].held) == [
        ("B-01", "AVAILABLE", 50),
        ("DOCK", "RECEIVED", 10),
    ]
    assert quant_of(item, network["bins"]["DC1"], "HOLD", lot) == (50, 0)
    assert quant_of(item, network["bins"]["DC1-dock"], "HOLD", lot) == (10, 0)
    assert quant_of(item, network["bins"]["DC2"], "HOLD", lot) == (30, 0)
    assert quant_of(item, network["bins"]["DC1"], "AVAILABLE", network["other_lot"]) == (20, 0)  # another lot
    assert quant_of(item, network["bins"]["DC3"], "AVAILABLE", lot) == (7, 0)
    moves = StockMove.objects.filter(kind="STATUS", reason_code="RECALL")
    assert moves.count() == 3 and {m.note for m in moves} == {"Supplier recall 2026-12"}
    assert level_of(item, site)["hold"] == 60 and level_of(item, other_site)["hold"] == 30
    assert find_inventory_drift() == []


def test_recall_reports_reserved_and_allocated_units_as_not_held_and_leaves_them(network, site, make_user):
    item, lot, boss = network["item"], network["lot"], network["boss"]
    bin_ = network["bins"]["DC1"]
    from inventory.services import find_quant

    reserve_stock(user=boss, quant=find_quant(item=item, location=bin_, status="AVAILABLE", lot=lot), quantity=5)
    with transaction.atomic():  # orders allocated 60 of the 70 available at DC1 (both lots)
        change_allocated(deltas={(item.pk, site.pk): 60})

    result = recall_lot(user=boss, item=item, lot=lot, reason="recall")

    dc1 = next(s for s in result.sites if s.site == "DC1")
    assert dc1.reserved_not_held == {"B-01": 5}
    assert dc1.held_total == 10 + 10  # the dock's RECEIVED units, and the 10 available beyond the allocations
    assert dc1.allocated_not_held == 35
    assert quant_of(item, bin_, "AVAILABLE", lot) == (40, 5)
    assert level_of(item, site)["allocated"] == 60 and level_of(item, site)["available"] == 60
    # the allocation above is a bare counter (no order's Allocation rows behind it): every other check holds
    assert [d for d in find_inventory_drift() if d.kind != "ALLOCATED_VS_ALLOCATIONS"] == []


def test_a_second_recall_holds_nothing_more(network):
    item, lot, boss = network["item"], network["lot"], network["boss"]
    recall_lot(user=boss, item=item, lot=lot, reason="recall")
    moves = StockMove.objects.count()

    again = recall_lot(user=boss, item=item, lot=lot, reason="recall")

    assert again.held_total == 0 and StockMove.objects.count() == moves
    assert {s.site: s.already_held for s in again.sites} == {"DC1": 60, "DC2": 30}


def test_recall_holds_where_allowed_and_reports_the_rest(network, make_user, site, other_site):
    item, lot = network["item"], network["lot"]
    user = make_user("supervisor", site, username="half-boss")
    from governance.models import SiteMembership

    SiteMembership.objects.create(user=user, site=other_site, role="operator")

    result = recall_lot(user=user, item=item, lot=lot, reason="recall")

    dc2 = next(s for s in result.sites if s.site == "DC2")
    assert dc2.held_total == 0 and dc2.not_held == 30 and "does not allow" in dc2.refused
    assert result.held_total == 60
    assert quant_of(item, network["bins"]["DC2"], "AVAILABLE", lot) == (30, 0)


def test_recall_skips_a_site_in_its_cutover_freeze(network, other_site):
    Site.objects.filter(pk=other_site.pk).update(stage=Site.Stage.CUTOVER)
    result = recall_lot(user=network["boss"], item=network["item"], lot=network["lot"], reason="recall")
    dc2 = next(s for s in result.sites if s.site == "DC2")
    assert dc2.not_held == 30 and "freeze" in dc2.refused and result.held_total == 60


def test_operators_and_users_without_a_site_may_not_recall_and_nothing_changes(network, make_user, site):
    operator = make_user("operator", site, username="op-recall")
    nobody = make_user(username="no-sites")
    before = inventory_state()
    for user in (operator, nobody):
        with pytest.raises(PermissionDenied):
            recall_lot(user=user, item=network["item"], lot=network["lot"], reason="recall")
    assert inventory_state() == before


def test_a_supervisor_of_another_site_recalls_there_only_and_sees_nothing_of_the_rest(network, outsider, site):
    result = recall_lot(user=outsider, item=network["item"], lot=network["lot"], reason="recall")
    assert [s.site for s in result.sites] == ["DC2"] and result.held_total == 30
    assert result.unseen_sites == 2
    assert quant_of(network["item"], network["bins"]["DC1"], "AVAILABLE", network["lot"]) == (50, 0)


def test_recall_needs_a_reason_and_a_lot_of_the_item(network):
    before = inventory_state()
    with pytest.raises(ValidationFailed):
        recall_lot(user=network["boss"], item=network["item"], lot=network["lot"], reason="  ")
    with pytest.raises(ValidationFailed):
        recall_lot(
            user=network["boss"], item=ItemFactory(sku="OTHER", lot_tracked=True), lot=network["lot"], reason="x"
        )
    assert inventory_state() == before


# --- hold and release ----------------------------------------------------------------------------------------


def test_hold_at_a_location_and_release_it_back(network, site):
    item, lot, boss = network["item"], network["lot"], network["boss"]
    bin_ = network["bins"]["DC1"]

    result = hold_stock(
        user=boss, item=item, site=site, lot=lot, location=bin_, quantity=12, reason_code="QUALITY", note="smell"
    )
    assert result.held_total == 12 and quant_of(item, bin_, "HOLD", lot) == (12, 0)
    assert [(q.location.code, q.quantity) for q in held_stock(site=site)] == [("B-01", 12)]

    release_stock(user=boss, item=item, location=bin_, lot=lot, quantity=12, reason_code="QUALITY_OK")
    assert quant_of(item, bin_, "HOLD", lot) == (0, 0) and quant_of(item, bin_, "AVAILABLE", lot) == (50, 0)
    assert list(StockMove.objects.filter(kind="STATUS").values_list("reason_code", flat=True).order_by("id")) == [
        "QUALITY",
        "QUALITY_OK",
    ]
    assert find_inventory_drift() == []


def test_hold_as_damaged_and_without_a_location_takes_from_any_bin(network, site):
    item, lot, boss = network["item"], network["lot"], network["boss"]
    result = hold_stock(
        user=boss, item=item, site=site, lot=lot, quantity=55, to_status="DAMAGED", reason_code="DAMAGE_CHECK"
    )
    assert result.held_total == 55
    assert level_of(item, site)["damaged"] == 55


def test_hold_of_more_than_is_free_is_refused_and_changes_nothing(network, site):
    item, lot, boss = network["item"], network["lot"], network["boss"]
    from inventory.services import find_quant

    bin_ = network["bins"]["DC1"]
    reserve_stock(user=boss, quant=find_quant(item=item, location=bin_, status="AVAILABLE", lot=lot), quantity=45)
    before = inventory_state()
    with pytest.raises(InsufficientStock, match="45 are reserved"):
        hold_stock(user=boss, item=item, site=site, lot=lot, location=bin_, quantity=6, reason_code="QUALITY")
    assert inventory_state() == before


def test_operators_may_not_hold_or_release(network, site, make_user, outsider):
    item, lot = network["item"], network["lot"]
    operator = make_user("operator", site, username="op-hold")
    before = inventory_state()
    with pytest.raises(PermissionDenied):
        hold_stock(user=operator, item=item, site=site, lot=lot, quantity=1, reason_code="QUALITY")
    with pytest.raises(NotFound):
        hold_stock(user=outsider, item=item, site=site, lot=lot, quantity=1, reason_code="QUALITY")
    with pytest.raises(PermissionDenied):
        release_stock(
            user=operator, item=item, location=network["bins"]["DC1"], lot=lot, quantity=1, reason_code="QUALITY_OK"
        )
    assert inventory_state() == before


def test_hold_refuses_an_unknown_reason_another_sites_location_and_a_frozen_site(network, site, other_site):
    item, lot, boss = network["item"], network["lot"], network["boss"]
    before = inventory_state()
    with pytest.raises(ValidationFailed):
        hold_stock(user=boss, item=item, site=site, lot=lot, quantity=1, reason_code="BORED")
    with pytest.raises(ValidationFailed):
        hold_stock(
            user=boss, item=item, site=site, lot=lot, location=network["bins"]["DC2"], quantity=1, reason_code="QUALITY"
        )
    with pytest.raises(ValidationFailed):
        release_stock(user=boss, item=item, location=network["bins"]["DC1"], lot=lot, quantity=1, reason_code="QUALITY")
    Site.objects.filter(pk=other_site.pk).update(stage=Site.Stage.CUTOVER)
    with pytest.raises(StateConflict):
        hold_stock(user=boss, item=item, site=other_site, lot=lot, quantity=1, reason_code="QUALITY")
    assert inventory_state() == before


def test_held_units_at_a_receiving_dock_are_released_to_received_for_their_putaway(network, site):
    item, lot, boss = network["item"], network["lot"], network["boss"]
    dock = network["bins"]["DC1-dock"]
    recall_lot(user=boss, item=item, lot=lot, reason="recall")
    move = release_stock(user=boss, item=item, location=dock, lot=lot, quantity=10, reason_code="RECALL_LIFTED")
    assert (move.from_status, move.to_status) == ("HOLD", "RECEIVED")
    assert quant_of(item, dock, "RECEIVED", lot) == (10, 0) and level_of(item, site)["received"] == 10
