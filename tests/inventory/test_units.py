"""Unit conversion at the edge: every stored quantity is a whole number of base units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationFailed
from inventory.units import to_base_quantity, unit_factors
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cased(db):
    return ItemFactory(sku="CASED", units={"CASE": 12, "PALLET": 480})


def _code(exc_info) -> tuple[str, str]:
    error = exc_info.value.errors[0]
    return error["field"], error["code"]


def test_an_item_knows_its_units_with_the_base_unit_at_factor_one(cased):
    assert unit_factors(cased) == {"EA": 1, "CASE": 12, "PALLET": 480}


@pytest.mark.parametrize(
    ("quantity", "unit", "expected"),
    [
        (3, None, 3),
        (3, "EA", 3),
        (2, "CASE", 24),
        ("1.5", "CASE", 18),
        (1.5, "CASE", 18),
        (Decimal("0.25"), "PALLET", 120),
        ("2", "case", 24),
        (" 7 ", None, 7),
        ("1e3", "EA", 1000),
    ],
)
def test_quantities_in_any_unit_of_the_item_convert_to_whole_base_units(cased, quantity, unit, expected):
    assert to_base_quantity(cased, quantity, unit) == expected


@pytest.mark.parametrize(("quantity", "unit"), [("0.5", "EA"), (0.5, None), ("1.01", "CASE"), ("0.001", "PALLET")])
def test_a_quantity_that_is_not_a_whole_number_of_base_units_is_refused(cased, quantity, unit):
    with pytest.raises(ValidationFailed, match="not a whole number") as exc_info:
        to_base_quantity(cased, quantity, unit)
    assert _code(exc_info) == ("quantity", "not_whole")


def test_a_fraction_too_small_to_see_after_rounding_is_still_refused(cased):
    with pytest.raises(ValidationFailed) as exc_info:
        to_base_quantity(cased, "1.0000000000000000000000000001", "CASE")
    assert _code(exc_info) == ("quantity", "not_whole")


def test_an_unknown_unit_is_refused_naming_the_known_ones(cased):
    with pytest.raises(ValidationFailed, match="CASE, EA, PALLET") as exc_info:
        to_base_quantity(cased, 1, "BOX")
    assert _code(exc_info) == ("unit", "unknown_unit")


@pytest.mark.parametrize("quantity", [0, "0", "0.0"])
def test_zero_is_refused_unless_allowed(cased, quantity):
    with pytest.raises(ValidationFailed) as exc_info:
        to_base_quantity(cased, quantity, "CASE")
    assert _code(exc_info) == ("quantity", "not_positive")
    assert to_base_quantity(cased, quantity, "CASE", allow_zero=True) == 0


@pytest.mark.parametrize("quantity", [-1, "-2", "-0.5"])
def test_a_negative_quantity_is_refused(cased, quantity):
    with pytest.raises(ValidationFailed):
        to_base_quantity(cased, quantity, "CASE", allow_zero=True)


@pytest.mark.parametrize("quantity", ["abc", "", None, True, "NaN", "Infinity", "-inf", [1], {"q": 1}])
def test_something_that_is_not_a_number_is_refused(cased, quantity):
    with pytest.raises(ValidationFailed) as exc_info:
        to_base_quantity(cased, quantity)
    assert _code(exc_info) == ("quantity", "invalid")


@pytest.mark.parametrize(("quantity", "unit"), [(1_000_000_001, None), (2_083_334, "PALLET"), ("1e12", None)])
def test_a_quantity_above_a_billion_base_units_is_refused(cased, quantity, unit):
    with pytest.raises(ValidationFailed) as exc_info:
        to_base_quantity(cased, quantity, unit)
    assert _code(exc_info) == ("quantity", "too_large")


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        ("1e900000", "too_large"),
        ("1e999999999", "too_large"),
        ("-1e999999999", "not_positive"),
        ("1e-999999999", "not_whole"),
    ],
)
def test_an_absurd_exponent_is_refused_at_once(cased, quantity, code):
    with pytest.raises(ValidationFailed) as exc_info:
        to_base_quantity(cased, quantity, "CASE")  # int(Decimal("1e900000")) alone takes half a minute
    assert _code(exc_info) == ("quantity", code)


def test_the_field_name_of_the_error_can_be_chosen(cased):
    with pytest.raises(ValidationFailed) as exc_info:
        to_base_quantity(cased, "0.5", field="lines[2].quantity")
    assert _code(exc_info) == ("lines[2].quantity", "not_whole")


@pytest.mark.parametrize(
    "quantity, factors, expected",
    [
        (38, {"EA": 1, "CASE": 12}, [("CASE", 3), ("EA", 2)]),
        (36, {"EA": 1, "CASE": 12}, [("CASE", 3)]),
        (5, {"EA": 1, "CASE": 12}, [("EA", 5)]),
        (1000, {"EA": 1, "CASE": 12, "PALLET": 480}, [("PALLET", 2), ("CASE", 3), ("EA", 4)]),
        (0, {"EA": 1, "CASE": 12}, [("EA", 0)]),
        (7, {"KG": 1}, [("KG", 7)]),
    ],
)
def test_a_quantity_reads_as_the_fewest_handling_units_largest_first(quantity, factors, expected):
    from inventory.units import in_units, in_units_text

    assert in_units(quantity, factors) == expected
    assert sum(count * factors[code] for code, count in in_units(quantity, factors)) == quantity
    assert in_units_text(38, {"EA": 1, "CASE": 12}) == "3 CASE + 2 EA"
