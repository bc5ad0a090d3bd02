"""The one place API token scopes are enforced: a default permission class of every API view (settings
REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]). The decision itself is ``scopes.token_allows``."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from core.api import scopes
from governance.models import ApiToken


class TokenScopePermission(BasePermission):
    """A request authenticated by an API token may use this view and method only when one of the token's scopes
    allows it (403 problem+json otherwise). Session (browser) requests are not limited by scopes."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        if request.method.upper() not in view.allowed_methods:
            return True  # the view answers 405 itself: the method is no write here
        area = scopes.view_area(type(view))
        # a view that only reads (a query sent as a POST body, stock-levels/query/) is judged as a read
        method = "GET" if getattr(view, "reads_only", False) else request.method
        if scopes.token_allows(token.scopes, area, method):
            return True
        needed = sorted(scopes.scopes_needed(area, method))
        have = ", ".join(token.scopes or []) or "none"
        if needed:
            wanted = " or ".join(f"'{s}'" for s in needed)
            detail = f"This token's scopes ({have}) do not allow {request.method} here; it needs {wanted}."
        else:
            detail = f"No API token may use {request.method} here."
        raise exceptions.PermissionDenied(detail=detail, code="insufficient_scope")
