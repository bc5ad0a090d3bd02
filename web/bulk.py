"""Bulk actions of the lists: the form that names the selected rows and what to do to them. It only checks the
shape (known action, whole ids, at most ``MAX_SELECTED``); each selected document is then handed to its service
one by one, so a refusal of one is reported and the others are still done."""

from __future__ import annotations

from django import forms

MAX_SELECTED = 200


class IdsField(forms.Field):
    """The ids of the checked rows (``<input type=checkbox name=... value=id>``, repeated)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if not isinstance(value, list | tuple):
            value = [value]
        ids = []
        for raw in value:
            raw = str(raw).strip()
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
                raise forms.ValidationError("A selected row is not a row of the list.")
            ids.append(int(raw))
        return list(dict.fromkeys(ids))

    def validate(self, value):
        super().validate(value)
        if len(value) > MAX_SELECTED:
            raise forms.ValidationError(f"Select at most {MAX_SELECTED} rows at once.")


class BulkExceptionForm(forms.Form):
    """Acknowledge, resolve or assign the selected exception cases."""

    ACTIONS = (("acknowledge", "Acknowledge"), ("resolve", "Resolve"), ("assign", "Assign"))

    action = forms.ChoiceField(choices=ACTIONS)
    selected = IdsField(error_messages={"required": "Select the exceptions first (tick their boxes)."})
    note = forms.CharField(max_length=1000, required=False)
    assignee = forms.CharField(max_length=18, required=False)

    def clean(self):
        data = super().clean()
        if data.get("action") == "resolve" and not (data.get("note") or "").strip():
            self.add_error("note", "Say how the selected exceptions were resolved.")
        return data
