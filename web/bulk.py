"""Bulk actions of the lists: the form that names the selected rows and what to do to them. It only checks the
shape (known action, whole ids, at most ``MAX_SELECTED``); each selected document is then handed to its service
one by one, so a refusal of one is reported and the others are still done."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages

from core.errors import DomainError

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


class BulkOrderForm(forms.Form):
    """Validate or release the selected sales orders (each through its service)."""

    ACTIONS = (("validate", "Validate"), ("release", "Release"))

    action = forms.ChoiceField(choices=ACTIONS)
    selected = IdsField(error_messages={"required": "Select the orders first (tick their boxes)."})


class BulkApprovalForm(forms.Form):
    """Approve or reject the selected approval requests (each through decide_approval: never one's own)."""

    ACTIONS = (("approve", "Approve"), ("reject", "Reject"))

    action = forms.ChoiceField(choices=ACTIONS)
    selected = IdsField(error_messages={"required": "Select the requests first (tick their boxes)."})
    note = forms.CharField(max_length=500, required=False)


def form_refused(request, form: forms.Form) -> None:
    """A bulk form that cannot be read: its errors as messages (nothing is done)."""
    for msgs in form.errors.values():
        for msg in msgs:
            messages.error(request, msg)


def run_each(
    request,
    selected: list[int],
    found: dict[int, object],
    act: Callable[[object], object],
    *,
    label: Callable[[object], str],
    what: str,
    done_word: str,
    missing: str,
) -> tuple[int, int]:
    """``act`` on each selected document found (``found``: pk -> document of the current site) in the order they
    were ticked; a refusal (DomainError) or a document not found is reported by name and the others still done.
    Flashes one success and one warning line; returns (done, refused)."""
    done, refused = 0, []
    for pk in selected:
        document = found.get(pk)
        if document is None:
            refused.append(f"#{pk}: {missing}")
            continue
        try:
            act(document)
        except DomainError as exc:
            refused.append(f"{label(document)}: {exc.message.rstrip('.')}")
        else:
            done += 1
    if done:
        messages.success(request, f"{done} {what}{'' if done == 1 else 's'} {done_word}.")
    if refused:
        messages.warning(request, f"{len(refused)} not {done_word}: " + "; ".join(refused))
    return done, len(refused)
