"""Unit conversion at the edge: every stored quantity is an integer in the item's base unit."""

from __future__ import annotations

from decimal import Decimal, Inexact, InvalidOperation, localcontext

from core.validation import MAX_QUANTITY, field_error


def unit_factors(item) -> dict[str, int]:
    """Unit code -> factor for ``item`` (the base unit is always there with factor 1)."""
    factors = {item.base_unit: 1}
    units = getattr(item, "_prefetched_objects_cache", {}).get("units")
    rows = units if units is not None else item.units.all()
    for unit in rows:
        factors[unit.code.upper()] = unit.factor
    return factors


def to_base_quantity(
    item, quantity, unit: str | None = None, *, field: str = "quantity", allow_zero: bool = False
) -> int:
    """Convert ``quantity`` in ``unit`` (default: base unit) to whole base units, or raise a field error."""
    if isinstance(quantity, bool) or quantity is None:
        raise field_error(field, "Quantity must be a number.", "invalid")
    try:
        amount = Decimal(str(quantity).strip())
    except (InvalidOperation, ValueError):
        raise field_error(field, "Quantity must be a number.", "invalid")
    if not amount.is_finite():
        raise field_error(field, "Quantity must be a number.", "invalid")
    factor = 1
    if unit:
        factors = unit_factors(item)
        factor = factors.get(unit.upper())
        if factor is None:
            raise field_error(
                "unit", f"{item.sku} has no unit {unit!r}; known units: {', '.join(sorted(factors))}.", "unknown_unit"
            )
    # Bounds before any arithmetic: int() of 1e900000 alone takes half a minute, 1e999999999 * 12 overflows.
    if amount < 0:
        raise field_error(field, "Quantity must be greater than zero.", "not_positive")
    if amount > MAX_QUANTITY:
        raise field_error(field, f"Quantity must be at most {MAX_QUANTITY:,} {item.base_unit}.", "too_large")
    try:
        with localcontext() as ctx:
            ctx.traps[Inexact] = True  # rounding to 28 digits must not hide a fraction (1.000...0001 CASE)
            base = amount * factor
        whole = base == base.to_integral_value()
    except Inexact:
        whole = False  # a whole quantity up to the maximum never needs more than 28 digits
    if not whole:
        raise field_error(
            field,
            f"{quantity} {unit or item.base_unit} is not a whole number of "
            f"{item.base_unit} (1 {unit} = {factor} {item.base_unit}).",
            "not_whole",
        )
    value = int(base)
    if value < 0 or (value == 0 and not allow_zero):
        raise field_error(field, "Quantity must be greater than zero.", "not_positive")
    if value > MAX_QUANTITY:
        raise field_error(field, f"Quantity must be at most {MAX_QUANTITY:,} {item.base_unit}.", "too_large")
    return value


def in_units(quantity: int, factors: dict[str, int]) -> list[tuple[str, int]]:
    """``quantity`` base units as the fewest handling units, largest first: 38 with CASE=12 -> [(CASE, 3), (EA, 2)]
    (what a picker takes off the shelf). The base unit (factor 1) takes the rest; zero is [(base, 0)]."""
    base = next((code for code, factor in factors.items() if factor == 1), "EA")
    left = int(quantity)
    parts: list[tuple[str, int]] = []
    for code, factor in sorted(factors.items(), key=lambda kv: (-kv[1], kv[0])):
        if factor <= 1 or left < factor:
            continue
        count, left = divmod(left, factor)
        parts.append((code, count))
    if left or not parts:
        parts.append((base, left))
    return parts


def in_units_text(quantity: int, factors: dict[str, int]) -> str:
    """``in_units`` as text: '3 CASE + 2 EA'."""
    return " + ".join(f"{count} {code}" for code, count in in_units(quantity, factors))
