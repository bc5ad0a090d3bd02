"""Receiving in the browser: the forms of the desktop receive page and the scan-receive screen, the scan checks
and turning what they hold into the ``lines`` that ``warehouse.services.receive`` takes (the same the API sends).

Nothing here decides a receiving rule: over-receipt, unexpected items, damaged units, lots and expiry dates are the
service's to check, and its refusals are shown in its words. The forms only check the shape of what was typed
(whole numbers, dates) and read a scanned barcode or GS1-128 label."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django import forms

from core.errors import DomainError
from inventory.models import Item
from inventory.selectors import barcode_for_gtin
from warehouse.policy import scan
from warehouse.policy.scan import ScanCheck, ScannedLabel

from .scan_forms import ScanDateField, ScanField, ScanForm, ScanIntegerField
from .workspace import field_errors

_LINE_ERROR = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
#: the service's field names -> the forms' field names
SERVICE_FIELDS = {
    "item": "item",
    "quantity": "quantity",
    "damaged_quantity": "damaged",
    "lot": "lot",
    "expiry_date": "expiry",
}
MAX_LINES = 500
LOT_LENGTH = 60
#: the scan-receive screen's scanned fields
SCAN_FIELDS = ("item", "quantity", "damaged", "lot", "expiry")


# --- the desktop receive page -----------------------------------------------------------------------------------


class ReceiveLineForm(forms.Form):
    """One line of a delivery: good and damaged units (base units), lot and expiry for a lot-tracked item."""

    item = forms.CharField(max_length=40, required=False)
    quantity = forms.IntegerField(min_value=0, max_value=1_000_000_000, required=False)
    damaged = forms.IntegerField(min_value=0, max_value=1_000_000_000, required=False)
    lot = forms.CharField(max_length=LOT_LENGTH, required=False)
    expiry = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def service_line(self) -> dict | None:
        """The line for ``receive``; None when the row receives nothing (left at 0 or blank)."""
        data = self.cleaned_data
        item = (data.get("item") or "").strip()
        good, damaged = data.get("quantity") or 0, data.get("damaged") or 0
        if not item or (good + damaged == 0 and self.initial.get("item")):
            return None  # an empty row, or a line of the order that did not come
        return {
            "item": item,
            "quantity": good,
            "damaged_quantity": damaged,
            "lot": (data.get("lot") or "").strip(),
            "expiry_date": data.get("expiry"),
        }


ReceiveLineFormSet = forms.formset_factory(
    ReceiveLineForm, extra=0, max_num=MAX_LINES, absolute_max=MAX_LINES, validate_max=True
)


class ReceiveSourceForm(forms.Form):
    """What the desktop receive page's rows start from: the PO's open lines or its advance ship notice
    (``source=asn``); anything else is the PO."""

    PO, ASN = "po", "asn"
    source = forms.ChoiceField(choices=((PO, "Purchase order"), (ASN, "Ship notice")), required=False)

    def source_name(self) -> str:
        return self.ASN if self.is_valid() and self.cleaned_data["source"] == self.ASN else self.PO


class ReceiveHeaderForm(forms.Form):
    final = forms.BooleanField(required=False, initial=True, label="Delivery complete: what is missing is short")
    note = forms.CharField(max_length=2000, required=False)
    #: the PO's last change when the form was drawn: a post against a PO that changed since is refused
    seen = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)


def service_lines(formset) -> tuple[list[dict], list[int]]:
    """The formset's lines for ``receive`` and, for each, the index of the form it came from."""
    lines, rows = [], []
    for index, form in enumerate(formset.forms):
        line = form.service_line()
        if line is not None:
            lines.append(line)
            rows.append(index)
    return lines, rows


def refusal_to_forms(exc: DomainError, forms_by_line: list, fallback) -> list[str]:
    """Put a service refusal's ``lines[i].field`` errors on the form line ``i`` came from; return the messages
    that name no line (shown above the form). ``fallback`` is the form for errors of a line that is not known."""
    general: list[str] = []
    for name, msgs in field_errors(exc).items():
        match = _LINE_ERROR.match(name)
        if match and int(match.group(1)) < len(forms_by_line):
            form = forms_by_line[int(match.group(1))]
            field = SERVICE_FIELDS.get(match.group(2))
            for msg in msgs:
                form.add_error(field if field in form.fields else None, msg)
        elif name in SERVICE_FIELDS and fallback is not None:
            field = SERVICE_FIELDS[name]
            for msg in msgs:
                fallback.add_error(field if field in fallback.fields else None, msg)
        else:
            general.extend(msgs)
    return general


# --- scanning ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScannedItem:
    """What an item scan names: the item (None when nothing matches), the base units in one of what was scanned,
    the label as read, and an error to show."""

    item: Item | None
    factor: int = 1
    label: ScannedLabel | None = None
    error: str = ""

    @property
    def fill(self) -> dict:
        return scan.label_fill(self.label, factor=self.factor) if self.label is not None else {}


def resolve_item(scanned: str, *, ordered: dict[str, Item]) -> ScannedItem:
    """The item a scan names: a SKU of the order (or any SKU), a GTIN of an item or of one of its units, or a
    GS1-128 label carrying one. ``ordered`` maps the order's SKUs to their items."""
    value = scan.normalise(scanned)
    if not value:
        return ScannedItem(None, error="Scan the item label.")
    if value in ordered:
        return ScannedItem(ordered[value])
    label = scan.read_label(value)
    if label.error:
        return ScannedItem(None, label=label, error=label.error)
    if label.gtin:
        barcode = barcode_for_gtin(label.gtin)
        if barcode is not None:
            item = ordered.get(barcode.item.sku, barcode.item)
            return ScannedItem(item, factor=barcode.unit.factor if barcode.unit_id else 1, label=label)
        if label.is_gs1:
            return ScannedItem(None, label=label, error=f"No item has the GTIN {label.gtin}.")
    item = Item.objects.filter(sku=value).first()
    if item is not None:
        return ScannedItem(item)
    return ScannedItem(None, error=f"No item {value.replace(scan.gs1.GS, ' ')!r}.")


def check_item(found: ScannedItem, *, po_number: str, open_by_sku: dict[str, int]) -> ScanCheck:
    """Immediate feedback on an item scan: on the order (with what is still open), not on it (received as an
    unexpected item, held for inspection), or unknown."""
    if found.item is None:
        return ScanCheck(False, found.error)
    sku = found.item.sku
    per = f" ({found.factor} per unit scanned)" if found.factor > 1 else ""
    needs = ""
    if found.item.lot_tracked and not found.fill.get("lot"):
        needs = " Lot and expiry needed." if found.item.shelf_life_days else " Lot needed."
    if sku not in open_by_sku:
        return ScanCheck(
            True,
            f"{sku} is not on {po_number}: it will be received as an unexpected item and held for inspection.",
            warn=True,
            fill=found.fill,
        )
    still = open_by_sku[sku]
    return ScanCheck(True, f"Item {sku}{per} ✓ — {still} still open.{needs}", fill=found.fill)


def check_quantity(scanned: str, *, open_quantity: int | None) -> ScanCheck:
    value = scan.normalise(scanned)
    if not value.isdigit():
        return ScanCheck(False, "Enter the quantity received as a whole number of base units.")
    number = int(value)
    if open_quantity is not None and number > open_quantity:
        return ScanCheck(
            True, f"{number} is more than the {open_quantity} still open: the over-receipt rules apply.", warn=True
        )
    return ScanCheck(True, f"{number} ✓")


def check_damaged(scanned: str) -> ScanCheck:
    value = scan.normalise(scanned)
    if not value:
        return ScanCheck(True, "")
    if not value.isdigit():
        return ScanCheck(False, "Enter the damaged units as a whole number (0 when none).")
    number = int(value)
    return ScanCheck(True, f"{number} damaged: recorded as a discrepancy." if number else "None damaged ✓")


class ScanReceiveForm(ScanForm):
    """One scanned line: the item (SKU, GTIN or GS1-128 label, which fills lot, expiry and quantity left empty),
    the quantity received (base units) of which ``damaged`` arrived damaged, lot and expiry. Every field is read
    as a scan (``scan.normalise``)."""

    item = ScanField(required=True)
    quantity = ScanIntegerField(min_value=0, max_value=1_000_000_000, required=False)
    damaged = ScanIntegerField(min_value=0, max_value=1_000_000_000, required=False)
    lot = ScanField()
    expiry = ScanDateField(required=False)
    final = forms.BooleanField(required=False)

    def __init__(self, *args, ordered: dict[str, Item], **kwargs):
        self.ordered = ordered
        self.found: ScannedItem | None = None
        super().__init__(*args, **kwargs)

    def values(self) -> dict:
        """The scans as typed (normalised), for the screen to show again."""
        out = {k: scan.normalise(str(self.data.get(k, "") or "")) for k in SCAN_FIELDS}
        out["final"] = bool(self.data.get("final"))
        return out

    def clean(self):
        data = super().clean()
        if "item" not in data:
            return data
        found = resolve_item(data["item"], ordered=self.ordered)
        self.found = found
        if found.item is None:
            self.add_error("item", found.error)
            return data
        fill = found.fill
        typed_lot = scan.lot_from_scan(data.get("lot") or "")
        if fill.get("lot") and typed_lot and typed_lot != fill["lot"]:
            self.add_error("lot", f"The label is lot {fill['lot']}, not {typed_lot}.")
        data["lot"] = typed_lot or fill.get("lot", "")
        if len(data["lot"]) > LOT_LENGTH:  # as the API's serializer: a lot number has at most 60 characters
            self.add_error("lot", f"A lot number has at most {LOT_LENGTH} characters.")
        if data.get("expiry") is None and fill.get("expiry") and "expiry" not in self.errors:
            data["expiry"] = date.fromisoformat(fill["expiry"])
        if data.get("quantity") is None and "quantity" not in self.errors:
            if "quantity" in fill:
                data["quantity"] = fill["quantity"]
            else:
                self.add_error("quantity", "Enter the quantity received.")
        damaged = data.get("damaged") or 0
        if data.get("quantity") is not None and damaged > data["quantity"]:
            self.add_error("damaged", f"Only {data['quantity']} received: at most {data['quantity']} damaged.")
        data["damaged"] = damaged
        return data

    def service_line(self) -> dict:
        """The quantity received less the damaged ones is the good quantity the service takes."""
        data = self.cleaned_data
        return {
            "item": self.found.item.sku,
            "quantity": data["quantity"] - data["damaged"],
            "damaged_quantity": data["damaged"],
            "lot": data["lot"],
            "expiry_date": data.get("expiry"),
        }


class InspectLineForm(forms.Form):
    """Quality inspection of a held receipt line: units released to putaway, units rejected (as damaged or back to
    the vendor) and a note. Blank quantities are 0. The form reads whole numbers; what they may be (not negative,
    at most what is on hold) and where rejected units may go are inspect_receipt_line's rules, refused in its
    words."""

    release_quantity = forms.IntegerField(
        required=False, error_messages={"invalid": "Released: give a whole number of units."}
    )
    reject_quantity = forms.IntegerField(
        required=False, error_messages={"invalid": "Rejected: give a whole number of units."}
    )
    reject_to = forms.CharField(required=False, max_length=30)
    note = forms.CharField(required=False, max_length=500)

    def clean(self):
        data = super().clean()
        data["release_quantity"] = data.get("release_quantity") or 0
        data["reject_quantity"] = data.get("reject_quantity") or 0
        data["reject_to"] = data.get("reject_to") or "DAMAGED"
        return data
