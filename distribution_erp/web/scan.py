"""Pure checks of what an operator scanned against what a task asks for: immediate feedback on the scan screen.
The services check location and lot again when the task is confirmed; these only answer sooner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScanCheck:
    ok: bool
    message: str
    warn: bool = False


def normalise(scanned: str) -> str:
    """A keyboard-wedge scanner may add spaces or a trailing control character."""
    return "".join(ch for ch in (scanned or "") if ch.isprintable()).strip()


def check_location(*, expected: str, scanned: str) -> ScanCheck:
    value = normalise(scanned)
    if not value:
        return ScanCheck(False, "Scan the location label.")
    if value != expected:
        return ScanCheck(False, f"Wrong location: scanned {value}, go to {expected}.")
    return ScanCheck(True, f"Location {value} ✓")


def check_item(*, sku: str, lot: str = "", scanned: str) -> ScanCheck:
    """The item label (SKU) or, for a lot-tracked task, the lot label."""
    value = normalise(scanned)
    if not value:
        return ScanCheck(False, "Scan the item label.")
    if value == sku or (lot and value == lot):
        return ScanCheck(True, f"Item {sku} ✓")
    return ScanCheck(False, f"Wrong item: scanned {value}, the task is for {sku}.")


def check_lot(*, expected: str, scanned: str) -> ScanCheck:
    value = normalise(scanned)
    if not expected:
        return ScanCheck(True, "")
    if value != expected:
        return ScanCheck(False, f"Wrong lot: scanned {value or 'nothing'}, the task names lot {expected}.")
    return ScanCheck(True, f"Lot {value} ✓")


def check_quantity(*, scanned: str, maximum: int, allow_zero: bool) -> ScanCheck:
    value = normalise(scanned)
    if not value.isdigit():
        return ScanCheck(False, "Enter the quantity as a whole number.")
    number = int(value)
    if number > maximum or (number == 0 and not allow_zero):
        low = 0 if allow_zero else 1
        return ScanCheck(False, f"Enter {low} to {maximum}.")
    if number < maximum:
        return ScanCheck(True, f"{number} of {maximum}: the rest will be reported short.", warn=True)
    return ScanCheck(True, f"{number} ✓")


def as_quantity(raw: str):
    """An int when the operator typed digits; otherwise the raw text, which the service refuses in its words."""
    value = normalise(raw)
    return int(value) if value.isdigit() else value
