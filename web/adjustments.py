"""The form of the adjustments page: a stock adjustment requested by a supervisor (item scanned or typed, its lot,
the location, the units' status, add or remove how many, why). It only checks the shape of what was typed and
reads the item the one way the API does; whether it applies at once or waits for an approver, and every other rule,
is ``inventory.services.adjustments.adjust_stock``'s."""

from __future__ import annotations

from django import forms

from inventory.models import Adjustment

from .floor import STATUS_CHOICES, _ItemForm

ADD, REMOVE = "add", "remove"
DIRECTIONS = ((REMOVE, "Remove units (lost, damaged, expired…)"), (ADD, "Add units (found…)"))


class AdjustmentForm(_ItemForm):
    location = forms.CharField(max_length=40, label="Location")
    stock_status = forms.ChoiceField(choices=STATUS_CHOICES, initial="AVAILABLE", label="Status of the units")
    direction = forms.ChoiceField(choices=DIRECTIONS, label="Change")
    reason_code = forms.ChoiceField(choices=[("", "Reason…"), *Adjustment.Reason.choices], label="Reason")
    note = forms.CharField(max_length=2000, required=False)

    def clean(self):
        data = super().clean()
        data["where"] = self.location("location")
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        quantity = d["quantity"]
        return {
            "location": d["where"],
            "item": self.item_obj,
            "lot": self.lot_obj,
            "stock_status": d["stock_status"],
            "quantity_delta": quantity if d["direction"] == ADD else -quantity,
            "reason_code": d["reason_code"],
            "note": d.get("note") or "",
        }
