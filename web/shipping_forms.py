"""The forms of the shipping pages: pack a wave (an optional weight per shipment) and a carrier with its tracking
number (confirming a shipment, recording or correcting its tracking). They read what was typed; the carrier's rules
(its adapter cleans and checks the number) and the shipment's state are the services'."""

from __future__ import annotations

from django import forms

from warehouse.services.outbound import MAX_PACKAGE_GRAMS


class PackForm(forms.Form):
    # a whole number, read here; its range (0 to MAX_PACKAGE_GRAMS) is pack_wave's rule, refused in its words
    weight_grams = forms.IntegerField(
        required=False, error_messages={"invalid": f"Weight: give whole grams, 0 to {MAX_PACKAGE_GRAMS:,}."}
    )

    def packages(self) -> list[dict] | None:
        weight = self.cleaned_data.get("weight_grams")
        return None if weight is None else [{"weight_grams": weight}]


class TrackingForm(forms.Form):
    carrier = forms.CharField(required=False, max_length=40)
    tracking_number = forms.CharField(required=False, max_length=100)
    correct = forms.BooleanField(required=False)

    def values(self) -> dict:
        return {name: (self[name].value() or "") for name in ("carrier", "tracking_number")}
