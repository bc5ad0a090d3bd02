"""Token authentication with hashed keys, expiry, revocation and slow-down of repeated failures (bad tokens are
counted per client address in core.login_throttle; a valid token is never slowed down)."""

from __future__ import annotations

import hashlib

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from core import login_throttle
from governance.models import ApiToken


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_token(*, user, name: str = "", expires_at=None, scopes=None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns (row, key). Only the digest is stored: show the key once. Without
    ``scopes`` the token has every scope (core/api/scopes.py). Made by governance's token service."""
    from governance.services.api_tokens import create_token

    return create_token(user=user, name=name, scopes=scopes, expires_at=expires_at)


def refuse(request, message: str):
    """A token that was not found: 429 once this address has had too many of them, else 401 (and counted).
    A valid token never comes here, so it is never slowed down by other clients' failures."""
    try:
        login_throttle.check_token_login(request)
    except login_throttle.LoginThrottled as exc:
        raise exceptions.Throttled(wait=exc.wait, detail=exc.detail)
    login_throttle.record_token_failure(request)
    raise exceptions.AuthenticationFailed(message)


class HashedTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) != 2:
            refuse(request, "Invalid token header: give 'Token <key>'.")
        try:
            key = auth[1].decode()
        except UnicodeError:
            refuse(request, "Invalid token.")
        token = ApiToken.objects.select_related("user").filter(digest=hash_key(key)).first()
        if token is None or not token.is_active or not token.user.is_active:
            refuse(request, "Invalid, expired or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
