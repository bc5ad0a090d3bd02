"""Forms of the floor pages (issue 15): bin-to-bin move (desktop and scan screen), hold, release and lot recall.

The forms check the shape of what was typed and read a scanned item the one way the API does
(``inventory.api.scanning``, over ``inventory.policy.scanning``): a SKU, a GTIN of the item or of one of its
units (the quantity then counts that unit), or a GS1-128 label (lot, expiry and, left empty, the quantity). Every
rule (who may, how much is free, reserved, allocated, frozen sites) is the services' and their refusals are shown
in their words."""

from __future__ import annotations

from django import forms

from core.errors import DomainError
from core.validation import MAX_QUANTITY
from inventory.api.scanning import identified_item, scanned_item
from inventory.models import InventoryStatus, Item, Location
from inventory.policy.holds import HELD, HOLD_REASONS, MOVE_REASONS, RELEASE_REASONS
from inventory.services import resolve_lot
from warehouse.policy import scan

from .scan_forms import ScanField, ScanIntegerField
from .workspace import field_errors

S = InventoryStatus
STATUS_CHOICES = [(v, label) for v, label in S.choices if v != S.IN_TRANSIT]
HELD_CHOICES = [(v, label) for v, label in S.choices if v in HELD]
LOT_LENGTH = 60


def _choices(mapping: dict[str, str], blank: str | None = None) -> list[tuple[str, str]]:
    out = [(code, label) for code, label in mapping.items()]
    return [("", blank)] + out if blank is not None else out


class _ItemForm(forms.Form):
    """An item scanned or typed (SKU, GTIN, GS1-128 label), its lot and a quantity (base units, or units of a
    scanned unit's GTIN; left empty: a label's count)."""

    item = forms.CharField(max_length=200, label="Item (SKU or barcode)")
    lot = forms.CharField(max_length=200, required=False)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False)
    quantity_required = True

    def __init__(self, *args, site, **kwargs):
        self.site = site
        self.item_obj: Item | None = None
        self.lot_obj = None
        super().__init__(*args, **kwargs)

    def location(self, field: str, *, required: bool = True) -> Location | None:
        code = scan.normalise(self.cleaned_data.get(field) or "")
        if not code:
            if required:
                self.add_error(field, "Scan the location label.")
            return None
        location = Location.objects.filter(site=self.site, code=code).first()
        if location is None:
            self.add_error(field, f"No location {code} at {self.site.code}.")
        return location

    def clean(self):
        data = super().clean()
        raw = scan.normalise(data.get("item") or "")
        if not raw:
            return data
        try:
            item = identified_item(raw)
            if item is None:
                self.add_error("item", f"No item {raw!r}.")
                return data
            read = scanned_item(item, scanned=raw, quantity=data.get("quantity"), lot=data.get("lot") or "")
        except DomainError as exc:
            for name, messages in field_errors(exc).items():
                self.add_error(name if name in self.fields else "item", " ".join(messages))
            return data
        self.item_obj = item
        data["sku"] = item.sku
        data["quantity"] = read.quantity
        lot = (read.lot or "")[: LOT_LENGTH + 1]
        if len(lot) > LOT_LENGTH:
            self.add_error("lot", f"A lot number has at most {LOT_LENGTH} characters.")
            return data
        try:
            self.lot_obj = resolve_lot(item, lot or None)
        except DomainError as exc:
            self.add_error("lot", exc.message)
        if data["quantity"] is None and self.quantity_required:
            self.add_error("quantity", "Enter the quantity (or scan a label that carries a count).")
        return data


class MoveForm(_ItemForm):
    """Bin to bin: from a location to another of the site, the units keep their status."""

    from_location = forms.CharField(max_length=40, label="From location")
    to_location = forms.CharField(max_length=40, label="To location")
    status = forms.ChoiceField(choices=STATUS_CHOICES, initial=S.AVAILABLE, label="Status of the units")
    reason_code = forms.ChoiceField(choices=_choices(MOVE_REASONS, "—"), required=False, label="Reason")
    note = forms.CharField(max_length=300, required=False)

    def clean(self):
        data = super().clean()
        data["from"] = self.location("from_location")
        data["to"] = self.location("to_location")
        if data["from"] and data["to"] and data["from"].pk == data["to"].pk:
            self.add_error("to_location", "Scan another location than the one the stock is in.")
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "item": self.item_obj,
            "lot": self.lot_obj,
            "quantity": d["quantity"],
            "from_location": d["from"],
            "to_location": d["to"],
            "status": d["status"],
            "reason_code": d.get("reason_code") or "",
            "note": d.get("note") or "",
        }


class ScanMoveForm(MoveForm):
    """The move scan screen: the same move of AVAILABLE units (held stock moves on the desktop page), every field a
    scan (normalised as the scan policy reads it); no status, reason or note is posted."""

    from_location = ScanField(max_length=40, required=True, error_messages={"required": "Scan the location label."})
    to_location = ScanField(max_length=40, required=True, error_messages={"required": "Scan the location label."})
    item = ScanField(required=True, error_messages={"required": "Scan the item label."})
    lot = ScanField()
    quantity = ScanIntegerField(min_value=1, max_value=MAX_QUANTITY, required=False)
    status = None
    reason_code = None
    note = None

    def clean(self):
        data = super().clean()
        data["status"] = S.AVAILABLE
        return data

    def values(self) -> dict:
        """The scans as typed (normalised), for the screen to show again."""
        return {k: scan.normalise(str(self.data.get(k, "") or "")) for k in SCAN_MOVE_FIELDS}


SCAN_MOVE_FIELDS = ("from_location", "item", "lot", "quantity", "to_location")


class HoldForm(_ItemForm):
    """Put stock on hold: at a location or anywhere at the site; a quantity or every free unit."""

    quantity_required = False
    location = forms.CharField(max_length=40, required=False, label="Location (empty: any)")
    to_status = forms.ChoiceField(choices=HELD_CHOICES, initial=S.HOLD, label="Put on")
    reason_code = forms.ChoiceField(choices=_choices(HOLD_REASONS), label="Reason")
    note = forms.CharField(max_length=300, required=False)

    def clean(self):
        data = super().clean()
        data["where"] = self.location("location", required=False)
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "item": self.item_obj,
            "lot": self.lot_obj,
            "site": self.site,
            "location": d["where"],
            "quantity": d.get("quantity"),
            "to_status": d["to_status"],
            "reason_code": d["reason_code"],
            "note": d.get("note") or "",
        }


class ReleaseForm(forms.Form):
    """Release units of one held quant (the row of the held-stock list) back to AVAILABLE."""

    quant = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    reason_code = forms.ChoiceField(choices=_choices(RELEASE_REASONS), label="Reason")
    note = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs={"placeholder": "Note"}))


class LotSearchForm(forms.Form):
    item = forms.CharField(max_length=200, label="Item (SKU or barcode)")
    lot = forms.CharField(max_length=200, required=False, label="Lot (or scan a GS1 label into Item)")

    def found(self):
        """(item, lot) named, or None with the form's errors set."""
        if not self.is_valid():
            return None
        raw = scan.normalise(self.cleaned_data["item"])
        try:
            item = identified_item(raw)
        except DomainError as exc:
            self.add_error("item", exc.message)
            return None
        if item is None:
            self.add_error("item", f"No item {raw!r}.")
            return None
        label = scan.read_label(raw)
        number = scan.lot_from_scan(self.cleaned_data.get("lot") or "") or (label.lot if label.is_gs1 else "")
        if not number:
            self.add_error("lot", "Give the lot to recall.")
            return None
        lot = item.lots.filter(number=number).first()
        if lot is None:
            self.add_error("lot", f"{item.sku} has no lot {number!r}.")
            return None
        return item, lot


class RecallForm(forms.Form):
    item = forms.CharField(max_length=40, widget=forms.HiddenInput)
    lot = forms.CharField(max_length=LOT_LENGTH, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=300, label="Why is the lot recalled?")
    confirm = forms.BooleanField(label="Put every free unit of this lot on hold at every site I supervise")
