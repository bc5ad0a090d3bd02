"""What a scanned code says about an item: a SKU, a GTIN of the item or of one of its units, or a GS1-128 label
(GTIN, lot, expiry, count). The one reading of item scans: the scan screens (``warehouse.policy.scan``, which
re-exports these), the scanner endpoints of the API (``inventory.api.scanning``) and the count API use it,
so a page and a scanner never read a label differently.

Pure functions; no Django."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from . import gs1
from .barcodes import clean_gtin, display_gtin


def normalise(scanned: str) -> str:
    """A keyboard-wedge scanner may add spaces or a trailing control character. The GS character (FNC1 in a
    GS1-128 label) is kept: it separates the label's fields."""
    return "".join(ch for ch in (scanned or "") if ch.isprintable() or ch == gs1.GS).strip().strip(gs1.GS)


@dataclass(frozen=True)
class ScannedLabel:
    """A scanned code read as a barcode: a GTIN alone, or a GS1-128 label with GTIN, lot, expiry and count."""

    raw: str
    gtin: str = ""  # GTIN-14
    lot: str = ""
    expiry: dt.date | None = None
    count: int | None = None
    sscc: str = ""
    is_gs1: bool = False
    error: str = ""

    @property
    def shown(self) -> str:
        """The scan as a person reads it (GS separators as spaces)."""
        return self.raw.replace(gs1.GS, " ")

    @property
    def is_barcode(self) -> bool:
        """A GS1 label (well formed or not) or a GTIN with a valid check digit: not a SKU typed or scanned."""
        return self.is_gs1 or bool(self.gtin)


def read_label(scanned: str) -> ScannedLabel:
    value = normalise(scanned)
    if gs1.looks_like_gs1(value):
        try:
            label = gs1.parse(value)
        except gs1.GS1Error as exc:
            return ScannedLabel(raw=value, is_gs1=True, error=f"Not a valid GS1 label: {exc}")
        return ScannedLabel(
            raw=value,
            gtin=label.item_gtin,
            lot=label.lot,
            expiry=label.expiry or label.best_before,
            count=label.count,
            sscc=label.sscc,
            is_gs1=True,
        )
    if value.isdigit():
        result = clean_gtin(value)
        if result.ok:
            return ScannedLabel(raw=value, gtin=result.gtin14)
    return ScannedLabel(raw=value)


def label_fill(label: ScannedLabel, *, factor: int) -> dict:
    """The fields a GS1 label fills: its lot, its expiry, and its quantity in base units (count x the factor of
    the unit its GTIN labels; one unit without a count)."""
    if not label.is_gs1 or label.error:
        return {}
    fill: dict = {"quantity": (label.count if label.count is not None else 1) * factor}
    if label.lot:
        fill["lot"] = label.lot
    if label.expiry:
        fill["expiry"] = label.expiry.isoformat()
    return fill


def lot_from_scan(scanned: str) -> str:
    """The lot number a scan gives: the (10) of a GS1-128 label, else the scanned text."""
    label = read_label(scanned)
    return label.lot if label.is_gs1 and not label.error and label.lot else normalise(scanned)


@dataclass(frozen=True)
class ItemScan:
    """What an item scan gave, for a confirmation: ``sku`` the task's SKU when the scan is the item (its SKU or
    one of its barcodes), else what was scanned; ``factor`` base units in one of what was scanned (a case's
    GTIN: 12); ``lot``, ``expiry`` and ``quantity`` (base units) what a GS1 label carries. ``problem`` set: the
    scan is refused (``field``, ``code``, ``message``); ``barcode`` tells a barcode from a SKU."""

    sku: str = ""
    factor: int = 1
    lot: str = ""
    expiry: dt.date | None = None
    quantity: int | None = None
    barcode: bool = False
    field: str = ""
    code: str = ""
    message: str = ""

    @property
    def problem(self) -> bool:
        return bool(self.code)


def item_scan(
    scanned: str,
    *,
    sku: str,
    gtins: Mapping[str, int],
    lot: str = "",
    task_lot: str = "",
    owner_of: Mapping[str, str] | None = None,
) -> ItemScan:
    """Read ``scanned`` as the item ``sku`` (``gtins``: its GTIN-14s -> base units in what each labels). ``lot``
    is the lot given with the scan (a lot field), ``task_lot`` the lot the task or count line names; a label's
    lot must agree with both. ``owner_of`` (GTIN-14 -> SKU) names the item a wrong barcode belongs to.

    Nothing scanned: an empty ``ItemScan``. A text that is not a barcode and not ``sku`` is returned as scanned
    (``barcode`` False, problem ``wrong_item``) for the caller to refuse as a wrong SKU."""
    value = normalise(scanned)
    if not value:
        return ItemScan()
    if value == sku:
        return ItemScan(sku=sku)
    label = read_label(value)
    if label.error:
        return ItemScan(
            sku=value,
            barcode=True,
            field="item",
            code="bad_label",
            message=f"{label.error.rstrip('.')} (scanned {label.shown}).",
        )
    if not label.is_barcode:
        return ItemScan(
            sku=value,
            field="item",
            code="wrong_item",
            message=f"Wrong item: scanned {value!r}, the task is for {sku}.",
        )
    if not label.gtin:
        return ItemScan(
            sku=value,
            barcode=True,
            field="item",
            code="not_an_item_label",
            message=f"Scanned {label.shown}: a GS1 label without an item GTIN (01), the task is for {sku}.",
        )
    if label.gtin not in gtins:
        owner = (owner_of or {}).get(label.gtin)
        whose = f", the barcode of {owner}" if owner else ", not a barcode of this item"
        return ItemScan(
            sku=value,
            barcode=True,
            field="item",
            code="wrong_item",
            message=f"Wrong item: scanned {label.shown} (GTIN {display_gtin(label.gtin)}{whose}); the task is for "
            f"{sku}.",
        )
    factor = gtins[label.gtin]
    for field, expected, code in (("lot", lot, "lot_mismatch"), ("item", task_lot, "wrong_lot")):
        if expected and label.lot and label.lot != expected:
            return ItemScan(
                sku=sku,
                factor=factor,
                barcode=True,
                field=field,
                code=code,
                message=f"Wrong lot: the label {label.shown} is lot {label.lot}, "
                + (f"the lot given is {expected}." if field == "lot" else f"the task names lot {expected}."),
            )
    fill = label_fill(label, factor=factor)
    return ItemScan(
        sku=sku,
        factor=factor,
        lot=label.lot,
        expiry=label.expiry,
        quantity=fill.get("quantity"),
        barcode=True,
    )
