"""Idempotency-Key for POSTs that create documents (API.md, "Shared behaviour").

The same key with the same body returns the first response again (same status, same body) and creates
nothing more; the same key with a different body is a 422; a repeat while the first request is still running
is a 409. The key is claimed in its own committed transaction before the work starts, so two concurrent
requests with one key cannot both run; a claim left unfinished by a crashed request is taken over after
``IDEMPOTENCY_STALE_AFTER``. Only successful (2xx) answers are kept: after a refusal the claim is released, so
the client may correct the request and send it again with the same key. Keys are kept at least
``IDEMPOTENCY_KEY_TTL``; ``purge_expired_keys`` removes older ones (run it from a periodic task).

Use :class:`distribution_erp.api.mixins.IdempotentCreateMixin` on viewsets, or the :func:`idempotent` decorator
on any create-like view method.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from governance.models import IdempotencyRecord

from .errors import problem

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, like other header tokens
DEFAULT_STALE_AFTER = timedelta(minutes=5)


def stale_after() -> timedelta:
    return getattr(settings, "IDEMPOTENCY_STALE_AFTER", DEFAULT_STALE_AFTER)


def request_fingerprint(request) -> str:
    """Method, path and the canonical JSON of the parsed body: the same request gives the same digest."""
    try:
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):  # pragma: no cover - parsers only produce JSON-like data
        canonical = repr(request.data)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


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
        claim = _claim(user=request.user, key=key, method=request.method, path=request.path, digest=digest)
        if isinstance(claim, IdempotencyRecord):
            return _answer_repeat(claim, request, digest)
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=claim).delete()
            raise
        if not 200 <= response.status_code < 300:
            IdempotencyRecord.objects.filter(pk=claim).delete()  # not a final answer: the client may retry
            return response
        body = json.loads(JSONRenderer().render(response.data) or b"null")
        headers = {name: response[name] for name in ("ETag", "Location") if name in response}
        IdempotencyRecord.objects.filter(pk=claim).update(
            status_code=response.status_code, response_body=body, response_headers=headers, completed_at=timezone.now()
        )
        return response

    wrapper.idempotent = True
    return wrapper


def _answer_repeat(record: IdempotencyRecord, request, digest: str) -> Response:
    if record.completed_at is None:
        return problem(
            409,
            "Request in progress",
            f"A request with this {HEADER} is still being processed; retry shortly.",
            code="idempotency_in_progress",
        )
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


def _claim(*, user, key: str, method: str, path: str, digest: str) -> int | IdempotencyRecord:
    """Insert the claim in its own transaction and return its id, or return the record that holds the key."""
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, method=method, path=path[:500], request_hash=digest
                )
            return record.pk
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is None:
                continue  # deleted meanwhile (released or purged): try again
            stale = existing.completed_at is None and existing.created_at < timezone.now() - stale_after()
            if stale and existing.request_hash == digest:
                # the request that claimed it crashed: take it over (one of several racing takers wins)
                IdempotencyRecord.objects.filter(pk=existing.pk, completed_at__isnull=True).delete()
                continue
            return existing
    return IdempotencyRecord.objects.get(user=user, key=key)


def purge_expired_keys(*, now=None) -> int:
    """Delete records older than IDEMPOTENCY_KEY_TTL (at least 24 hours); returns how many were deleted."""
    ttl = max(settings.IDEMPOTENCY_KEY_TTL, timedelta(hours=24))
    cutoff = (now or timezone.now()) - ttl
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
