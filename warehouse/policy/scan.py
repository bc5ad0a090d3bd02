"""Pure checks of what an operator scanned against what a task asks for — the one scan check.

The scan screens use the per-field checks for immediate feedback; the services (pick, transfer pick and
pick-face refill confirmations) call :func:`confirmation_problems` with the same rules when the task is
confirmed, so a page, a scanner calling the API and a service never disagree about a scan. Reading a scanned
code as a barcode (GTIN, GS1-128 label) is ``inventory.policy.scanning``'s, re-exported here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from inventory.policy import gs1
from inventory.policy.scanning import (  # noqa: F401 (re-exported for the scan screens)
    ScannedLabel,
    label_fill,
    lot_from_scan,
    normalise,
    read_label,
)


@dataclass(frozen=True)
class ScanCheck:
    ok: bool
    message: str
    warn: bool = False
    #: what a GS1-128 label filled in for the next fields: lot, expiry (ISO date), quantity (base units)
    fill: dict = field(default_factory=dict)


def check_location(*, expected: str, scanned: str) -> ScanCheck:
    value = normalise(scanned)
    if not value:
        return ScanCheck(False, "Scan the location label.")
    if value != expected:
        return ScanCheck(False, f"Wrong location: scanned {value}, go to {expected}.")
    return ScanCheck(True, f"Location {value} ✓")


def check_item(
    *, sku: str, lot: str = "", scanned: str, gtins: Mapping[str, int] | None = None, task_lot: str | None = None
) -> ScanCheck:
    """The item label (SKU), for a lot-tracked task the lot label, or a barcode of the item: a GTIN of the item
    or of one of its units (``gtins``: GTIN-14 -> base units in what it labels), alone or in a GS1-128 label,
    whose lot must then be the task's (``task_lot``, default ``lot``) and which fills lot, expiry and quantity."""
    value = normalise(scanned)
    if not value:
        return ScanCheck(False, "Scan the item label.")
    if value == sku or (lot and value == lot):
        return ScanCheck(True, f"Item {sku} ✓")
    label = read_label(value)
    if label.error:
        return ScanCheck(False, label.error)
    gtins = gtins or {}
    if label.gtin and label.gtin in gtins:
        expected_lot = lot if task_lot is None else task_lot
        if expected_lot and label.lot and label.lot != expected_lot:
            return ScanCheck(False, f"Wrong lot: the label is lot {label.lot}, the task names lot {expected_lot}.")
        fill = label_fill(label, factor=gtins[label.gtin])
        what = f" ({gtins[label.gtin]} per unit scanned)" if gtins[label.gtin] > 1 else ""
        return ScanCheck(True, f"Item {sku}{what} ✓", fill=fill)
    shown = label.raw.replace(gs1.GS, " ")
    return ScanCheck(False, f"Wrong item: scanned {shown}, the task is for {sku}.")


def scanned_sku(*, scanned: str, sku: str, gtins: Mapping[str, int]) -> str:
    """The SKU a scan names for the task's item: ``sku`` when it is one of the item's barcodes (or a GS1 label of
    it), else what was scanned, for the confirmation's item check to refuse in its words."""
    value = normalise(scanned)
    label = read_label(value)
    if not label.error and label.gtin and label.gtin in gtins:
        return sku
    return value


def check_lot(*, expected: str, scanned: str) -> ScanCheck:
    value = lot_from_scan(scanned)
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
