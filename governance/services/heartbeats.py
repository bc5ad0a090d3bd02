"""Heartbeats of the background processes (the Celery worker, beat, the outbox relay): each writes its row every
few seconds; ``/health/ready/`` and the jobs page call a process stale when its newest row is older than
``STALE_SECONDS``."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.db import close_old_connections, connection
from django.utils import timezone

from governance.models import ServiceHeartbeat

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 5
STALE_SECONDS = 30
SERVICES = ("worker", "beat", "outbox_relay")


def beat(name: str, details: dict | None = None) -> None:
    """Write this process's heartbeat row (one row per name, host and pid)."""
    now = timezone.now()
    ServiceHeartbeat.objects.update_or_create(
        name=name,
        host=socket.gethostname()[:200],
        pid=os.getpid(),
        defaults={"seen_at": now, "details": details or {}},
        create_defaults={"seen_at": now, "started_at": now, "details": details or {}},
    )


def start_heartbeat_thread(name: str, *, details=None, interval: float = INTERVAL_SECONDS) -> threading.Event:
    """Beat from a daemon thread every ``interval`` seconds until the returned event is set. A database error is
    logged (once per outage) and retried at the next beat."""
    stop = threading.Event()

    def run():
        failing = False
        while not stop.is_set():
            try:
                beat(name, details() if callable(details) else details)
                if failing:
                    logger.warning("heartbeat %s: database reachable again", name)
                failing = False
            except Exception as exc:
                if not failing:
                    logger.warning("heartbeat %s: could not write (%s); retrying", name, exc)
                failing = True
                close_old_connections()
            stop.wait(interval)
        connection.close()

    threading.Thread(target=run, name=f"heartbeat-{name}", daemon=True).start()
    return stop


def latest_heartbeats() -> dict[str, dict]:
    """For each known service: its newest heartbeat (host, pid, seen_at, age_seconds, stale) or None."""
    now = timezone.now()
    out: dict[str, dict] = {}
    for name in SERVICES:
        row = ServiceHeartbeat.objects.filter(name=name).order_by("-seen_at").first()
        if row is None:
            out[name] = None
            continue
        age = (now - row.seen_at).total_seconds()
        out[name] = {
            "host": row.host,
            "pid": row.pid,
            "seen_at": row.seen_at.isoformat(),
            "age_seconds": round(age, 1),
            "stale": age > STALE_SECONDS,
            "details": row.details,
        }
    return out


def stale_processes(*, within_hours: int = 24) -> list[ServiceHeartbeat]:
    """Processes that beat within the last day but not within STALE_SECONDS (killed or stuck) and that no fresh
    process of the same name on the same host replaced, newest first. A process that stops cleanly removes its
    row (``forget``)."""
    from django.db.models import Exists, OuterRef

    now = timezone.now()
    fresh = now - timedelta(seconds=STALE_SECONDS)
    replaced = ServiceHeartbeat.objects.filter(name=OuterRef("name"), host=OuterRef("host"), seen_at__gte=fresh)
    return list(
        ServiceHeartbeat.objects.filter(seen_at__lt=fresh, seen_at__gte=now - timedelta(hours=within_hours))
        .exclude(Exists(replaced))
        .order_by("-seen_at")[:20]
    )


def forget(name: str) -> None:
    """This process stops cleanly: remove its heartbeat (a row left behind means it was killed)."""
    ServiceHeartbeat.objects.filter(name=name, host=socket.gethostname()[:200], pid=os.getpid()).delete()


def purge_heartbeats(*, older_than_hours: int = 24) -> int:
    deleted, _ = ServiceHeartbeat.objects.filter(
        seen_at__lt=timezone.now() - timedelta(hours=older_than_hours)
    ).delete()
    return deleted


def connect_process_signals() -> None:
    """The worker's main process beats from worker_ready, beat from beat_init (both in a thread)."""
    from celery.signals import beat_init, worker_ready, worker_shutdown

    stops: list[threading.Event] = []

    def _worker_ready(sender=None, **kwargs):
        queues = []
        try:
            queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values())
        except Exception:  # pragma: no cover - a details nicety only
            pass
        stops.append(start_heartbeat_thread("worker", details={"queues": queues}))

    def _beat_init(sender=None, **kwargs):
        stops.append(start_heartbeat_thread("beat"))

    def _shutdown(sender=None, **kwargs):
        for stop in stops:
            stop.set()
        try:
            forget("worker")
        except Exception:  # the database may be the reason for the shutdown
            logger.warning("heartbeat: could not remove the worker's row")

    worker_ready.connect(_worker_ready, weak=False, dispatch_uid="governance.heartbeat.worker")
    beat_init.connect(_beat_init, weak=False, dispatch_uid="governance.heartbeat.beat")
    worker_shutdown.connect(_shutdown, weak=False, dispatch_uid="governance.heartbeat.shutdown")
