"""The form of the supervisors' pages that is not a decision (those are ``web.decisions``): a new cycle count,
the location codes to count (separated by spaces, commas or new lines) and a note. The codes are read here and
looked up at the current site (a code the site does not have is refused by name, nothing is created); what may
be counted (at least one location and not too many, none named twice or already waiting on a count) is
``create_cycle_count``'s rule."""

from __future__ import annotations

from django import forms

from inventory.models import Location
from warehouse.policy import scan

#: the text read: room for 500 location codes (the service's limit) of at most 40 characters (the API's)
MAX_LOCATIONS, CODE_LENGTH = 500, 40


class CycleCountForm(forms.Form):
    locations = forms.CharField(
        required=False,
        max_length=MAX_LOCATIONS * (CODE_LENGTH + 1),
        error_messages={"max_length": f"Locations: at most {MAX_LOCATIONS} location codes on one count."},
    )
    note = forms.CharField(
        required=False,
        max_length=300,
        error_messages={"max_length": "Note: at most %(limit_value)d characters (it has %(show_value)d)."},
    )

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site

    def clean_locations(self) -> list[Location]:
        raw = self.cleaned_data.get("locations") or ""
        codes = [c for c in (scan.normalise(c) for c in raw.replace(",", " ").split()) if c]
        long = [c for c in codes if len(c) > CODE_LENGTH]
        if long:
            raise forms.ValidationError(f"A location code has at most {CODE_LENGTH} characters: {long[0][:50]}…")
        by_code = {loc.code: loc for loc in Location.objects.filter(site=self.site, code__in=codes)}
        missing = [c for c in codes if c not in by_code]
        if missing:
            raise forms.ValidationError(f"{self.site.code} has no location {', '.join(missing)}.")
        return [by_code[c] for c in codes]
