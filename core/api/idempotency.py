"""Idempotency-Key for POSTs that create documents (API.md, "Shared behaviour").

The same key with the same body returns the first response again (same status, same body) and creates
nothing more; the same key with a different body is a 422; a repeat while the first request is still running
is a 409. Only successful (2xx) answers are kept: a refusal keeps nothing, so the client may correct the
request and send it again with the same key.

**One transaction.** The request runs inside one transaction that first takes a transaction-scoped advisory
lock on (user, key) — a second request with the key while the first runs cannot take it and answers 409 at
once — then looks for the key's record (a committed one is replayed), runs the view, and writes the record
with the answer in the same transaction as the document. So a process killed at any point leaves either
nothing (PostgreSQL rolls the transaction back and frees the lock: the retry runs the request once) or the
document *and* its replayable record, never a claim without a document or a document without its record.
A deadlock or serialization failure retries the whole request a few times (the services' own retries cannot
run inside the outer transaction). Keys are kept at least ``IDEMPOTENCY_KEY_TTL``; ``purge_expired_keys``
removes older ones.

**Where the records live.** In the model ``settings.IDEMPOTENCY_RECORD_MODEL`` (``"app_label.Model"``, as
Django's ``AUTH_USER_MODEL``; here ``governance.IdempotencyRecord``): this plumbing is in ``core``, which imports
no app. The model needs the fields of ``governance.IdempotencyRecord`` (``user``, ``key``, ``method``, ``path``,
``request_hash``, ``status_code``, ``response_body``, ``response_headers``, ``created_at``, ``completed_at``).

Use :class:`core.api.mixins.IdempotentCreateMixin` on viewsets, or the :func:`idempotent` decorator
on any create-like view method.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import time
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.db import MAX_ATTEMPTS, _is_retryable

from .errors import problem


def record_model():
    """The model that stores the answers (``settings.IDEMPOTENCY_RECORD_MODEL``)."""
    return apps.get_model(settings.IDEMPOTENCY_RECORD_MODEL)


HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, like other header tokens


def request_fingerprint(request) -> str:
    """Method, path and the canonical JSON of the parsed body: the same request gives the same digest."""
    try:
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):  # pragma: no cover - parsers only produce JSON-like data
        canonical = repr(request.data)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def lock_key(user_id: int, key: str) -> int:
    """The advisory-lock id of (user, key): 64 bits of a digest (a collision only makes a repeat wait)."""
    digest = hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try_lock(user_id: int, key: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_key(user_id, key)])
        return cursor.fetchone()[0]


def _in_progress():
    return problem(
        409,
        "Request in progress",
        f"A request with this {HEADER} is still being processed; retry shortly.",
        code="idempotency_in_progress",
    )


def idempotent(view_method):
    """Decorate a viewset ``create`` (or create-like action) to honour the Idempotency-Key header."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        if not KEY_PATTERN.match(key):
            return problem(
                400,
                "Invalid input",
                f"{HEADER} is 1 to 255 visible ASCII characters.",
                code="invalid",
                errors=[{"field": HEADER, "code": "invalid", "message": "1 to 255 visible ASCII characters."}],
            )
        digest = request_fingerprint(request)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return _run_once(view_method, self, request, args, kwargs, key=key, digest=digest)
            except OperationalError as exc:
                if not _is_retryable(exc) or attempt == MAX_ATTEMPTS or connection.in_atomic_block:
                    raise
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    wrapper.idempotent = True
    return wrapper


def _run_once(view_method, view, request, args, kwargs, *, key: str, digest: str):
    user = request.user
    with transaction.atomic():
        if not _try_lock(user.pk, key):
            return _in_progress()
        record = record_model().objects.filter(user=user, key=key).first()
        if record is not None and record.completed_at is not None:
            return _answer_repeat(record, request, digest)
        if record is not None:
            # a claim written by the earlier two-transaction scheme whose request died: it never completed
            record.delete()
        response = view_method(view, request, *args, **kwargs)
        if not 200 <= response.status_code < 300:
            transaction.set_rollback(True)  # not a final answer: nothing is kept, the client may retry
            return response
        body = json.loads(JSONRenderer().render(response.data) or b"null")
        headers = {name: response[name] for name in ("ETag", "Location") if name in response}
        record_model().objects.create(
            user=user,
            key=key,
            method=request.method,
            path=request.path[:500],
            request_hash=digest,
            status_code=response.status_code,
            response_body=body,
            response_headers=headers,
            completed_at=timezone.now(),
        )
        return response


def _answer_repeat(record, request, digest: str) -> Response:
    if record.request_hash != digest or record.path != request.path or record.method != request.method:
        return problem(
            422,
            "Idempotency key reused",
            f"This {HEADER} was used with a different request; use a new key for a new request.",
            code="idempotency_key_reused",
        )
    response = Response(record.response_body, status=record.status_code)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAY_HEADER] = "true"
    return response


def purge_expired_keys(*, now=None) -> int:
    """Delete records older than IDEMPOTENCY_KEY_TTL (at least 24 hours); returns how many were deleted."""
    ttl = max(settings.IDEMPOTENCY_KEY_TTL, timedelta(hours=24))
    cutoff = (now or timezone.now()) - ttl
    deleted, _ = record_model().objects.filter(created_at__lt=cutoff).delete()
    return deleted
