"""Pure checks of what an operator scanned against what a task asks for — the one scan check.

The scan screens use the per-field checks for immediate feedback; the services (pick, transfer pick and
pick-face refill confirmations) call :func:`confirmation_problems` with the same rules when the task is
confirmed, so a page, a scanner calling the API and a service never disagree about a scan."""

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


@dataclass(frozen=True)
class ScanProblem:
    field: str
    code: str
    message: str


def confirmation_problems(
    *,
    quantity,
    maximum: int,
    location_code: str,
    expected_location: str,
    item_sku: str = "",
    expected_sku: str,
    lot_number: str = "",
    expected_lot: str = "",
    what: str = "picked",
) -> list[ScanProblem]:
    """What is wrong with a task confirmation (quantity 0..maximum, the task's location, item and lot), in
    the order an operator would fix it; empty when everything matches. An empty ``item_sku`` is not checked
    (the API may confirm by location and lot alone)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= maximum:
        return [ScanProblem("quantity", "invalid", f"Give the {what} quantity, 0 to {maximum}.")]
    if location_code != expected_location:
        return [
            ScanProblem(
                "location",
                "wrong_location",
                f"Wrong location: scanned {location_code!r}, the task is at {expected_location}.",
            )
        ]
    if item_sku and item_sku != expected_sku:
        return [ScanProblem("item", "wrong_item", f"Wrong item: scanned {item_sku!r}, the task is for {expected_sku}.")]
    if expected_lot and (lot_number or "") != expected_lot:
        return [
            ScanProblem("lot", "wrong_lot", f"Wrong lot: scanned {lot_number!r}, the task names lot {expected_lot}.")
        ]
    return []
