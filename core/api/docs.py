"""The API docs (/api/docs/, /api/redoc/) and schema (/api/schema/) behind a login when
``settings.API_DOCS_REQUIRE_LOGIN`` (on by default when DEBUG is off; README, "Configuration").

The schema answers an anonymous request with a 401 problem (a token or a session opens it); the two HTML
viewers send an anonymous browser to the login page and back.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from rest_framework.permissions import BasePermission


def docs_require_login() -> bool:
    return bool(getattr(settings, "API_DOCS_REQUIRE_LOGIN", not settings.DEBUG))


class DocsPermission(BasePermission):
    """SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]: anyone, or only authenticated users when the setting says so."""

    def has_permission(self, request, view):
        return not docs_require_login() or bool(request.user and request.user.is_authenticated)


def login_page_first(view):
    """Wrap an HTML docs view: an anonymous visitor goes to the login page first when docs require a login."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if docs_require_login() and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped
