"""Fast tests of the pure allocation policy (no database)."""

from datetime import date, datetime

from orders.policy.allocation import (
    BACKORDER,
    HOME_SITE,
    OTHER_SITE,
    PARTIAL,
    REGION_SITE,
    SHIP_FROM,
    SPLIT,
    WAIT,
    LineDemand,
    OrderDemand,
    SiteInfo,
    allocate,
    free_after,
    order_sequence,
)

HOME = SiteInfo(1, "DC1", "EAST")
NEAR = SiteInfo(2, "DC2", "EAST")
FAR = SiteInfo(3, "DC3", "WEST")
SITES = [FAR, NEAR, HOME]
A, B, SUB = 10, 11, 12
T0 = datetime(2026, 1, 1, 8, 0)


def order(order_id=1, lines=None, **kw):
    defaults = dict(priority=3, promised_date=date(2026, 2, 1), released_at=T0, home_site_id=HOME.id, region="EAST")
    defaults.update(kw)
    return OrderDemand(order_id=order_id, lines=tuple(lines or [LineDemand(100, A, 10)]), **defaults)


def sites_of(plan):
    return sorted({a.site_id for a in plan.allocations})


def test_prefers_the_home_site_when_it_can_fill_the_whole_order():
    plan = allocate([order()], SITES, {(A, HOME.id): 10, (A, NEAR.id): 50})
    assert [(a.site_id, a.quantity, a.rule) for a in plan.allocations] == [(HOME.id, 10, HOME_SITE)]
    assert plan.unfilled == []


def test_prefers_a_site_of_the_same_region_over_a_far_one():
    plan = allocate([order()], SITES, {(A, HOME.id): 5, (A, NEAR.id): 10, (A, FAR.id): 100})
    assert [(a.site_id, a.rule) for a in plan.allocations] == [(NEAR.id, REGION_SITE)]


def test_falls_back_to_any_site_that_fills_the_whole_order():
    plan = allocate([order()], SITES, {(A, FAR.id): 10})
    assert [(a.site_id, a.rule) for a in plan.allocations] == [(FAR.id, OTHER_SITE)]


def test_one_site_filling_every_line_beats_the_home_site_filling_some():
    lines = [LineDemand(100, A, 10), LineDemand(101, B, 5)]
    free = {(A, HOME.id): 10, (A, FAR.id): 10, (B, FAR.id): 5}
    plan = allocate([order(lines=lines)], SITES, free)
    assert sites_of(plan) == [FAR.id]


def test_splits_across_fewest_sites_when_no_single_site_can_fill():
    lines = [LineDemand(100, A, 10), LineDemand(101, B, 10)]
    free = {(A, HOME.id): 10, (B, NEAR.id): 4, (B, FAR.id): 10}
    plan = allocate([order(lines=lines)], SITES, free)
    assert sites_of(plan) == [HOME.id, FAR.id]
    assert {a.rule for a in plan.allocations} == {SPLIT}
    assert plan.unfilled == []
    assert any("Split across" in note[2] for note in plan.notes)


def test_does_not_split_when_the_customer_refuses_split_shipments():
    lines = [LineDemand(100, A, 10), LineDemand(101, B, 10)]
    free = {(A, HOME.id): 10, (B, FAR.id): 10}
    plan = allocate([order(lines=lines, allow_split=False)], SITES, free)
    assert sites_of(plan) == [HOME.id]
    assert plan.allocations[0].rule == PARTIAL
    assert [(u.line_id, u.quantity, u.rule) for u in plan.unfilled] == [(101, 10, BACKORDER)]


def test_does_not_use_sites_whose_rules_forbid_splitting():
    lines = [LineDemand(100, A, 10), LineDemand(101, B, 10)]
    no_split_far = SiteInfo(3, "DC3", "WEST", allow_split=False)
    plan = allocate([order(lines=lines)], [HOME, NEAR, no_split_far], {(A, HOME.id): 10, (B, FAR.id): 10})
    assert FAR.id not in sites_of(plan)
    assert [u.line_id for u in plan.unfilled] == [101]


def test_ship_from_line_is_filled_only_at_its_site():
    line = LineDemand(100, A, 10, ship_from_site_id=FAR.id)
    plan = allocate([order(lines=[line])], SITES, {(A, HOME.id): 100, (A, FAR.id): 4})
    assert [(a.site_id, a.quantity, a.rule) for a in plan.allocations] == [(FAR.id, 4, SHIP_FROM)]
    assert [(u.quantity, u.rule) for u in plan.unfilled] == [(6, BACKORDER)]


def test_backorders_what_cannot_be_filled():
    plan = allocate([order()], SITES, {(A, HOME.id): 3})
    assert [(a.quantity) for a in plan.allocations] == [3]
    assert [(u.quantity, u.rule) for u in plan.unfilled] == [(7, BACKORDER)]


def test_line_waits_unallocated_when_customer_takes_no_backorders():
    plan = allocate([order(allow_backorders=False)], SITES, {})
    assert plan.allocations == []
    assert [(u.quantity, u.rule) for u in plan.unfilled] == [(10, WAIT)]


def test_fills_from_a_substitute_when_allowed_and_the_item_is_short():
    line = LineDemand(100, A, 10, substitutes=(SUB,))
    plan = allocate([order(lines=[line], allow_substitution=True)], SITES, {(A, HOME.id): 6, (SUB, HOME.id): 10})
    assert [(a.item_id, a.quantity, a.is_substitute) for a in plan.allocations] == [(A, 6, False), (SUB, 4, True)]
    assert "substitute" in plan.allocations[1].reason


def test_never_uses_a_substitute_when_the_customer_does_not_allow_it():
    line = LineDemand(100, A, 10, substitutes=(SUB,))
    plan = allocate([order(lines=[line])], SITES, {(A, HOME.id): 6, (SUB, HOME.id): 10})
    assert all(not a.is_substitute for a in plan.allocations)
    assert plan.unfilled[0].quantity == 4


def test_prefers_the_ordered_item_elsewhere_over_a_substitute_at_home():
    line = LineDemand(100, A, 10, substitutes=(SUB,))
    free = {(SUB, HOME.id): 10, (A, NEAR.id): 10}
    plan = allocate([order(lines=[line], allow_substitution=True)], SITES, free)
    assert [(a.site_id, a.item_id) for a in plan.allocations] == [(NEAR.id, A)]


def test_higher_priority_order_is_served_first_from_scarce_stock():
    low = order(1, [LineDemand(100, A, 10)], priority=4)
    high = order(2, [LineDemand(200, A, 10)], priority=1, released_at=datetime(2026, 1, 2))
    plan = allocate([low, high], SITES, {(A, HOME.id): 10})
    assert [(a.order_id, a.quantity) for a in plan.allocations] == [(2, 10)]
    assert [(u.order_id, u.quantity) for u in plan.unfilled] == [(1, 10)]


def test_orders_of_equal_priority_go_by_promised_date_then_release_time():
    a = order(1, promised_date=date(2026, 3, 1))
    b = order(2, promised_date=date(2026, 2, 1), released_at=datetime(2026, 1, 5))
    c = order(3, promised_date=date(2026, 2, 1), released_at=datetime(2026, 1, 4))
    assert [o.order_id for o in order_sequence([a, b, c])] == [3, 2, 1]


def test_never_plans_more_than_is_free():
    orders = [order(i, [LineDemand(i, A, 7)]) for i in range(1, 20)]
    free = {(A, HOME.id): 30, (A, FAR.id): 12}
    plan = allocate(orders, SITES, free)
    left = free_after(plan, free)
    assert all(v >= 0 for v in left.values())
    assert sum(a.quantity for a in plan.allocations) == 42
    assert sum(a.quantity for a in plan.allocations) + sum(u.quantity for u in plan.unfilled) == 19 * 7


def test_a_split_takes_as_much_as_possible_from_the_nearest_chosen_site():
    plan = allocate([order(lines=[LineDemand(100, A, 12)])], SITES, {(A, HOME.id): 6, (A, FAR.id): 10})
    assert [(a.site_id, a.quantity) for a in plan.allocations] == [(HOME.id, 6), (FAR.id, 6)]
