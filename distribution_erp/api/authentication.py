"""Token authentication with hashed keys, expiry, revocation and slow-down of repeated failures."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from governance.models import ApiToken


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_token(*, user, name: str = "", expires_at=None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns (row, key). Only the digest is stored: show the key once."""
    key = secrets.token_urlsafe(32)
    while key.startswith("-"):  # a leading dash would read as an option on the command line (revoke_api_token)
        key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:8], digest=hash_key(key), expires_at=expires_at)
    return token, key


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def _failure_key(request) -> str:
    return f"auth-failures:{client_ip(request)}"


def check_not_throttled(request) -> None:
    failures = cache.get(_failure_key(request), 0)
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        raise exceptions.Throttled(
            wait=settings.LOGIN_FAILURE_WINDOW_SECONDS,
            detail="Too many failed logins from this address; try again later.",
        )


def record_failure(request) -> None:
    key = _failure_key(request)
    if cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)


class HashedTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        check_not_throttled(request)
        if len(auth) != 2:
            record_failure(request)
            raise exceptions.AuthenticationFailed("Invalid token header: give 'Token <key>'.")
        try:
            key = auth[1].decode()
        except UnicodeError:
            record_failure(request)
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = ApiToken.objects.select_related("user").filter(digest=hash_key(key)).first()
        if token is None or not token.is_active or not token.user.is_active:
            record_failure(request)
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
