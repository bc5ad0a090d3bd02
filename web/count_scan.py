"""Pure checks of the count entry scan screen: what an operator scanned against what the count still asks for.

Blind counting: nothing here knows or says the expected quantity; the quantity check only checks it is a whole
number. ``todo`` maps a location code to the (sku, lot number) pairs still to count there."""

from __future__ import annotations

from warehouse.policy.scan import ScanCheck, normalise

Todo = dict[str, set[tuple[str, str]]]


def check_location(*, todo: Todo, on_count: set[str], scanned: str, count_number: str) -> ScanCheck:
    value = normalise(scanned)
    if not value:
        return ScanCheck(False, "Scan the location label.")
    if value not in on_count:
        left = ", ".join(sorted(todo)[:8]) or "none"
        return ScanCheck(False, f"{value} is not on {count_number}; locations to count: {left}.")
    if not todo.get(value):
        return ScanCheck(False, f"{value} is already counted.")
    n = len(todo[value])
    return ScanCheck(True, f"Location {value} ✓ — {n} item(s) to count here.")


def match_item(*, todo: Todo, location: str, scanned: str) -> tuple[str, str] | None:
    """The (sku, lot) pair to count at ``location`` the scan names: its SKU (one lot, or no lot) or its lot label."""
    value = normalise(scanned)
    pairs = todo.get(normalise(location), set())
    by_lot = [p for p in pairs if p[1] and p[1] == value]
    if by_lot:
        return by_lot[0]
    by_sku = [p for p in pairs if p[0] == value]
    if len(by_sku) == 1:
        return by_sku[0]
    return None


def check_item(
    *, todo: Todo, location: str, scanned: str, known_item: bool, on_count: frozenset[str] | set[str] = frozenset()
) -> ScanCheck:
    """``on_count``: the count's location codes, so that a location label scanned into the item field (the counter
    moved on while the last location was kept) is answered as such."""
    value = normalise(scanned)
    loc = normalise(location)
    if not value:
        return ScanCheck(False, "Scan the item label.")
    if not loc:
        return ScanCheck(False, "Scan the location first.")
    pair = match_item(todo=todo, location=loc, scanned=value)
    if pair is not None:
        return ScanCheck(True, f"Item {pair[0]}" + (f" lot {pair[1]}" if pair[1] else "") + " ✓")
    pairs = todo.get(loc, set())
    if any(p[0] == value for p in pairs):
        return ScanCheck(True, f"Item {value} ✓ — several lots here: scan the lot label.", warn=True)
    if not known_item and value in on_count:
        return ScanCheck(False, f"{value} is a location: press Next location, or scan it in the location field.")
    if known_item:
        return ScanCheck(True, f"{value} is not listed at {loc}: counting it records found stock.", warn=True)
    return ScanCheck(False, f"No item {value}.")


def check_quantity(*, scanned: str) -> ScanCheck:
    value = normalise(scanned)
    if not value.isdigit():
        return ScanCheck(False, "Enter the counted quantity as a whole number (0 when the location is empty).")
    return ScanCheck(True, f"{int(value)} ✓")
