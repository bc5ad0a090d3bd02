"""The form of one exception case's actions (acknowledge, resolve, assign) on the dashboard, the exception queue and
page, and the receipt page. It checks what was typed or picked; the governance services decide (status, role, a
resolution note, the assignee working at the case's site) and say why they refuse."""

from __future__ import annotations

from django import forms

from governance.services.sites import case_assignees

#: the longest note an action keeps (the bulk form's limit too)
NOTE_MAX = 1000
NO_SUCH_ASSIGNEE = "No such colleague at {site} to assign the exception to: nothing was changed."


class ExceptionActionForm(forms.Form):
    """``note``: at most NOTE_MAX characters. ``assignee``: the id of a user who may own the case at its site
    (``case_assignees``: a colleague of the requester with a membership there), empty to unassign. Any other value,
    an unknown id, another site's user or text that is no id, gets the same refusal (issue 12, finding 5)."""

    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        error_messages={
            "max_length": f"A note is at most {NOTE_MAX} characters (this one has %(show_value)d): nothing was changed."
        },
    )
    assignee = forms.CharField(required=False, max_length=100)

    def __init__(self, *args, case, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.user = user
        self.fields["assignee"].error_messages["max_length"] = NO_SUCH_ASSIGNEE.format(site=case.site.code)

    def clean_assignee(self):
        raw = (self.cleaned_data.get("assignee") or "").strip()
        if not raw:
            return None
        # "²" is a digit int() refuses; more than 18 digits is no id (bigint)
        found = None
        if raw.isascii() and raw.isdigit() and len(raw) <= 18:
            found = case_assignees(self.user, self.case.site_id).filter(pk=int(raw)).first()
        if found is None:
            raise forms.ValidationError(NO_SUCH_ASSIGNEE.format(site=self.case.site.code), code="no_such_user")
        return found
