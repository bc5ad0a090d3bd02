"""Adoption records (issue 13): every refused scan, skipped scan and override on the floor, one ``FloorEvent`` each.

- **Refused scans** are recorded where they are refused: the scan screens' htmx checks and their posts, the task
  services' scan check (``confirmation_problems``) and the API's barcode reading (``ScanRefused``, through the
  ``inventory.signals.scan_refused`` signal). A refusal usually rolls back the transaction it happens in, so its
  event must outlive that rollback: inside a web or API request (:func:`collecting`, installed by
  :class:`FloorEventMiddleware`) an event recorded in a transaction waits in the request's buffer and is written
  when the request's transactions are over, in its own transaction; outside any transaction it is written at once
  (one INSERT). The same refusal seen twice within ``DUPLICATE_SECONDS`` (the screen's check, then the post of the
  same scan) is one event.
- **Skipped scans** (a confirmation without a scan the step asks for) and **overrides** (a short pick, a putaway
  elsewhere than suggested, a short refill) are written in the confirming transaction: when the confirmation rolls
  back, they did not happen.
- **Manual workarounds** (an inventory adjustment at a location and item shortly after a pick there) are not
  recorded: ``warehouse.selectors``-style reads derive them from the ledger (``reporting.kpis.manual_workarounds``).

Outside a request (a Celery task, a command) inside a transaction that rolls back, a refusal event is lost with it:
no refusal happens there today."""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from warehouse.models import FloorEvent

logger = logging.getLogger(__name__)

#: a refusal of the same scan (user, task, field, value) again within this many seconds is not another event
DUPLICATE_SECONDS = 120
P = FloorEvent.Process
K = FloorEvent.Kind


@dataclass
class _Scope:
    channel: str
    pending: list[dict] = field(default_factory=list)


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("floor_event_scope", default=None)


def channel_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return FloorEvent.Channel.API
    if path.startswith("/scan/"):
        return FloorEvent.Channel.SCREEN
    return FloorEvent.Channel.DESKTOP


def _clean(value, limit: int) -> str:
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:limit]


def record_floor_event(
    *,
    site_id: int,
    user,
    process: str,
    kind: str,
    field: str = "",
    code: str = "",
    expected="",
    scanned="",
    detail: str = "",
    task_id: int | None = None,
    task_ref: str = "",
    channel: str = "",
) -> None:
    """Record one floor event (see the module's doc for when it is written)."""
    scope = _scope.get()
    row = {
        "site_id": site_id,
        "user_id": user.pk if getattr(user, "is_authenticated", False) else None,
        "process": process,
        "kind": kind,
        "field": _clean(field, 20),
        "code": _clean(code, 30),
        "expected": _clean(expected, 80),
        "scanned": _clean(scanned, 80),
        "detail": _clean(detail, 200),
        "task_id": task_id,
        "task_ref": _clean(task_ref, 40),
        "channel": channel or (scope.channel if scope else FloorEvent.Channel.OTHER),
        "created_at": timezone.now(),
    }
    if kind == K.REFUSED_SCAN and scope is not None and connection.in_atomic_block:
        scope.pending.append(row)  # written after the request's transactions: kept when they roll back
        return
    _write([row])


def record_refused_scan(**kwargs) -> None:
    record_floor_event(kind=K.REFUSED_SCAN, **kwargs)


#: the fields of a task confirmation that are scans (a quantity is typed)
SCAN_FIELDS = ("location", "item", "lot")


def record_confirmation_scans(
    *,
    site_id: int,
    user,
    process: str,
    task_id: int,
    task_ref: str,
    problem,
    expected: dict[str, str],
    scanned: dict[str, str],
    quantity,
    maximum: int,
) -> None:
    """The events of one task confirmation checked by ``warehouse.policy.scan.confirmation_problems``: its problem
    on a scan field is a refused scan; accepted, a scan field the task asks for left empty is a skipped scan (the
    API may confirm without the item scan) and less than asked is a short override (pick, refill)."""
    common = {"site_id": site_id, "user": user, "process": process, "task_id": task_id, "task_ref": task_ref}
    if problem is not None:
        if problem.field in SCAN_FIELDS:
            record_refused_scan(
                **common,
                field=problem.field,
                code=problem.code,
                expected=expected.get(problem.field, ""),
                scanned=scanned.get(problem.field, ""),
                detail=problem.message,
            )
        return
    for name in SCAN_FIELDS:
        if expected.get(name) and not scanned.get(name):
            record_floor_event(
                **common,
                kind=K.SKIPPED_SCAN,
                field=name,
                code=f"no_{name}_scan",
                expected=expected[name],
                detail=f"Confirmed without the {name} scan.",
            )
    if isinstance(quantity, int) and quantity < maximum:
        record_floor_event(
            **common,
            kind=K.OVERRIDE,
            field="quantity",
            code="short",
            expected=maximum,
            scanned=quantity,
            detail=f"{quantity} of {maximum}: reported short.",
        )


def _duplicate(row: dict) -> bool:
    since = row["created_at"] - timedelta(seconds=DUPLICATE_SECONDS)
    return FloorEvent.objects.filter(
        kind=K.REFUSED_SCAN,
        process=row["process"],
        task_id=row["task_id"],
        user_id=row["user_id"],
        field=row["field"],
        scanned=row["scanned"],
        created_at__gte=since,
    ).exists()


def _write(rows: list[dict]) -> None:
    for row in rows:
        if row["kind"] == K.REFUSED_SCAN and _duplicate(row):
            continue
        FloorEvent(**row).save(force_insert=True)


def flush_pending(scope: _Scope) -> None:
    """Write the events a request buffered, in their own transaction (a savepoint when one is still open)."""
    rows, scope.pending = scope.pending, []
    if not rows:
        return
    try:
        with transaction.atomic():
            _write(rows)
    except DatabaseError:  # never turn a refusal into a 500 because its record could not be written
        logger.exception("floor events lost: %s", [(r["kind"], r["task_ref"], r["field"]) for r in rows])


@contextmanager
def collecting(channel: str = FloorEvent.Channel.OTHER):
    """Buffer refusal events recorded inside transactions until the block ends, then write them (a request)."""
    scope = _Scope(channel)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        flush_pending(scope)


class FloorEventMiddleware:
    """Every request collects its refusal events and writes them once its view (and its transactions) are done."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with collecting(channel_for_path(request.path)):
            return self.get_response(request)


def task_record(user, task) -> dict:
    """What an API refusal of a scan for ``task`` (a pick, refill or putaway task) is recorded against."""
    from warehouse.models import PickTask, PutawayTask, ReplenishmentTask

    if isinstance(task, PickTask):
        process, prefix = (P.TRANSFER_PICK if task.transfer_line_id else P.PICK), "PICK"
    elif isinstance(task, ReplenishmentTask):
        process, prefix = P.REFILL, "REPL"
    elif isinstance(task, PutawayTask):
        process, prefix = P.PUTAWAY, "PUT"
    else:  # pragma: no cover - a programming error
        raise TypeError(f"not a task: {task!r}")
    return {
        "site_id": task.site_id,
        "user": user,
        "process": process,
        "task_id": task.pk,
        "task_ref": f"{prefix}-{task.pk}",
    }


def floor_record(request, task) -> dict:
    return task_record(request.user, task)


def on_scan_refused(
    sender,
    *,
    site_id,
    user,
    process,
    field="",
    code="",
    expected="",
    scanned="",
    detail="",
    task_id=None,
    task_ref="",
    **kwargs,
) -> None:
    """Receiver of ``inventory.signals.scan_refused`` (the API's barcode refusals, counts included)."""
    record_refused_scan(
        site_id=site_id,
        user=user,
        process=process,
        field=field,
        code=code,
        expected=expected,
        scanned=scanned,
        detail=detail,
        task_id=task_id,
        task_ref=task_ref,
    )


def on_scan_skipped(
    sender,
    *,
    site_id,
    user,
    process,
    field="",
    code="",
    expected="",
    scanned="",
    detail="",
    task_id=None,
    task_ref="",
    **kwargs,
) -> None:
    """Receiver of ``inventory.signals.scan_skipped`` (a count entered through the API without a location scan)."""
    record_floor_event(
        site_id=site_id,
        user=user,
        process=process,
        kind=K.SKIPPED_SCAN,
        field=field,
        code=code,
        expected=expected,
        detail=detail,
        task_id=task_id,
        task_ref=task_ref,
    )


def connect() -> None:
    from inventory.signals import scan_refused, scan_skipped

    scan_refused.connect(on_scan_refused, dispatch_uid="warehouse.floor.scan_refused", weak=False)
    scan_skipped.connect(on_scan_skipped, dispatch_uid="warehouse.floor.scan_skipped", weak=False)
