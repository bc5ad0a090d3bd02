"""The forms of the scan screens (pick, refill, putaway, count, receive, move): what an operator scanned or typed.

Every scanned field is read through ``scan.normalise`` (a keyboard-wedge scanner adds spaces or control
characters; the GS of a GS1-128 label is kept), in the fields' ``to_python``, so a form's ``cleaned_data`` is what
the scan policy reads. The forms check the shape of a scan and run the same per-field checks as the screens'
immediate feedback (``warehouse.policy.scan``, ``web.count_scan``); the task rules (quantity range, location,
item, lot) stay the confirming services', refused in their words. A refused scan that the adoption records count
is left in ``refusals`` (field -> (check, scanned)) for the view to record.
"""

from __future__ import annotations

from django import forms

from inventory.models import Location
from inventory.selectors import gtin_factors
from warehouse.models import PickTask
from warehouse.policy import scan
from warehouse.services.putaway import OVERRIDE_REASONS

from . import count_scan as count_checks

#: the longest scan read (a GS1-128 label with several fields fits well within it)
SCAN_LENGTH = 200
TOO_LONG = "Too long for a scan: at most %(limit_value)d characters."


class ScanField(forms.CharField):
    """A scanned or typed value, normalised as the scan policy reads it; optional (the screens say which scan is
    missing in their own words)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", SCAN_LENGTH)
        kwargs.setdefault("strip", False)
        kwargs["error_messages"] = {"max_length": TOO_LONG, **kwargs.get("error_messages", {})}
        super().__init__(**kwargs)

    def to_python(self, value):
        return scan.normalise(super().to_python(value))


class ScanIntegerField(forms.IntegerField):
    """A whole number scanned or typed (normalised first)."""

    def to_python(self, value):
        return super().to_python(scan.normalise(value) if isinstance(value, str) else value)


class ScanDateField(forms.DateField):
    def to_python(self, value):
        return super().to_python(scan.normalise(value) if isinstance(value, str) else value)


class ScanForm(forms.Form):
    """Common to the scan screens: the values to show again and the errors as the templates read them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: field -> (the failed check, what was scanned), for the adoption records
        self.refusals: dict[str, tuple[scan.ScanCheck, str]] = {}

    def refuse(self, field: str, check: scan.ScanCheck, scanned: str = "") -> None:
        self.add_error(field, check.message)
        self.refusals[field] = (check, scanned)

    def values(self) -> dict:
        """What the screen shows again: the scans as normalised, with what cleaning filled in (a label's lot and
        quantity)."""
        out = {name: scan.normalise(str(self.data.get(name, "") or "")) for name in self.fields}
        cleaned = getattr(self, "cleaned_data", {}) or {}
        out.update({k: v for k, v in cleaned.items() if k in out and isinstance(v, str)})
        return out

    def error_dict(self) -> dict[str, list[str]]:
        """field -> messages; errors of no field under ``form``."""
        errors = {name: list(msgs) for name, msgs in self.errors.items()}
        if "__all__" in errors:
            errors["form"] = errors.pop("__all__")
        return errors

    def add_refusal(self, errors: dict[str, list[str]]) -> None:
        """A service's refusal (``field_errors``) on the fields it names (the form as a whole otherwise)."""
        for name, msgs in errors.items():
            for msg in msgs:
                self.add_error(name if name in self.fields else None, msg)


def fill_from_label(data: dict, gtins: dict[str, int]) -> dict[str, str]:
    """A GS1-128 label scanned into the item field fills the lot and the quantity the operator left empty; a lot
    typed differently from the label's is an error on the lot (returned: field -> message)."""
    label = scan.read_label(data.get("item", ""))
    if not label.is_gs1 or label.error or label.gtin not in gtins:
        return {}
    fill = scan.label_fill(label, factor=gtins[label.gtin])
    if fill.get("lot"):
        typed = scan.lot_from_scan(data.get("lot", ""))
        if typed and typed != fill["lot"]:
            return {"lot": f"The label is lot {fill['lot']}, not {typed}."}
        data["lot"] = fill["lot"]
    if not data.get("quantity") and "quantity" in fill:
        data["quantity"] = str(fill["quantity"])
    return {}


# --- task screens: pick and refill ------------------------------------------------------------------------------


class TaskScanForm(ScanForm):
    """A pick or refill confirmation: location, item (SKU, GTIN or GS1-128 label, which fills lot and quantity),
    lot, quantity. The item scan is required; the rest is the confirming service's to check."""

    location = ScanField()
    item = ScanField()
    lot = ScanField()
    quantity = ScanField(max_length=40)

    def __init__(self, *args, task, **kwargs):
        self.task = task
        self.gtins = gtin_factors(task.item)
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if "item" in data and not data["item"]:
            self.add_error("item", "Scan the item label.")
        if "item" in data:
            for field, message in fill_from_label(data, self.gtins).items():
                self.add_error(field, message)
        if "lot" in data:
            data["lot"] = scan.lot_from_scan(data["lot"])
        return data

    def service_kwargs(self) -> dict:
        """What the confirming service takes: the quantity (an int, or the text it refuses in its words), the
        location, lot and the SKU the item scan names."""
        d = self.cleaned_data
        return {
            "quantity": scan.as_quantity(d["quantity"]),
            "location_code": d["location"],
            "lot_number": d["lot"],
            "item_sku": scan.scanned_sku(scanned=d["item"], sku=self.task.item.sku, gtins=self.gtins),
        }


class PickScanForm(TaskScanForm):
    """A pick of fewer units than asked is confirmed only with a reason, once the picker has seen the shortfall:
    the first post of a short quantity comes back asking for both (nothing is written)."""

    short_reason = forms.ChoiceField(
        choices=[("", "—"), *PickTask.ShortReason.choices],
        required=False,
        error_messages={"invalid_choice": "Choose why it is short from the list."},
    )
    confirm_short = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        task = self.task
        quantity = scan.as_quantity(data.get("quantity", ""))
        if not isinstance(quantity, int) or quantity >= task.quantity or task.status != PickTask.Status.OPEN:
            data["short_reason"] = ""
            return data
        data["short"] = task.quantity - quantity
        if data.get("confirm_short") and data.get("short_reason"):
            return data
        message = f"Only {quantity} of {task.quantity}: {task.quantity - quantity} short. Check the location, then"
        if data.get("confirm_short"):
            self.add_error("short_reason", f"{message} choose why it is short.")
        else:
            self.add_error("short_reason", f"{message} choose why and confirm the short pick.")
        return data

    def values(self) -> dict:
        out = super().values()
        out.pop("confirm_short", None)
        cleaned = getattr(self, "cleaned_data", {}) or {}
        if "short" in cleaned:
            out["short"] = cleaned["short"]
        elif self.is_bound and "short_reason" in self.errors:
            quantity = scan.as_quantity(out.get("quantity", ""))
            if isinstance(quantity, int) and quantity < self.task.quantity:
                out["short"] = self.task.quantity - quantity
        return out


# --- putaway ----------------------------------------------------------------------------------------------------


class PutawayScanForm(ScanForm):
    """A putaway confirmation: the item scanned (checked against the task's, a label fills the quantity), the
    location (one of the task's site), the quantity and, away from the suggested location, the reason."""

    item = ScanField()
    location = ScanField(max_length=40)
    quantity = ScanField(max_length=40)
    reason_code = forms.ChoiceField(
        choices=[("", "—"), *((r, r) for r in OVERRIDE_REASONS)],
        required=False,
        error_messages={"invalid_choice": "Choose a reason from the list."},
    )

    def __init__(self, *args, task, **kwargs):
        self.task = task
        self.gtins = gtin_factors(task.item)
        self.location_obj: Location | None = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        task = self.task
        data.setdefault("lot", "")
        if "item" in data:
            for field, message in fill_from_label(data, self.gtins).items():
                self.add_error(field if field in self.fields else "item", message)
            check = scan.check_item(
                sku=task.item.sku, lot=task.lot.number if task.lot_id else "", scanned=data["item"], gtins=self.gtins
            )
            if not check.ok:
                self.refuse("item", check, data["item"])
        if "location" in data:
            code = data["location"]
            self.location_obj = Location.objects.filter(site_id=task.site_id, code=code).first()
            if self.location_obj is None:
                check = scan.ScanCheck(False, f"No location {code or '(nothing scanned)'} at this site.")
                self.refuse("location", check, code)
        return data


# --- count ------------------------------------------------------------------------------------------------------


class CountScanForm(ScanForm):
    """A count entry: the location (one of the count's, still to count), the item (or its lot label), the lot and
    the counted quantity (a whole number; blind: never checked against the system's)."""

    location = ScanField(max_length=40)
    item = ScanField()
    lot = ScanField()
    quantity = ScanField(max_length=40)

    def __init__(self, *args, count, todo: count_checks.Todo, on_count: set[str], **kwargs):
        self.count, self.todo, self.on_count = count, todo, on_count
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if "location" in data:
            check = count_checks.check_location(
                todo=self.todo, on_count=self.on_count, scanned=data["location"], count_number=self.count.number
            )
            # a counted location: the service answers for the line
            if not check.ok and data["location"] not in self.on_count:
                self.refuse("location", check, data["location"])
        if "item" in data and not data["item"]:
            self.add_error("item", "Scan the item label.")
        if "quantity" in data:
            check = count_checks.check_quantity(scanned=data["quantity"])
            if not check.ok:
                self.add_error("quantity", check.message)
            else:
                data["counted"] = int(data["quantity"])
        return data
