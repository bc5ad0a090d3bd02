"""The cycle counting policy as pure functions (no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from inventory.policy.counting import (
    Balance,
    LocationDue,
    beyond_tolerance,
    choose_scheduled,
    daily_quota,
    gain_status,
    location_class,
    needs_approval,
    split_loss,
    variance_value,
)

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
FREQ = {"A": 30, "B": 90, "C": 365}


def test_daily_quota_spreads_a_class_over_its_frequency():
    assert daily_quota(300, 30) == 10
    assert daily_quota(31, 30) == 2  # rounded up: everything is counted within the frequency
    assert daily_quota(1, 365) == 1
    assert daily_quota(0, 30) == 0


def test_schedule_takes_each_class_quota_of_least_recently_counted_locations():
    a = [LocationDue(i, "A", NOW - timedelta(days=i)) for i in range(1, 61)]  # 60 A locations: 2 a day
    b = [LocationDue(100 + i, "B", None if i < 3 else NOW - timedelta(days=i)) for i in range(10)]  # 1 a day
    chosen = choose_scheduled([*a, *b], FREQ)
    assert chosen[:2] == [60, 59]  # the two A locations counted longest ago
    assert chosen[2:] == [100]  # never counted comes first, lowest id breaks the tie


def test_schedule_counts_every_location_within_its_frequency_when_run_daily():
    locations = {i: LocationDue(i, "A", None) for i in range(1, 46)}  # 45 A locations, 30 days: 2 a day
    day = NOW
    counted_on: dict[int, list[int]] = {i: [] for i in locations}
    for d in range(60):
        for loc in choose_scheduled(locations.values(), FREQ):
            counted_on[loc].append(d)
            locations[loc] = LocationDue(loc, "A", day)
        day += timedelta(days=1)
    for days in counted_on.values():
        assert days and days[0] < 30  # each one within the first frequency window
        assert all(b - a <= 30 for a, b in zip(days, days[1:], strict=False))


def test_schedule_skips_excluded_locations_but_keeps_the_class_size():
    a = [LocationDue(i, "A", None) for i in range(1, 31)]  # quota 1
    assert choose_scheduled(a, FREQ, exclude={1}) == [2]


def test_location_class_is_the_highest_class_it_holds():
    assert location_class({"C", "A"}) == "A"
    assert location_class({"C", "B"}) == "B"
    assert location_class(set()) == "C"


@pytest.mark.parametrize(
    ("expected", "counted", "tolerance", "beyond"),
    [
        (100, 100, "0", False),
        (100, 98, "2", False),
        (100, 97, "2", True),
        (100, 103, "2", True),
        (0, 1, "100", True),  # found where nothing was expected
        (0, 0, "0", False),
        (50, 0, "100", False),
    ],
)
def test_tolerance_is_a_percentage_of_the_expected_quantity(expected, counted, tolerance, beyond):
    assert beyond_tolerance(expected=expected, counted=counted, tolerance_percent=Decimal(tolerance)) is beyond


def test_value_and_threshold():
    assert variance_value(-3, Decimal("10.50")) == Decimal("31.50")
    assert needs_approval(Decimal("1000.01"), Decimal("1000")) and not needs_approval(Decimal("1000"), Decimal("1000"))


def test_loss_is_taken_from_doubtful_stock_first_and_never_from_reserved_units():
    balances = [Balance("AVAILABLE", 10, 4), Balance("HOLD", 3, 0), Balance("DAMAGED", 1, 0)]
    assert split_loss(2, balances) == [("HOLD", 2)]
    assert split_loss(7, balances) == [("HOLD", 3), ("DAMAGED", 1), ("AVAILABLE", 3)]
    assert split_loss(10, balances) == [("HOLD", 3), ("DAMAGED", 1), ("AVAILABLE", 6)]
    with pytest.raises(ValueError):
        split_loss(11, balances)  # 4 available units are reserved for a pick


def test_found_units_get_the_status_the_location_holds():
    assert gain_status("STORAGE") == "AVAILABLE"
    assert gain_status("PICK") == "AVAILABLE"
    assert gain_status("QUALITY") == "HOLD"
    assert gain_status("DAMAGED") == "DAMAGED"
    assert gain_status("RECEIVING") == "RECEIVED"
