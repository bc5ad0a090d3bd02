"""The form of the API tokens page: a new token as posted. It reads types; who may issue a token to whom, which
scopes exist and how long a token may live are ``governance.services.api_tokens.issue_token``'s rules, refused in
its words."""

from __future__ import annotations

from django import forms

from core.api.scopes import ALL_SCOPES


class TokenForm(forms.Form):
    """A new token as posted: the owner by id (blank: oneself), a name, the scopes ticked and the days it lives
    (blank: the default). Who may issue what, and which scopes exist, is the service's (issue_token)."""

    owner = forms.IntegerField(required=False, min_value=1)
    name = forms.CharField(required=False, max_length=200)
    scopes = forms.MultipleChoiceField(required=False, choices=[(name, name) for name in ALL_SCOPES])
    days = forms.IntegerField(required=False, error_messages={"invalid": "Give a whole number of days."})

    def typed(self) -> dict:
        """What was posted, for the page to show again."""
        return {
            "owner": self["owner"].value() or "",
            "name": self["name"].value() or "",
            "scopes": list(self["scopes"].value() or []),
            "days": str(self["days"].value() or "").strip(),
        }
