"""The outbox relay: publish outbox rows to Celery, and again when a row is not done within its lease.

Runs until SIGTERM / SIGINT (finishing the batch in hand). Wakes on PostgreSQL ``NOTIFY outbox`` (sent by the
transaction that writes a row) and polls every ``--poll`` seconds anyway (leases running out, delayed rows, a
missed notification). Writes its heartbeat every few seconds. Database or broker outages are logged and
waited out; nothing is lost, the rows stay in the table.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from governance.services import heartbeats
from governance.services.outbox import CHANNEL, broker_down_since, relay_outbox

logger = logging.getLogger("governance.outbox_relay")


def _listener():
    """A separate autocommit connection LISTENing on the outbox channel, or None (then the relay only polls)."""
    import psycopg

    direct = getattr(settings, "OUTBOX_LISTEN_DATABASE_URL", "")
    if not direct and os.environ.get("DATABASE_POOLER"):
        logger.info("outbox relay: behind a pooler without OUTBOX_LISTEN_DATABASE_URL; polling only")
        return None
    db = settings.DATABASES["default"]
    try:
        if direct:
            conn = psycopg.connect(direct, autocommit=True, connect_timeout=3)
        else:
            conn = psycopg.connect(
                dbname=db["NAME"],
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
                autocommit=True,
                connect_timeout=3,
            )
        conn.execute(f"LISTEN {CHANNEL}")
        return conn
    except Exception as exc:
        logger.warning("outbox relay: LISTEN unavailable (%s); polling only", exc)
        return None


class Command(BaseCommand):
    help = "Relay outbox rows to Celery (LISTEN/NOTIFY wake-up plus a short poll); stops on SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=0.5, help="Seconds between polls (default 0.5)")
        parser.add_argument("--batch", type=int, default=100, help="Rows claimed per batch (default 100)")
        parser.add_argument("--once", action="store_true", help="Relay what is due once and exit")
        parser.add_argument(
            "--check", action="store_true", help="Exit 0 when a relay on this host beat recently, 1 otherwise"
        )

    def handle(self, *args, poll: float, batch: int, once: bool, check: bool = False, **options):
        if check:
            import socket
            from datetime import timedelta

            from django.utils import timezone

            from governance.models import ServiceHeartbeat

            fresh = timezone.now() - timedelta(seconds=heartbeats.STALE_SECONDS)
            if not ServiceHeartbeat.objects.filter(
                name="outbox_relay", host=socket.gethostname()[:200], seen_at__gte=fresh
            ).exists():
                raise CommandError("no fresh outbox relay heartbeat on this host")
            self.stdout.write("outbox relay: alive")
            return
        if once:
            counts = relay_outbox(limit=batch)
            self.stdout.write(f"sent {counts['sent']}, failed {counts['failed']}")
            return
        stopping = {"now": False}

        def _stop(signum, frame):
            stopping["now"] = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        listener = _listener()
        totals = {"sent": 0, "failed": 0}
        last_beat = 0.0
        failing = False
        self.stdout.write(f"outbox relay: polling every {poll}s{' and listening' if listener else ''}")
        while not stopping["now"]:
            try:
                counts = relay_outbox(limit=batch)
                totals["sent"] += counts["sent"]
                totals["failed"] += counts["failed"]
                if counts["sent"]:
                    logger.info("outbox relay: published %s", counts["sent"])
                if time.monotonic() - last_beat >= heartbeats.INTERVAL_SECONDS:
                    down = broker_down_since()
                    heartbeats.beat(
                        "outbox_relay", {**totals, "broker_down_since": down, "listening": listener is not None}
                    )
                    last_beat = time.monotonic()
                if failing:
                    logger.warning("outbox relay: database reachable again")
                failing = False
            except Exception as exc:
                if not failing:
                    logger.warning("outbox relay: %s: %s; retrying", type(exc).__name__, exc)
                failing = True
                close_old_connections()
                if listener is not None:
                    listener.close()
                    listener = None
                time.sleep(1)
                listener = listener or _listener()
                continue
            try:
                if listener is not None:
                    for _ in listener.notifies(timeout=poll, stop_after=1):
                        pass
                else:
                    time.sleep(poll)
            except Exception as exc:
                logger.warning("outbox relay: LISTEN connection lost (%s)", exc)
                listener = None
                time.sleep(poll)
        if listener is not None:
            listener.close()
        try:
            heartbeats.forget("outbox_relay")
        except Exception:
            pass
        self.stdout.write(f"outbox relay: stopped (sent {totals['sent']})")
