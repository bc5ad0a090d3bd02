"""Governance's natural-key serializer fields: a site by code (only the sites the user may act at) and a user by
username (optionally only colleagues). Other apps' serializers use them; the generic parts are in core.api.fields."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from core.api.fields import NaturalKeyField
from governance import permissions
from governance.models import Site
from governance.services.sites import colleagues


class SiteField(NaturalKeyField):
    """A site by ``code``: only active sites where the user may perform ``action`` (default: see it)."""

    key_field = "code"
    label_text = "site"

    def __init__(self, *, action: str = "view", **kwargs):
        self.action = action
        kwargs.setdefault("help_text", "Site code, e.g. DC1")
        super().__init__(**kwargs)

    def get_queryset(self):
        if self.user is None:
            return Site.objects.none()
        return permissions.visible_sites(self.user, self.action).filter(active=True)


class UserField(NaturalKeyField):
    """An active user by ``username``; with ``colleagues_only``, only users who work at a site the requesting
    user can see (so a username from elsewhere reads like an unknown one)."""

    key_field = "username"
    label_text = "user"

    def __init__(self, *, colleagues_only: bool = False, **kwargs):
        self.colleagues_only = colleagues_only
        kwargs.setdefault("help_text", "Username")
        super().__init__(**kwargs)

    def get_queryset(self):
        users = get_user_model().objects.filter(is_active=True)
        if not self.colleagues_only:
            return users
        return colleagues(self.user) if self.user is not None else users.none()
