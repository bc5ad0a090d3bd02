"""Fast tests of wave planning and pick-location choice (no database)."""

from datetime import date, datetime, timedelta

from warehouse.policy.picking import Candidate, QuantInfo, choose_picks, plan_wave

TODAY = date(2026, 6, 1)
T = datetime(2026, 5, 30, 8)


def q(id, kind="STORAGE", free=10, expiry=None, code=None, zone="Z", aisle="A", lot=None):
    return QuantInfo(id, id, code or f"L{id:02d}", kind, zone, aisle, lot, expiry, free)


def test_pick_faces_are_used_before_reserve_storage():
    plan = choose_picks(5, [q(1, "STORAGE"), q(2, "PICK")], today=TODAY, min_shelf_life_days=0)
    assert plan.picks == [(2, 5)]


def test_first_expiring_lot_is_picked_first():
    plan = choose_picks(
        5,
        [q(1, "PICK", expiry=TODAY + timedelta(days=90)), q(2, "STORAGE", expiry=TODAY + timedelta(days=40))],
        today=TODAY,
        min_shelf_life_days=30,
    )
    assert plan.picks == [(2, 5)]


def test_expired_and_short_dated_lots_are_never_picked():
    plan = choose_picks(
        5,
        [q(1, expiry=TODAY), q(2, expiry=TODAY + timedelta(days=10)), q(3, free=2)],
        today=TODAY,
        min_shelf_life_days=30,
    )
    assert plan.picks == [(3, 2)] and plan.shortfall == 3
    assert len(plan.skipped) == 2


def test_one_location_that_covers_the_quantity_beats_several():
    plan = choose_picks(
        8,
        [q(1, free=5, code="A-01"), q(2, free=5, code="A-02"), q(3, free=9, code="B-09")],
        today=TODAY,
        min_shelf_life_days=0,
    )
    assert plan.picks == [(3, 8)]


def test_walk_order_breaks_ties():
    plan = choose_picks(
        3, [q(1, code="C-01", aisle="C"), q(2, code="A-05", aisle="A")], today=TODAY, min_shelf_life_days=0
    )
    assert plan.picks == [(2, 3)]


def test_reserved_units_are_not_free():
    plan = choose_picks(3, [q(1, free=0), q(2, free=1)], today=TODAY, min_shelf_life_days=0)
    assert plan.picks == [(2, 1)] and plan.shortfall == 2


def cand(a, order, prio=3, promised=date(2026, 6, 5), released=T, qty=1):
    return Candidate(a, order, a, qty, prio, promised, released)


def test_waves_take_whole_orders_most_urgent_first_within_limits():
    cands = [cand(1, 10, prio=3), cand(2, 10, prio=3), cand(3, 11, prio=1), cand(4, 12, promised=date(2026, 6, 2))]
    chosen = plan_wave(cands, max_orders=2, max_lines=10)
    assert [c.order_id for c in chosen] == [11, 12]


def test_wave_line_limit_skips_orders_that_do_not_fit():
    cands = [cand(1, 10), cand(2, 10), cand(3, 11)]
    assert [c.allocation_id for c in plan_wave(cands, max_orders=5, max_lines=1)] == [3]


def test_wave_filters_by_priority_and_promised_date():
    cands = [cand(1, 10, prio=4), cand(2, 11, prio=1, promised=date(2026, 7, 1)), cand(3, 12, prio=2)]
    chosen = plan_wave(cands, max_orders=5, max_lines=5, max_priority=2, promised_by=date(2026, 6, 30))
    assert [c.order_id for c in chosen] == [12]


def test_wave_filters_by_carrier_route_and_cutoff():
    from dataclasses import replace

    from warehouse.policy.picking import wave_cutoff

    def hours(n):
        return T + timedelta(hours=n)

    cands = [
        replace(cand(1, 10), carrier="UPS", route="N1", cutoff=hours(4)),
        replace(cand(2, 11), carrier="UPS", route="S2", cutoff=hours(2)),
        replace(cand(3, 12), carrier="DHL", route="N1"),
        replace(cand(4, 13), carrier="", route="N1", cutoff=hours(1)),
    ]
    assert [c.order_id for c in plan_wave(cands, max_orders=9, max_lines=9, carrier="UPS")] == [11, 10]
    assert [c.order_id for c in plan_wave(cands, max_orders=9, max_lines=9, route="N1")] == [13, 10, 12]
    assert [c.order_id for c in plan_wave(cands, max_orders=9, max_lines=9, carrier="UPS", route="N1")] == [10]
    # orders without a cutoff are left out by the cutoff filter; the bound is inclusive
    by_cutoff = plan_wave(cands, max_orders=9, max_lines=9, cutoff_before=T + timedelta(hours=2))
    assert [c.order_id for c in by_cutoff] == [13, 11]
    assert wave_cutoff(by_cutoff, T + timedelta(hours=2)) == T + timedelta(hours=1)
    assert wave_cutoff([cands[2]], T) == T and wave_cutoff([cands[2]]) is None


def test_an_earlier_cutoff_goes_first_within_a_priority():
    from dataclasses import replace

    late = replace(cand(1, 10, promised=date(2026, 6, 2)), cutoff=T + timedelta(hours=9))
    early = replace(cand(2, 11, promised=date(2026, 6, 9)), cutoff=T + timedelta(hours=1))
    none = cand(3, 12, promised=date(2026, 6, 1))
    urgent = cand(4, 13, prio=1)
    chosen = plan_wave([late, early, none, urgent], max_orders=9, max_lines=9)
    assert [c.order_id for c in chosen] == [13, 11, 10, 12]


def test_the_stricter_shelf_life_rule_wins():
    from warehouse.policy.picking import effective_min_shelf_life

    assert effective_min_shelf_life(30, None) == 30
    assert effective_min_shelf_life(30, 10) == 30
    assert effective_min_shelf_life(30, 45) == 45
    assert effective_min_shelf_life(0, 0) == 0
