"""Health endpoints for load balancers, orchestrators and supervisors (no login, no cache, JSON).

- ``/health/live/``: the process answers (no database, no broker). 200 always.
- ``/health/ready/`` (and ``/health/``): the database, the broker, the cache, the heartbeats of the Celery worker,
  beat and the outbox relay, and the outbox backlog. 200 when the database, the broker and a fresh worker and
  relay heartbeat are there, else 503; each component says what it found. The cache and beat are reported but do
  not make the answer 503 (the API works without Redis as a cache; beat only schedules the safety-net sweeps).
"""

from __future__ import annotations

import time

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

#: the oldest outbox row still pending for longer than this makes the outbox component fail
OUTBOX_MAX_AGE_SECONDS = 120
REQUIRED = ("database", "broker", "worker", "outbox_relay")


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


def check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def check_broker(timeout: float = 1.0) -> dict:
    """Connect to the Celery broker once, with a short timeout (never the retrying connect of a worker)."""
    from distribution_erp.celery import app
    from governance.services.outbox import broker_down_since

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        result = {"ok": True, "transport": conn.transport_cls, "ms": round((time.monotonic() - started) * 1000, 1)}
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    since = broker_down_since()
    if since:
        result["publish_failing_since"] = round(time.time() - since, 1)
    return result


def check_cache() -> dict:
    from django.core.cache import cache, caches

    from core.cache import redis_down_since

    try:
        cache.get("health:probe")
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    since = redis_down_since()
    if since:
        return {"ok": False, "fallback": "local memory", "down_for_seconds": round(time.time() - since, 1)}
    return {"ok": True, "backend": type(caches["default"]).__name__}


def readiness() -> dict:
    """Every component's state and the overall verdict (``ok``)."""
    components = {"database": check_database(), "broker": check_broker(), "cache": check_cache()}
    if components["database"]["ok"]:
        from governance.services.heartbeats import latest_heartbeats
        from governance.services.outbox import backlog

        for name, beat in latest_heartbeats().items():
            components[name] = (
                {"ok": False, "error": "no heartbeat yet"} if beat is None else {"ok": not beat["stale"], **beat}
            )
        pending = backlog()
        components["outbox"] = {"ok": pending["oldest_pending_seconds"] <= OUTBOX_MAX_AGE_SECONDS, **pending}
    else:
        for name in ("worker", "beat", "outbox_relay", "outbox"):
            components[name] = {"ok": False, "error": "database unreachable"}
    ok = all(components[name]["ok"] for name in REQUIRED)
    return {"status": "ok" if ok else "unavailable", "components": components}


@never_cache
@require_GET
def ready(request):
    body = readiness()
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


def background_health() -> dict:
    """The jobs page's panel for supervisors: broker down since when, outbox backlog, each process's heartbeat and
    the processes that stopped beating (killed or stuck) within the last day."""
    from governance.services.heartbeats import stale_processes

    body = readiness()
    components = body["components"]
    relay = components.get("outbox_relay") or {}
    down_since = (relay.get("details") or {}).get("broker_down_since")
    broker = components["broker"]
    if down_since and not broker["ok"]:
        broker = {**broker, "down_for_seconds": round(time.time() - down_since, 1)}
    return {
        "ok": body["status"] == "ok",
        "broker": broker,
        "cache": components["cache"],
        "outbox": components.get("outbox", {}),
        "processes": [
            {"name": name, **components[name]} for name in ("worker", "beat", "outbox_relay") if name in components
        ],
        "stale": stale_processes() if components["database"]["ok"] else [],
    }
