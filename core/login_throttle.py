"""Failed-login counting and lockout, the same for every way of signing in (issue 12, findings 2 and 4).

Passwords (the web login page, the Django admin login, anything else that calls ``authenticate()`` with a
request: the :class:`distribution_erp.auth_backends.ThrottledModelBackend` enforces it) are counted

- per (account, client address): after ``LOGIN_FAILURE_LIMIT`` failures within
  ``LOGIN_FAILURE_WINDOW_SECONDS`` that account is refused from that address, its right password included, until
  the window ends. Other accounts from the same address and the same account from another address still sign in.
  Unknown usernames are counted like real ones (the answers do not tell them apart); the username is compared
  case-insensitively, so ``Admin`` and ``admin`` share a counter.
- per client address, with a much higher ceiling ``LOGIN_FAILURE_ADDRESS_LIMIT``: one address trying many accounts
  (password spraying) is refused for every account once it has that many failures in the window.

API tokens have no account until they are found, so failed token logins are counted per address: after
``LOGIN_FAILURE_LIMIT`` of them a bad token gets 429 instead of 401. A valid token is never refused.

The client address is ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` says how many proxies in front of the
application append to ``TRUSTED_PROXY_HEADER`` (``X-Forwarded-For``): then it is the entry that the outermost
trusted proxy added. Entries a client adds itself come before those and are never used.

The counters live in the default cache (``core.cache.FailSoftRedisCache`` with ``REDIS_URL``): while
Redis is down they are counted in each process's memory.
"""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata
from collections.abc import Mapping

from django.conf import settings
from django.core.cache import cache

PREFIX = "auth-failures"
PASSWORD_DETAIL = "Too many failed logins for this account from this address; try again later."
ADDRESS_DETAIL = "Too many failed logins from this address; try again later."
TOKEN_DETAIL = "Too many failed token logins from this address; try again later."


class LoginThrottled(Exception):
    def __init__(self, detail: str, wait: int):
        super().__init__(detail)
        self.detail = detail
        self.wait = wait


# --- pure policy ---------------------------------------------------------------------------------------------


def client_address(meta: Mapping[str, str], *, proxy_count: int = 0, header: str = "X-Forwarded-For") -> str:
    """The client's address from a request's ``META``: ``REMOTE_ADDR``, or with ``proxy_count`` trusted proxies
    in front, the ``proxy_count``-th entry from the right of ``header`` (the one the outermost trusted proxy
    appended). A header with fewer entries, or an entry that is not an IP address, falls back to ``REMOTE_ADDR``."""
    remote = meta.get("REMOTE_ADDR") or "unknown"
    if proxy_count <= 0:
        return remote
    raw = meta.get("HTTP_" + header.strip().upper().replace("-", "_"), "")
    hops = [hop.strip() for hop in str(raw).split(",") if hop.strip()]
    if len(hops) < proxy_count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-proxy_count]))
    except ValueError:
        return remote


def account_key(username) -> str:
    """A short, cache-safe key for the username as typed (NFKC, case-folded, trimmed; unknown names too)."""
    text = unicodedata.normalize("NFKC", str(username or "")).strip().casefold()
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def refusal(*, pair_failures: int, address_failures: int, limit: int, address_limit: int) -> str | None:
    """Why a password login is refused (the detail), or None when it may be tried."""
    if pair_failures >= limit:
        return PASSWORD_DETAIL
    if address_failures >= address_limit:
        return ADDRESS_DETAIL
    return None


# --- counters --------------------------------------------------------------------------------------------------


def request_address(request) -> str:
    return client_address(
        request.META,
        proxy_count=int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0),
        header=getattr(settings, "TRUSTED_PROXY_HEADER", "X-Forwarded-For") or "X-Forwarded-For",
    )


def _window() -> int:
    return int(settings.LOGIN_FAILURE_WINDOW_SECONDS)


def _address_limit() -> int:
    return int(getattr(settings, "LOGIN_FAILURE_ADDRESS_LIMIT", 100))


def _pair_key(request, username) -> str:
    return f"{PREFIX}:password:{request_address(request)}:{account_key(username)}"


def _address_key(request) -> str:
    return f"{PREFIX}:password:{request_address(request)}"


def _token_key(request) -> str:
    return f"{PREFIX}:token:{request_address(request)}"


def _increment(key: str) -> None:
    if cache.add(key, 1, timeout=_window()):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_window())


def check_password_login(request, username) -> None:
    """Raise :class:`LoginThrottled` when ``username`` may not try a password from this request's address."""
    pair, address = _pair_key(request, username), _address_key(request)
    counts = cache.get_many([pair, address])
    detail = refusal(
        pair_failures=counts.get(pair, 0),
        address_failures=counts.get(address, 0),
        limit=settings.LOGIN_FAILURE_LIMIT,
        address_limit=_address_limit(),
    )
    if detail:
        raise LoginThrottled(detail, _window())


def password_login_throttled(request, username) -> LoginThrottled | None:
    try:
        check_password_login(request, username)
    except LoginThrottled as exc:
        return exc
    return None


def record_password_failure(request, username) -> None:
    _increment(_pair_key(request, username))
    _increment(_address_key(request))


def record_password_success(request, username) -> None:
    """A right password (while not locked) forgets that account's failures from this address; the per-address
    count stays, so a sprayer cannot reset it with one account of its own."""
    cache.delete(_pair_key(request, username))


def check_token_login(request) -> None:
    """Raise :class:`LoginThrottled` when bad tokens from this address are to be slowed down (call it only for a
    token that was not found: a valid token is never refused)."""
    if cache.get(_token_key(request), 0) >= settings.LOGIN_FAILURE_LIMIT:
        raise LoginThrottled(TOKEN_DETAIL, _window())


def record_token_failure(request) -> None:
    _increment(_token_key(request))
