"""Bulk writes (issue 14): up to ``MAX_ROWS`` rows in one request, each created or updated by its natural key
through the *same* serializers and services as the single-row endpoints, with one result per row.

Body ``{"rows": [...], "atomic": false}``:

- **not atomic** (the default): every row is written in its own savepoint (its own transaction without an
  ``Idempotency-Key``); a bad row is reported and the good ones are written. The answer is always 200 with
  ``{results: [{index, status, id, key, code, errors}], created, updated, failed}``, whatever failed.
- **atomic**: every row is validated first; if one fails nothing is written. Then all rows are written in one
  transaction; an error found only while writing (a rule checked under lock, a row another request created
  meanwhile that cannot be updated) rolls every row back. A refusal is a 422 problem whose body carries the same
  ``results`` (the failed rows with their errors, the others ``skipped``) and counts.

A row of a key created by a concurrent request in the meantime (a unique conflict) is written again as an update
of that row, so two bulk requests creating the same key never both create it and never answer 500.

A resource plugs in with a :class:`BulkHandler` (which serializer and service create and update a row) and a view
that calls :func:`run_bulk`. More than ``MAX_ROWS`` rows is a 400 and nothing is read or written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.http import Http404
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.errors import DomainError

from .errors import _flatten, problem_body
from .idempotency import idempotent
from .mixins import ApiViewMixin

MAX_ROWS = 1000

CREATED, UPDATED, ERROR, SKIPPED = "created", "updated", "error", "skipped"


# --- request and response shapes ---------------------------------------------------------------------------


class RowsSerializer(serializers.Serializer):
    """What every bulk endpoint reads: 1 to ``MAX_ROWS`` rows (each validated later by the resource's own
    serializer, so that one bad row is that row's error, not the request's)."""

    rows = serializers.ListField(child=serializers.JSONField(), allow_empty=False)

    def validate_rows(self, rows):
        if len(rows) > MAX_ROWS:
            raise ValidationError(
                f"At most {MAX_ROWS:,} rows per request; this one has {len(rows):,}. Send the rest in another "
                "request. Nothing was written.",
                code="too_many_rows",
            )
        return rows


class BulkRequestSerializer(RowsSerializer):
    atomic = serializers.BooleanField(default=False)


def bulk_request_serializer(name: str, row_serializer: type[serializers.Serializer], doc: str):
    """The documented request of one bulk endpoint: ``rows`` are ``row_serializer`` objects."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "__doc__": doc,
            "rows": row_serializer(many=True, max_length=MAX_ROWS, help_text=f"1 to {MAX_ROWS:,} rows"),
            "atomic": serializers.BooleanField(
                default=False, help_text="true: all rows are written or none (any failed row refuses the request)"
            ),
        },
    )


class BulkRowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in `rows`, from 0")
    status = serializers.ChoiceField(
        choices=[CREATED, UPDATED, ERROR, SKIPPED],
        help_text="`skipped`: valid, but not written because another row failed an atomic request",
    )
    id = serializers.IntegerField(allow_null=True, help_text="The object's id (created or updated rows)")
    key = serializers.CharField(allow_null=True, help_text="The row's natural key as given (sku, site/code, code)")
    code = serializers.CharField(allow_null=True, help_text="Machine-readable reason of an error row")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text="Error rows: field -> messages, the same messages as the single-row endpoint",
    )


class BulkResultSerializer(serializers.Serializer):
    results = BulkRowResultSerializer(many=True)
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    failed = serializers.IntegerField()


class BulkProblemSerializer(serializers.Serializer):
    """An atomic bulk request refused: nothing was written; ``results`` says which rows failed and why."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    # absent from the other 422 (an Idempotency-Key reused with another body)
    results = BulkRowResultSerializer(many=True, required=False)
    created = serializers.IntegerField(required=False)
    updated = serializers.IntegerField(required=False)
    failed = serializers.IntegerField(required=False)


# --- row errors --------------------------------------------------------------------------------------------


class RowFailed(Exception):
    """A row's refusal as ``{field: [messages]}`` with a machine-readable code."""

    def __init__(self, errors: dict[str, list[str]], code: str = "invalid"):
        super().__init__(code)
        self.errors = errors
        self.code = code


def _grouped(flat: Iterable[dict]) -> tuple[dict[str, list[str]], str]:
    errors: dict[str, list[str]] = {}
    code = ""
    for error in flat:
        errors.setdefault(error["field"], []).append(str(error["message"]))
        code = code or str(error.get("code") or "")
    return errors, code or "invalid"


def row_failure(exc: Exception) -> RowFailed:
    """Any refusal a serializer or service raises for one row, in the per-row shape; other exceptions propagate."""
    if isinstance(exc, RowFailed):
        return exc
    if isinstance(exc, ValidationError):
        errors, code = _grouped(_flatten(exc.detail))
        return RowFailed(errors, code)
    if isinstance(exc, DomainError):
        flat = exc.errors or [{"field": exc.field or "non_field_errors", "code": exc.code, "message": exc.message}]
        errors, first_code = _grouped(flat)
        # the error's own code (permission_denied, state_conflict ...); a validation's: its first field's code
        return RowFailed(errors, first_code if exc.code in ("invalid", "domain_error") else exc.code)
    if isinstance(exc, Http404):
        return RowFailed({"non_field_errors": ["No such object, or it is not visible to you."]}, "not_found")
    if isinstance(exc, DjangoValidationError):
        return RowFailed({"non_field_errors": list(exc.messages)}, getattr(exc, "code", None) or "invalid")
    if isinstance(exc, DataError):
        return RowFailed({"non_field_errors": ["A value in the row cannot be stored."]}, "invalid")
    if isinstance(exc, IntegrityError):
        return RowFailed(
            {"non_field_errors": ["The row conflicts with data written at the same time; send it again."]}, "conflict"
        )
    raise exc


#: codes of "the key exists already" (a service's own check, or full_clean's unique / unique constraint check)
UNIQUE_CODES = frozenset({"unique", "unique_together"})


def is_unique_conflict(exc: Exception) -> bool:
    """A create refused because the key exists (now): the service's ``unique`` error or the database's."""
    if isinstance(exc, IntegrityError):
        return True
    if isinstance(exc, DomainError):
        return any(e.get("code") in UNIQUE_CODES for e in exc.errors or []) or exc.code in UNIQUE_CODES
    return False


ROW_ERRORS = (ValidationError, DomainError, Http404, DjangoValidationError, DataError, IntegrityError, RowFailed)


# --- one resource ----------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """A validated row: what to write. ``instance`` None: create."""

    row: dict
    key: Any
    instance: Any
    data: dict = field(default_factory=dict)


class BulkHandler:
    """How one resource's rows are created or updated. Subclasses define :meth:`key_of`, :meth:`fetch_existing`,
    :meth:`validate_create`, :meth:`validate_update`, :meth:`create` and :meth:`update` with the resource's own
    serializers and services; the handler holds the request's user and serializer context."""

    #: the fields that name a row (shown in the duplicate-row error)
    key_fields: tuple[str, ...] = ()

    def __init__(self, *, user, context: dict):
        self.user = user
        self.context = context
        self.existing: dict = {}

    # what subclasses say
    def key_of(self, row: dict):
        """The row's natural key (hashable), or None when the row does not name one validly."""
        raise NotImplementedError

    def key_text(self, key) -> str | None:
        return None if key is None else (key if isinstance(key, str) else "/".join(str(k) for k in key))

    def fetch_existing(self, keys: list) -> dict:
        """key -> existing object, for every key of the request (one query or a few: no N+1)."""
        raise NotImplementedError

    def validate_create(self, row: dict) -> dict:
        raise NotImplementedError

    def validate_update(self, row: dict, instance) -> dict:
        raise NotImplementedError

    def create(self, data: dict):
        raise NotImplementedError

    def update(self, instance, data: dict):
        raise NotImplementedError

    def check_request(self) -> None:
        """Refuse the whole request (raise a DomainError) when the user may write none of it, like the single
        endpoint would (default: nothing; rights are checked per row by the services)."""

    # the steps
    def plan(self, row: dict, key) -> Plan:
        instance = self.existing.get(key)
        if instance is None:
            return Plan(row=row, key=key, instance=None, data=self.validate_create(row))
        return Plan(row=row, key=key, instance=instance, data=self.validate_update(row, instance))

    def write(self, plan: Plan) -> tuple[str, Any]:
        if plan.instance is not None:
            return UPDATED, self.update(plan.instance, plan.data)
        try:
            # the services are atomic themselves: a refused create leaves nothing behind in the row's transaction
            return CREATED, self.create(plan.data)
        except (DomainError, IntegrityError) as exc:
            if not is_unique_conflict(exc):
                raise
            # created meanwhile by another request (committed now): update that row instead
            instance = self.fetch_existing([plan.key]).get(plan.key)
            if instance is None:
                raise
            self.existing[plan.key] = instance
            return UPDATED, self.update(instance, self.validate_update(plan.row, instance))


# --- running a request -------------------------------------------------------------------------------------------


@dataclass
class RowResult:
    index: int
    status: str
    key: str | None = None
    id: int | None = None
    code: str | None = None
    errors: dict[str, list[str]] | None = None

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "status": self.status,
            "id": self.id,
            "key": self.key,
            "code": self.code,
            "errors": self.errors,
        }


def _error(index: int, key: str | None, failure: RowFailed) -> RowResult:
    return RowResult(index=index, status=ERROR, key=key, code=failure.code, errors=failure.errors)


def _body(results: list[RowResult]) -> dict:
    return {
        "results": [r.as_dict() for r in results],
        "created": sum(r.status == CREATED for r in results),
        "updated": sum(r.status == UPDATED for r in results),
        "failed": sum(r.status == ERROR for r in results),
    }


class _RollBack(Exception):
    pass


def _keys(handler: BulkHandler, rows: list) -> tuple[list, dict[int, RowResult]]:
    """Every row's key; rows that are not objects, or repeat an earlier row's key, fail at once."""
    keys: list = []
    failed: dict[int, RowResult] = {}
    first_index: dict = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            keys.append(None)
            failed[index] = _error(index, None, RowFailed({"non_field_errors": ["A row is a JSON object."]}))
            continue
        key = handler.key_of(row)
        keys.append(key)
        if key is None:
            continue  # the serializer reports the missing or invalid key fields
        if key in first_index:
            names = " and ".join(handler.key_fields)
            failed[index] = _error(
                index,
                handler.key_text(key),
                RowFailed(
                    {handler.key_fields[-1]: [f"Row {first_index[key]} has the same {names}; send each once."]},
                    "duplicate",
                ),
            )
        else:
            first_index[key] = index
    return keys, failed


def _one_row(handler: BulkHandler, index: int, row: dict, key) -> RowResult:
    text = handler.key_text(key)
    try:
        with transaction.atomic():
            outcome, obj = handler.write(handler.plan(row, key))
    except ROW_ERRORS as exc:
        return _error(index, text, row_failure(exc))
    if key is not None:
        handler.existing[key] = obj
    return RowResult(index=index, status=outcome, key=text, id=obj.pk)


def lock_keys(handler: BulkHandler, keys: list) -> None:
    """Take a transaction-scoped advisory lock per key, in one global order (sorted ids): two requests that
    write the same keys in one transaction each (atomic, or under an Idempotency-Key) wait for each other instead
    of deadlocking on rows inserted in different orders."""
    ids = sorted(
        {
            int.from_bytes(
                hashlib.sha256(f"bulk:{type(handler).__name__}:{handler.key_text(k)}".encode()).digest()[:8],
                "big",
                signed=True,
            )
            for k in keys
            if k is not None
        }
    )
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_advisory_xact_lock(id)) FROM unnest(%s::bigint[]) AS t(id)", [ids])


def run_bulk(handler: BulkHandler, data) -> Response:
    """Validate the request, write its rows as the module says, and answer (200, or 422 for a refused atomic
    request). Raises DRF's ValidationError for a malformed request (400: nothing is read or written)."""
    request = BulkRequestSerializer(data=data)
    request.is_valid(raise_exception=True)
    rows, atomic = request.validated_data["rows"], request.validated_data["atomic"]
    handler.check_request()
    keys, failed = _keys(handler, rows)
    if not atomic and not connection.in_atomic_block:
        # each row is its own transaction: it holds one key's row at a time, no lock order to keep
        handler.existing = handler.fetch_existing([k for k in keys if k is not None])
        return Response(_body(_each_row(handler, rows, keys, failed)), status=status.HTTP_200_OK)
    try:
        with transaction.atomic():
            lock_keys(handler, keys)
            handler.existing = handler.fetch_existing([k for k in keys if k is not None])
            if not atomic:  # rows in savepoints of the Idempotency-Key's transaction
                return Response(_body(_each_row(handler, rows, keys, failed)), status=status.HTTP_200_OK)
            results = _all_rows(handler, rows, keys, failed)
            if failed:
                raise _RollBack
            return Response(_body(results), status=status.HTTP_200_OK)
    except _RollBack:
        return _refused(handler, rows, keys, failed)


def _each_row(handler: BulkHandler, rows: list, keys: list, failed: dict[int, RowResult]) -> list[RowResult]:
    return [
        failed[index] if index in failed else _one_row(handler, index, row, keys[index])
        for index, row in enumerate(rows)
    ]


def _all_rows(handler: BulkHandler, rows: list, keys: list, failed: dict[int, RowResult]) -> list[RowResult]:
    """Atomic: validate every row, then (only if all are valid) write them in order, each in a savepoint so that
    a failure found while writing is reported for its row and the later rows are still tried."""
    plans: dict[int, Plan] = {}
    for index, row in enumerate(rows):
        if index in failed:
            continue
        try:
            plans[index] = handler.plan(row, keys[index])
        except ROW_ERRORS as exc:
            failed[index] = _error(index, handler.key_text(keys[index]), row_failure(exc))
    results: list[RowResult] = []
    if failed:
        return results
    for index, plan in plans.items():
        text = handler.key_text(plan.key)
        try:
            with transaction.atomic():
                outcome, obj = handler.write(plan)
        except ROW_ERRORS as exc:
            failed[index] = _error(index, text, row_failure(exc))
            continue
        results.append(RowResult(index=index, status=outcome, key=text, id=obj.pk))
    return results


def _refused(handler: BulkHandler, rows: list, keys: list, failed: dict[int, RowResult]) -> Response:
    everything = [
        failed.get(index) or RowResult(index=index, status=SKIPPED, key=handler.key_text(keys[index]))
        for index in range(len(rows))
    ]
    body = problem_body(
        422,
        "Bulk request refused",
        f"{len(failed)} of {len(rows)} rows failed and the request is atomic: nothing was written. "
        "See `results` for every failed row.",
        code="bulk_rows_failed",
    )
    body.update(_body(everything))
    response = Response(body, status=422)
    response.content_type = "application/problem+json"
    return response


class BulkView(ApiViewMixin, GenericAPIView):
    """POST ``{rows, atomic}``: the rows written by ``handler_class``; an ``Idempotency-Key`` replays the first
    answer. Subclasses document ``post`` with ``extend_schema_view``."""

    handler_class: type[BulkHandler]
    #: what OPTIONS describes (subclasses: their documented request, with the rows' fields)
    serializer_class = BulkRequestSerializer

    @idempotent
    def post(self, request, *args, **kwargs):
        return run_bulk(self.handler_class(user=request.user, context=self.get_serializer_context()), request.data)
