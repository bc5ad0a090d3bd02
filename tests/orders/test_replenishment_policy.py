"""Fast tests of the pure replenishment policy (no database), against hand-computed numbers."""

from decimal import Decimal

import pytest

from orders.policy.replenishment import (
    MIN_MAX,
    PURCHASE,
    REORDER_POINT,
    TRANSFER,
    Demand,
    PolicyTerms,
    Position,
    Source,
    order_quantity,
    pick_face_refill,
    plan_item,
    planning_levels,
    z_score,
)

# Seven days of shipments: mean 10, squares sum 740, sample variance (740 - 70^2/7) / 6 = 40/6, sigma 2.5820.
WEEK = Demand.from_daily([10, 12, 8, 10, 10, 14, 6])


def rop_terms(**kw):
    defaults = dict(method=REORDER_POINT, service_level=Decimal("0.95"), lead_time_days=4, review_days=7)
    defaults.update(kw)
    return PolicyTerms(**defaults)


def test_mean_and_sample_standard_deviation_of_daily_demand():
    assert WEEK.total == 70 and WEEK.sum_of_squares == 740
    assert WEEK.mean == 10
    assert round(WEEK.stdev, 4) == Decimal("2.5820")


def test_days_without_shipments_count_as_zero_demand():
    # 4 units on 5 of 10 days: mean 2, variance (80 - 400/10) / 9 = 4.444, sigma 2.1082
    demand = Demand(window_days=10, total=20, sum_of_squares=80)
    assert demand.mean == 2
    assert round(demand.stdev, 4) == Decimal("2.1082")


def test_no_variability_with_a_single_day_or_no_history():
    assert Demand.from_daily([7]).stdev == 0
    assert Demand(window_days=0).mean == 0


@pytest.mark.parametrize(("level", "z"), [("0.5", "0.0000"), ("0.9", "1.2816"), ("0.95", "1.6449"), ("0.99", "2.3263")])
def test_service_level_gives_the_normal_quantile(level, z):
    assert z_score(Decimal(level)) == Decimal(z)


@pytest.mark.parametrize("level", ["0.4", "1", "1.5"])
def test_service_level_outside_half_to_one_is_refused(level):
    with pytest.raises(ValueError):
        z_score(Decimal(level))


def test_reorder_point_is_lead_time_demand_plus_safety_stock():
    # lead time demand 10 * 4 = 40; safety stock 1.6449 * 2.5820 * sqrt(4) = 8.49; ROP ceil(48.49) = 49;
    # order-up-to 49 + 10 * 7 = 119
    levels = planning_levels(rop_terms(), WEEK)
    assert (levels.reorder_point, levels.order_up_to) == (49, 119)
    assert levels.why["safety_stock"] == "8.49"
    assert levels.why["z"] == "1.6449"
    assert levels.why["mean_daily_demand"] == "10.0000"
    assert levels.why["stdev_daily_demand"] == "2.5820"
    assert levels.why["lead_time_demand"] == "40.0000"


def test_reorder_point_with_fractional_mean_and_idle_days():
    # mean 2, sigma 2.1082, lead 9 days: 18 + 1.2816 * 2.1082 * 3 = 18 + 8.11 -> 27; review 5 days -> 27 + 10
    demand = Demand(window_days=10, total=20, sum_of_squares=80)
    levels = planning_levels(rop_terms(service_level=Decimal("0.9"), lead_time_days=9, review_days=5), demand)
    assert levels.why["safety_stock"] == "8.11"
    assert (levels.reorder_point, levels.order_up_to) == (27, 37)


def test_min_and_max_are_floors_under_computed_levels():
    levels = planning_levels(rop_terms(min_quantity=60, max_quantity=500), WEEK)
    assert (levels.reorder_point, levels.order_up_to) == (60, 500)
    assert levels.why["computed_reorder_point"] == 49


def test_min_max_uses_the_policy_numbers():
    levels = planning_levels(PolicyTerms(MIN_MAX, min_quantity=20, max_quantity=100), WEEK)
    assert (levels.reorder_point, levels.order_up_to) == (20, 100)


def test_projected_position_nets_supply_against_claims():
    """Exactly the issue's formula: available + open purchase orders + inbound transfers - allocated -
    backordered (units on the dock and units promised to outbound transfers are not terms of it)."""
    position = Position(available=30, open_purchase=10, inbound_transfers=6, allocated=5, backordered=3)
    assert position.projected == 30 + 10 + 6 - 5 - 3 == 38
    assert set(position.as_dict()) == {
        "available",
        "open_purchase_orders",
        "inbound_transfers",
        "allocated",
        "backordered",
        "projected",
        "formula",
    }


@pytest.mark.parametrize(
    ("need", "moq", "pack", "expected"),
    [(87, 100, 12, 108), (87, 0, 12, 96), (96, 0, 12, 96), (5, 0, 1, 5), (5, 40, 1, 40), (0, 40, 12, 0)],
)
def test_purchase_respects_minimum_order_quantity_and_pack_multiple(need, moq, pack, expected):
    assert order_quantity(need, min_order_quantity=moq, pack_multiple=pack) == expected


def test_below_reorder_point_buys_up_to_the_order_up_to_level():
    # ROP 49, up-to 119; position 30 + 10 - 5 - 3 = 32; need 87; MOQ 100 -> 100; packs of 12 -> 108
    position = Position(available=30, open_purchase=10, allocated=5, backordered=3)
    plan = plan_item(rop_terms(min_order_quantity=100, pack_multiple=12), WEEK, position)
    (proposal,) = plan.proposals
    assert (proposal.kind, proposal.quantity) == (PURCHASE, 108)
    why = proposal.why
    assert (why["reorder_point"], why["order_up_to"], why["need"], why["to_buy"]) == (49, 119, 87, 87)
    assert why["position"] == {
        "available": 30,
        "open_purchase_orders": 10,
        "inbound_transfers": 0,
        "allocated": 5,
        "backordered": 3,
        "projected": 32,
        "formula": "available + open_purchase_orders + inbound_transfers - allocated - backordered",
    }
    assert (why["min_order_quantity"], why["pack_multiple"], why["quantity"]) == (100, 12, 108)


def test_above_reorder_point_nothing_is_suggested():
    plan = plan_item(rop_terms(), WEEK, Position(available=50))
    assert plan.proposals == [] and plan.projected == 50


def test_at_the_min_a_min_max_policy_orders():
    plan = plan_item(PolicyTerms(MIN_MAX, min_quantity=20, max_quantity=100), WEEK, Position(available=20))
    assert [(p.kind, p.quantity) for p in plan.proposals] == [(PURCHASE, 80)]


def test_backorders_below_zero_are_bought_even_with_a_zero_reorder_point():
    plan = plan_item(PolicyTerms(MIN_MAX, min_quantity=0, max_quantity=10), Demand(30), Position(backordered=4))
    assert [(p.kind, p.quantity) for p in plan.proposals] == [(PURCHASE, 14)]


def test_no_demand_and_no_max_suggests_nothing():
    assert plan_item(rop_terms(), Demand(30), Position()).proposals == []


def test_rebalances_from_overstocked_sites_before_buying():
    # need 100 - 10 = 90: 70 from the same-region site first, then 20 of the far site's 50 excess
    far = Source(2, "DC2", free=150, order_up_to=100, same_region=False)
    near = Source(3, "DC3", free=130, order_up_to=60, same_region=True)
    plan = plan_item(PolicyTerms(MIN_MAX, min_quantity=20, max_quantity=100), WEEK, Position(available=10), [far, near])
    assert [(p.kind, p.source_site_id, p.quantity) for p in plan.proposals] == [(TRANSFER, 3, 70), (TRANSFER, 2, 20)]
    assert plan.proposals[0].why["source"] == {
        "site": "DC3",
        "free": 130,
        "order_up_to": 60,
        "excess": 70,
        "same_region": True,
    }
    assert plan.proposals[1].why["still_needed_after"] == 0


def test_buys_what_transfers_do_not_cover():
    source = Source(2, "DC2", free=130, order_up_to=100)
    terms = PolicyTerms(MIN_MAX, min_quantity=20, max_quantity=100, pack_multiple=25)
    plan = plan_item(terms, WEEK, Position(available=10), [source])
    assert [(p.kind, p.quantity) for p in plan.proposals] == [(TRANSFER, 30), (PURCHASE, 75)]
    assert plan.proposals[1].why["covered_by_transfers"] == 30
    assert plan.proposals[1].why["to_buy"] == 60


def test_a_site_at_or_below_its_own_max_gives_nothing():
    source = Source(2, "DC2", free=100, order_up_to=100)
    plan = plan_item(PolicyTerms(MIN_MAX, min_quantity=20, max_quantity=100), WEEK, Position(), [source])
    assert [p.kind for p in plan.proposals] == [PURCHASE]


def test_without_a_supplier_the_purchase_is_reported_missing():
    plan = plan_item(PolicyTerms(MIN_MAX, min_quantity=20, max_quantity=100), WEEK, Position(), has_supplier=False)
    assert plan.proposals == [] and plan.missing_supplier and plan.need == 100


def test_pick_face_at_its_min_is_refilled_to_its_max():
    assert pick_face_refill(on_hand=10, reserved=4, incoming=0, min_quantity=6, max_quantity=40) == 34


def test_pick_face_above_its_min_is_left_alone():
    assert pick_face_refill(on_hand=11, reserved=4, incoming=0, min_quantity=6, max_quantity=40) == 0


def test_refills_on_the_way_count_toward_the_pick_face_level():
    assert pick_face_refill(on_hand=2, reserved=2, incoming=34, min_quantity=6, max_quantity=40) == 0
    assert pick_face_refill(on_hand=2, reserved=2, incoming=3, min_quantity=6, max_quantity=40) == 37
