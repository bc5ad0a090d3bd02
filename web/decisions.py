"""The forms of the decisions taken on the pages: approve or reject (an approval request, a count's variances, a
return, a transfer, a sales order's hold release, an adjustment, an accept / dismiss of a suggestion) with a note,
a reason for a hold or a cancellation, and the site switcher.

They read what was posted (a known action, a note not longer than the pages take); who may decide, and whether
the document still waits for it, are the services' rules, refused in their words. A page that answers with a
redirect shows a form's refusal as flash messages naming the field (:func:`flash_form_errors`), and does nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.utils.http import url_has_allowed_host_and_scheme

#: the longest decision note the pages take (the decision's record keeps it whole)
NOTE_LENGTH = 1000
#: the longest reason for a hold or a cancellation (the order keeps 300 characters)
REASON_LENGTH = 300
APPROVE, REJECT = "approve", "reject"
#: the longest page address the site switcher goes back to
NEXT_LENGTH = 2000


def _too_long(what: str) -> dict:
    return {"max_length": f"{what}: at most %(limit_value)d characters (it has %(show_value)d)."}


class DecisionForm(forms.Form):
    """Approve or reject, with an optional note. ``actions`` names the two choices of another vocabulary
    (a suggestion's accept / dismiss); the first approves. A page whose URL names the action passes it as
    ``action=`` (the posted data carries only the note)."""

    action = forms.ChoiceField(choices=(), error_messages={"invalid_choice": "Choose what to decide."})
    note = forms.CharField(max_length=NOTE_LENGTH, required=False, error_messages=_too_long("Note"))

    def __init__(self, data=None, *args, action: str | None = None, actions=(APPROVE, REJECT), **kwargs):
        if data is not None and action is not None:
            data = data.copy() if hasattr(data, "copy") else dict(data)
            data["action"] = action
        super().__init__(data, *args, **kwargs)
        self.actions = tuple(actions)
        self.fields["action"].choices = [(a, a.replace("_", " ").capitalize()) for a in self.actions]

    @property
    def approve(self) -> bool:
        return self.cleaned_data["action"] == self.actions[0]

    @property
    def decision_note(self) -> str:
        return (self.cleaned_data.get("note") or "").strip()


class ReasonForm(forms.Form):
    """The reason of a hold or a cancellation (whether one is required is the service's rule, said in its words)."""

    reason = forms.CharField(max_length=REASON_LENGTH, required=False, error_messages=_too_long("Reason"))


class SiteSwitchForm(forms.Form):
    """The site switcher: the site chosen (by id; whether the user works there is ``choose_site``'s) and the page
    to go back to, a local URL of this host only (anything else goes home)."""

    site = forms.IntegerField(required=False, min_value=1, error_messages={"invalid": "Choose a site."})
    next = forms.CharField(required=False)

    def __init__(self, *args, host: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host

    def clean_next(self) -> str:
        target = self.cleaned_data.get("next") or "/"
        if len(target) > NEXT_LENGTH:
            return "/"
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={self.host}, require_https=False):
            return "/"
        return target


def flash_form_errors(request, form: forms.Form) -> None:
    """A form that cannot be read, on a page that answers with a redirect: each error as a message, after its
    field's name (nothing was done)."""
    for name, msgs in form.errors.items():
        for msg in msgs:
            text = str(msg)
            field = form.fields.get(name)
            label = (field.label or name.replace("_", " ").capitalize()) if field is not None else ""
            messages.error(request, text if not label or text.startswith(f"{label}:") else f"{label}: {text}")
