"""A Redis cache that fails soft: when Redis cannot be reached, the cache of this process's memory answers.

Django's ``RedisCache`` raises on a connection error, so every request that reads the cache (the token throttle,
login-failure counters) failed for as long as Redis was down. ``FailSoftRedisCache`` catches the connection
error, logs it (once per ``LOG_INTERVAL`` seconds per process), answers from a local-memory cache, and opens a
circuit breaker: for ``SKIP_SECONDS`` every call goes to the local cache at once instead of waiting for a connect
timeout. The first call after that tries Redis again. Throttle counts and cached values are per process while
Redis is down (a throttle is a little looser during an outage, never a reason to refuse a request).

Set ``OPTIONS`` ``socket_connect_timeout`` / ``socket_timeout`` short (settings.py: 0.5 s) so the one call that
finds Redis gone does not wait long.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

SKIP_SECONDS = 5.0
LOG_INTERVAL = 60.0

_lock = threading.Lock()
#: per Redis location: {"skip_until": monotonic, "logged_at": monotonic, "down_since": time}
_state: dict[str, dict] = {}


def _connection_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)


def redis_down_since(location: str | None = None) -> float | None:
    """time.time() when this process found the cache's Redis down, or None when it is (as far as known) up."""
    with _lock:
        states = [_state.get(location, {})] if location else list(_state.values())
    downs = [s["down_since"] for s in states if s.get("down_since")]
    return min(downs) if downs else None


class FailSoftRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._fallback = LocMemCache(
            "fail-soft:" + self._location,
            {"TIMEOUT": params.get("TIMEOUT", 300), "KEY_PREFIX": params.get("KEY_PREFIX", ""), "VERSION": 1},
        )
        self._errors = _connection_errors()

    def _skipping(self) -> bool:
        state = _state.get(self._location)
        return bool(state) and time.monotonic() < state.get("skip_until", 0.0)

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with _lock:
            state = _state.setdefault(self._location, {"logged_at": 0.0})
            state["skip_until"] = now + SKIP_SECONDS
            state.setdefault("down_since", None)
            if state["down_since"] is None:
                state["down_since"] = time.time()
            log = now - state["logged_at"] >= LOG_INTERVAL
            if log:
                state["logged_at"] = now
        if log:
            logger.warning(
                "cache: Redis unreachable (%s: %s); using this process's memory cache, retrying every %ss",
                type(exc).__name__,
                exc,
                SKIP_SECONDS,
            )

    def _recovered(self) -> None:
        state = _state.get(self._location)
        if state and state.get("down_since"):
            with _lock:
                state["down_since"] = None
                state["skip_until"] = 0.0
            logger.warning("cache: Redis reachable again")

    def _call(self, name: str, *args, **kwargs):
        if not self._skipping():
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except self._errors as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        self._fallback.clear()
        return self._call("clear")
