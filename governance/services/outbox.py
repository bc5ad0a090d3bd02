"""The transactional outbox: work a commit must trigger is a row written in that commit, relayed to Celery.

- ``enqueue_task`` / ``enqueue_event`` write an ``OutboxMessage`` in the caller's transaction (they refuse to run
  outside one): the row exists if and only if the business transaction commits. The same transaction sends a
  PostgreSQL ``NOTIFY outbox`` so a waiting relay wakes at once.
- After commit a *fast path* publishes the row at once (short broker timeouts, no retries in the request, a
  circuit breaker that skips the broker for a few seconds after a failure). It never raises and never blocks a
  request for long: whatever it could not publish stays pending for the relay.
- ``relay_outbox`` (``manage.py outbox_relay``, every ~0.5 s and on NOTIFY) claims due rows with
  ``FOR UPDATE SKIP LOCKED`` (two relays never take the same row), publishes each one with ``apply_async`` and a
  task id ``outbox-<id>-<attempt>``, and leases it: ``available_at`` moves to now + the task's lease (its hard time
  limit plus a margin). A task that finishes marks its row done (``task_postrun``); a row not done when its lease
  runs out (the worker was SIGKILLed, Redis restarted and lost the message) is published again. A task that fails
  is retried with a backoff; after ``MAX_ATTEMPTS`` the row is given up (done, with ``last_error``).
- Every task published through the outbox must be idempotent: a row can be delivered more than once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from governance.models import OutboxMessage

logger = logging.getLogger(__name__)

CHANNEL = "outbox"
TASK_ID_PREFIX = "outbox-"
#: a task without its own hard time limit is re-published this long after dispatch when it is not done
DEFAULT_LEASE_SECONDS = 30
LEASE_MARGIN_SECONDS = 5
#: after this many failed runs the row is given up (done, last_error kept) instead of retried for ever
MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 300
#: after a broker error the fast path leaves publishing to the relay for this long (no connect wait per request)
BREAKER_SECONDS = 5.0
PURGE_AFTER_DAYS = 3
#: EVENT rows stay longer: they are the ``events/`` feed and what a webhook redelivery sends again
EVENT_RETENTION_DAYS = 30
#: the task that hands EVENT rows to their subscribers (webhooks, issue 14)
EVENT_TASK = "governance.tasks.deliver_outbox_event"

_breaker = threading.Lock()
_broker_down_until = 0.0
_broker_down_since: float | None = None
#: EVENT subscribers: callables (message) -> None, registered by the apps that deliver domain events
_event_subscribers: list = []
#: subscriber -> SQL boolean expression with one ``%s`` (the event type): may the subscriber want such an event
_event_takes: dict = {}


# --- writing ---------------------------------------------------------------------------------------------------


def enqueue_task(
    task_name_or_task,
    *,
    args=(),
    kwargs=None,
    queue: str | None = None,
    dedup_key: str | None = None,
    site=None,
    delay_seconds: float = 0,
) -> OutboxMessage | None:
    """Write a TASK row in the caller's transaction; published after commit. Returns the row, or None when a row
    with the same ``dedup_key`` is already waiting to be published (that one does the work)."""
    name = task_name_or_task if isinstance(task_name_or_task, str) else task_name_or_task.name
    return _write(
        OutboxMessage.Kind.TASK,
        name,
        args=list(args),
        kwargs=dict(kwargs or {}),
        queue=queue or "",
        dedup_key=dedup_key,
        site=site,
        delay_seconds=delay_seconds,
    )


def enqueue_event(
    topic: str, payload: dict, *, site=None, dedup_key: str | None = None, document_key: str | None = None
) -> OutboxMessage | None:
    """Write an EVENT row (a domain event for subscribers, e.g. webhooks) in the caller's transaction; events of
    one ``document_key`` are ordered by id (``governance.events.emit`` builds the envelope)."""
    return _write(
        OutboxMessage.Kind.EVENT,
        topic,
        payload=payload,
        dedup_key=dedup_key,
        site=site,
        delay_seconds=0,
        document_key=document_key or None,
    )


def register_event_subscriber(subscriber, *, takes_sql: str | None = None) -> None:
    """``subscriber(message)`` is called for every EVENT row by the ``deliver_outbox_event`` task; it must be
    idempotent (a row may be delivered twice).

    ``takes_sql``: an SQL boolean expression with one ``%s`` (the event type), true when the subscriber may want an
    event of that type (webhooks: an active subscription takes the type). It is evaluated in the INSERT of the
    event row, so it sees what was committed before that statement. When every subscriber has one and none is
    true, the row is written done at once: it stays in the ``events/`` feed, but no NOTIFY, no publish and no
    ``deliver_outbox_event`` task follow (a subscriber without ``takes_sql`` gets every event, as before)."""
    if subscriber not in _event_subscribers:
        _event_subscribers.append(subscriber)
    if takes_sql:
        _event_takes[subscriber] = takes_sql
    else:
        _event_takes.pop(subscriber, None)


def _event_done_sql(topic: str, now) -> tuple[str, list]:
    """The ``done_at`` of a new EVENT row as SQL and its parameters: NULL (to be handed to the subscribers) when
    some subscriber may take its type, else now (nobody to hand it to). Evaluated in the row's INSERT, so the
    subscribers' filters see every subscription committed before that statement."""
    if not _event_subscribers:
        return "%s", [now]
    if any(s not in _event_takes for s in _event_subscribers):
        return "NULL", []
    takes = " OR ".join(f"({_event_takes[s]})" for s in _event_subscribers)
    return f"CASE WHEN {takes} THEN NULL ELSE %s END", [topic] * len(_event_subscribers) + [now]


def _write(kind, topic, *, delay_seconds, dedup_key, site, **fields) -> OutboxMessage | None:
    if not connection.in_atomic_block:
        raise RuntimeError("the outbox is written inside the business transaction (transaction.atomic)")
    now = timezone.now()
    row = OutboxMessage(
        kind=kind,
        topic=topic,
        dedup_key=dedup_key or None,
        site_id=getattr(site, "pk", site),
        created_at=now,
        available_at=now + timedelta(seconds=delay_seconds),
        **fields,
    )
    event = kind == OutboxMessage.Kind.EVENT
    if dedup_key or event:
        done_sql, done_params = _event_done_sql(topic, now) if event else ("NULL", [])
        with connection.cursor() as cursor:
            # absorbed when the same work already waits (the partial unique index on waiting rows)
            cursor.execute(
                "INSERT INTO governance_outboxmessage (kind, topic, args, kwargs, payload, queue, dedup_key,"
                " site_id, created_at, available_at, attempts, last_error, document_key, done_at)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', %s, {done_sql})"
                + (" ON CONFLICT DO NOTHING" if dedup_key else "")
                + " RETURNING id, done_at",
                [
                    row.kind,
                    row.topic,
                    _json(row.args),
                    _json(row.kwargs),
                    _json(row.payload),
                    row.queue,
                    row.dedup_key,
                    row.site_id,
                    row.created_at,
                    row.available_at,
                    row.document_key,
                    *done_params,
                ],
            )
            found = cursor.fetchone()
        if found is None:
            return None
        row.pk, row.done_at = found
        row._state.adding = False
        if row.done_at is not None:
            return row  # an event no subscriber takes: in the feed, nothing to publish
    else:
        row.save(force_insert=True)
    if delay_seconds or not _publish_after_commit(row.pk):
        # wakes a waiting relay (once per batch: a row that joins this transaction's batch was announced with it)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
    return row


class _AfterCommit:
    """The rows one transaction wrote, published together by one after-commit callback (a transaction that writes
    200 events makes one claim and one round of publishing, not 200)."""

    def __init__(self, pk: int, savepoints: set):
        self.ids = [pk]
        self.started = False
        self.savepoints = savepoints  # where it was registered: rows of the same (or a nested) block join it

    def __call__(self) -> None:
        self.started = True  # rows written from now on (tasks run inline, the next transaction) start a new batch
        publish_now(self.ids)


def _publish_after_commit(pk: int) -> bool:
    """Publish the row after commit; True when it joined a batch this transaction already announced (NOTIFY)."""
    batch = getattr(connection, "_outbox_after_commit", None)
    here = set(connection.savepoint_ids)
    # join the pending batch of this block (or of a block that encloses this one); Django drops a callback when
    # its savepoint rolls back and runs and forgets it at commit; a block that ended (a released savepoint)
    # starts a new batch, which costs one more callback but never loses a row
    if (
        batch is not None
        and not batch.started
        and batch.savepoints <= here
        and any(entry[1] is batch for entry in connection.run_on_commit)
    ):
        batch.ids.append(pk)
        return True
    batch = _AfterCommit(pk, here)
    connection._outbox_after_commit = batch
    transaction.on_commit(batch)
    return False


def _json(value) -> str:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(value, cls=DjangoJSONEncoder)


# --- publishing ------------------------------------------------------------------------------------------------


def _app():
    """The project's Celery app: the current one (``distribution_erp/celery.py`` creates it when the settings
    package is imported; governance does not import the project package, tests/test_layers.py)."""
    from celery import current_app

    return current_app._get_current_object()


def _task(name: str):
    """The registered task of that name (importing its module, ``app.tasks.name``, when not loaded yet)."""
    import importlib

    app = _app()
    task = app.tasks.get(name)
    if task is None and "." in name:
        try:
            importlib.import_module(name.rsplit(".", 1)[0])
        except ImportError:
            pass
        task = app.tasks.get(name)
    return task


def lease_seconds(name: str) -> int:
    """How long a published row may stay not done before it is published again: the task's hard time limit
    (or the default) plus a margin, so a task still running inside its limit is not duplicated."""
    app = _app()
    task = _task(name)
    limit = getattr(task, "time_limit", None) or app.conf.task_time_limit
    return int(limit) + LEASE_MARGIN_SECONDS if limit else DEFAULT_LEASE_SECONDS


def _eager() -> bool:
    return bool(_app().conf.task_always_eager)


def broker_down_since() -> float | None:
    """The time.time() this process last found the broker down (cleared by the next successful publish)."""
    return _broker_down_since


def _broker_failed() -> bool:
    """Open the breaker; True when this starts an outage (the caller logs it once)."""
    global _broker_down_until, _broker_down_since
    with _breaker:
        _broker_down_until = time.monotonic() + BREAKER_SECONDS
        if _broker_down_since is None:
            _broker_down_since = time.time()
            return True
    return False


def _broker_ok() -> None:
    global _broker_down_until, _broker_down_since
    if _broker_down_since is not None:
        logger.warning("outbox: broker reachable again after %.1f s", time.time() - _broker_down_since)
    with _breaker:
        _broker_down_until = 0.0
        _broker_down_since = None


def _claim(*, ids=None, limit: int) -> list[OutboxMessage]:
    """Lease due rows (or the given ones, if still waiting) in a short transaction of their own."""
    now = timezone.now()
    with transaction.atomic():
        qs = OutboxMessage.objects.select_for_update(skip_locked=True, no_key=True).filter(done_at__isnull=True)
        if ids is not None:
            qs = qs.filter(pk__in=ids, dispatched_at__isnull=True)
        else:
            qs = qs.filter(available_at__lte=now)
        rows = list(qs.order_by("available_at", "id")[:limit])
        for row in rows:
            row.dispatched_at = now
            row.attempts += 1
            lease = lease_seconds(EVENT_TASK if row.kind == OutboxMessage.Kind.EVENT else row.topic)
            row.available_at = now + timedelta(seconds=lease)
        if rows:
            OutboxMessage.objects.bulk_update(rows, ["dispatched_at", "attempts", "available_at"])
    return rows


def _publish(row: OutboxMessage) -> None:
    task_id = f"{TASK_ID_PREFIX}{row.pk}-{row.attempts}"
    if row.kind == OutboxMessage.Kind.EVENT:
        name, args, kwargs = EVENT_TASK, [row.pk], {}
    else:
        name, args, kwargs = row.topic, row.args, row.kwargs
    task = _task(name)
    options = {"task_id": task_id}
    if row.queue:
        options["queue"] = row.queue
    if not _eager():
        options["retry"] = False  # one attempt: a broker error leaves the row to the relay
    if task is None:
        if _eager():
            raise LookupError(f"no task {name} in this process")
        _app().send_task(name, args=args, kwargs=kwargs, **options)  # a task only the workers have
    else:
        task.apply_async(args=args, kwargs=kwargs, **options)


def _unclaim(row: OutboxMessage, exc: BaseException) -> None:
    """Publishing failed (broker down): the row waits again (the relay's next poll), the attempt not counted."""
    OutboxMessage.objects.filter(pk=row.pk, done_at__isnull=True, attempts=row.attempts).update(
        dispatched_at=None,
        attempts=F("attempts") - 1,
        available_at=timezone.now(),
        last_error=f"publish: {type(exc).__name__}: {exc}"[:2000],
    )


def _dispatch(rows: list[OutboxMessage]) -> tuple[int, int]:
    """Publish claimed rows; stops at the first broker error (the rest are unclaimed). Returns (sent, failed)."""
    sent = 0
    for index, row in enumerate(rows):
        try:
            _publish(row)
        except Exception as exc:
            if _eager():
                # the task ran inline and raised (task_eager_propagates: Celery sends no task_failure then)
                mark_failed(row.pk, f"{type(exc).__name__}: {exc}")
                raise
            log = logger.warning if _broker_failed() else logger.debug
            log("outbox: broker refused %s (#%s): %s; left pending for the relay", row.topic, row.pk, exc)
            for rest in rows[index:]:
                _unclaim(rest, exc)
            return sent, len(rows) - index
        sent += 1
    if sent and not _eager():
        _broker_ok()
    return sent, 0


def publish_now(ids: list[int]) -> None:
    """The after-commit fast path. Never raises (in tests with eager tasks, a failing task's error propagates as
    a task run inline would); skipped while the circuit breaker is open."""
    if not _eager() and time.monotonic() < _broker_down_until:
        return
    try:
        rows = _claim(ids=ids, limit=len(ids))
        _dispatch(rows)
    except Exception:
        if _eager() and _app().conf.task_eager_propagates:
            raise
        logger.exception("outbox: fast path failed for %s; the relay will publish", ids)


def relay_outbox(limit: int = 100) -> dict:
    """Publish due rows (never dispatched, or whose lease ran out) until none is due or the broker fails.
    Returns {"sent": n, "failed": n}; a broker error leaves the rows pending for the next call."""
    sent = failed = 0
    while True:
        rows = _claim(limit=limit)
        if not rows:
            break
        ok, bad = _dispatch(rows)
        sent += ok
        failed += bad
        if bad or len(rows) < limit:
            break
    return {"sent": sent, "failed": failed}


# --- the task side ---------------------------------------------------------------------------------------------


def outbox_id(task_id: str | None) -> int | None:
    if not task_id or not task_id.startswith(TASK_ID_PREFIX):
        return None
    try:
        return int(task_id[len(TASK_ID_PREFIX) :].split("-", 1)[0])
    except ValueError:
        return None


def mark_done(pk: int) -> None:
    OutboxMessage.objects.filter(pk=pk, done_at__isnull=True).update(done_at=timezone.now(), last_error="")


def mark_failed(pk: int, error: str) -> None:
    """A run failed: retry with a backoff (2^attempts s, at most 5 min), or give up after MAX_ATTEMPTS."""
    row = OutboxMessage.objects.filter(pk=pk, done_at__isnull=True).only("attempts").first()
    if row is None:
        return
    now = timezone.now()
    if row.attempts >= MAX_ATTEMPTS:
        logger.error("outbox: giving up #%s after %s attempts: %s", pk, row.attempts, error)
        OutboxMessage.objects.filter(pk=pk).update(done_at=now, last_error=f"gave up: {error}"[:2000])
        return
    backoff = min(2**row.attempts, MAX_BACKOFF_SECONDS)
    OutboxMessage.objects.filter(pk=pk, done_at__isnull=True).update(
        available_at=now + timedelta(seconds=backoff), last_error=error[:2000]
    )


def deliver_event(pk: int) -> int:
    """Hand one EVENT row to every subscriber; returns how many there were."""
    row = OutboxMessage.objects.filter(pk=pk, kind=OutboxMessage.Kind.EVENT).first()
    if row is None or row.done_at:
        return 0
    for subscriber in list(_event_subscribers):
        subscriber(row)
    return len(_event_subscribers)


def _on_task_postrun(sender=None, task_id=None, state=None, **kwargs):
    pk = outbox_id(task_id)
    if pk is None or state != "SUCCESS":
        return
    try:
        mark_done(pk)
    except Exception:  # the row is published again after its lease; the task is idempotent
        logger.exception("outbox: could not mark #%s done", pk)


def _on_task_failure(sender=None, task_id=None, exception=None, **kwargs):
    pk = outbox_id(task_id)
    if pk is None:
        return
    try:
        mark_failed(pk, f"{type(exception).__name__}: {exception}")
    except Exception:
        logger.exception("outbox: could not record the failure of #%s", pk)


def connect_task_signals() -> None:
    from celery.signals import task_failure, task_postrun

    task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="governance.outbox.done")
    task_failure.connect(_on_task_failure, weak=False, dispatch_uid="governance.outbox.failed")


# --- housekeeping and reading ----------------------------------------------------------------------------------


def purge_outbox(*, older_than_days: int = PURGE_AFTER_DAYS, events_older_than_days: int | None = None) -> int:
    """Delete done rows older than a few days (events, which the ``events/`` feed and redeliveries read, after
    ``EVENT_RETENTION_DAYS``); returns how many."""
    now = timezone.now()
    cutoff = now - timedelta(days=older_than_days)
    event_days = EVENT_RETENTION_DAYS if events_older_than_days is None else events_older_than_days
    event_cutoff = now - timedelta(days=event_days)
    deleted, _ = (
        OutboxMessage.objects.filter(done_at__lt=cutoff)
        .exclude(kind=OutboxMessage.Kind.EVENT, done_at__gte=event_cutoff)
        .delete()
    )
    return deleted


def backlog() -> dict:
    """Rows not done: how many, how many due now, and the age in seconds of the oldest one."""
    from django.db.models import Count, Min, Q

    now = timezone.now()
    agg = OutboxMessage.objects.filter(done_at__isnull=True).aggregate(
        pending=Count("id"), due=Count("id", filter=Q(available_at__lte=now)), oldest=Min("created_at")
    )
    oldest = agg.pop("oldest")
    agg["oldest_pending_seconds"] = round((now - oldest).total_seconds(), 1) if oldest else 0.0
    return agg
