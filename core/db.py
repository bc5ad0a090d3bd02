"""Database helpers shared by services: transactions that retry on deadlock or serialization failure,
and row-locking in a fixed order (Saleor's lock_objects pattern)."""

from __future__ import annotations

import functools
import random
import time

from django.db import OperationalError, connection, transaction

RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock not available
MAX_ATTEMPTS = 5


def _is_retryable(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def atomic_with_retry(func):
    """Run ``func`` in its own transaction, retrying a few times when PostgreSQL aborts it for a deadlock or
    a serialization failure. Inside an outer transaction it runs in a savepoint (the outer owner decides
    about retries)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: all or nothing even inside the caller's transaction
                return func(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as exc:
                if not _is_retryable(exc) or attempt == MAX_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


def lock_rows(queryset):
    """Lock the rows of ``queryset`` in primary-key order and return them as a list (evaluated now)."""
    return list(queryset.order_by("pk").select_for_update(of=("self",), no_key=True))


def _array_cast(field, conn) -> str:
    db_type = field.target_field.db_type(conn) if field.is_relation else field.db_type(conn)
    if db_type in ("serial", "bigserial"):
        return "bigint"
    if "check" in db_type.lower():  # e.g. "integer CHECK (...)" of positive fields
        db_type = db_type.split(" ")[0]
    return db_type


def bulk_update_columns(model, objs, fields: list[str]) -> int:
    """UPDATE many rows with their own values in one statement (``UPDATE .. FROM unnest(arrays)``).

    Django's ``bulk_update`` builds a CASE expression per field and row, which costs more Python time than
    the database work on hot paths (allocation, the ledger); this writes the same result directly.
    """
    if not objs:
        return 0
    from django.db import connection as conn

    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    arrays = [[pk.get_db_prep_value(obj.pk, conn) for obj in objs]]
    for field in columns:
        arrays.append([field.get_db_prep_save(getattr(obj, field.attname), conn) for obj in objs])
    casts = [_array_cast(pk, conn)] + [_array_cast(field, conn) for field in columns]
    aliases = ["pk"] + [f"c{i}" for i in range(len(columns))]
    sets = ", ".join(f'"{field.column}" = v.c{i}' for i, field in enumerate(columns))
    unnest = ", ".join(f"%s::{cast}[]" for cast in casts)
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {sets} FROM unnest({unnest}) AS v({", ".join(aliases)}) '
        f'WHERE t."{pk.column}" = v.pk'
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount


def bulk_insert_rows(model, fields: list[str], rows: list[tuple]) -> int:
    """INSERT plain tuples (values in ``fields`` order, already in their database form: ints, strings, bools,
    datetimes) in one ``INSERT .. SELECT unnest(..)`` statement, without building model instances.
    For hot paths; use ``bulk_create`` everywhere else."""
    if not rows:
        return 0
    from django.db import connection as conn

    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    arrays = [list(col) for col in zip(*rows, strict=True)]
    casts = [_array_cast(field, conn) for field in columns]
    cols = ", ".join(f'"{field.column}"' for field in columns)
    unnest = ", ".join(f"%s::{cast}[]" for cast in casts)
    with conn.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{meta.db_table}" ({cols}) SELECT * FROM unnest({unnest})', arrays)
        return cursor.rowcount


def snapshot_history(model, ids: list[int], *, when, reason: str, user_id: int | None = None) -> int:
    """Write one django-simple-history row per object of ``ids`` (history_type '~'), copied from the
    current table in one statement — the same rows ``bulk_history_create`` makes, for hot paths."""
    if not ids:
        return 0
    from django.db import connection as conn

    history = model.history.model
    tracked = [f for f in model._meta.concrete_fields]
    tracked_cols = ", ".join(f'"{f.column}"' for f in tracked)
    sql = (
        f'INSERT INTO "{history._meta.db_table}" ({tracked_cols}, "history_date", "history_change_reason", '
        f'"history_type", "history_user_id") SELECT {tracked_cols}, %s, %s, \'~\', %s FROM "{model._meta.db_table}" '
        f'WHERE "{model._meta.pk.column}" = ANY(%s)'
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, [when, reason, user_id, list(ids)])
        return cursor.rowcount
