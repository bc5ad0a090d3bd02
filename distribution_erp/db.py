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
    a serialization failure. Inside an outer transaction it just runs (the outer owner decides)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
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
    return list(queryset.order_by("pk").select_for_update(of=("self",)))


def bulk_update_columns(model, objs, fields: list[str]) -> int:
    """UPDATE many rows with their own values in one statement (``UPDATE .. FROM (VALUES ..)``).

    Django's ``bulk_update`` builds a CASE expression per field and row, which costs more Python time than
    the database work on hot paths (allocation, the ledger); this writes the same result directly.
    """
    if not objs:
        return 0
    from django.db import connection as conn

    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    values_sql, params = [], []
    for obj in objs:
        row = [pk.get_db_prep_value(obj.pk, conn)]
        for field in columns:
            row.append(field.get_db_prep_save(getattr(obj, field.attname), conn))
        params.extend(row)
        values_sql.append("(" + ", ".join(["%s"] * len(row)) + ")")
    casts = [pk.db_type(conn)] + [field.db_type(conn) for field in columns]
    alias_cols = ["pk"] + [f"c{i}" for i in range(len(columns))]
    # cast the first row's placeholders so PostgreSQL knows every column's type
    first = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    values_sql[0] = first
    sets = ", ".join(f'"{field.column}" = v.c{i}' for i, field in enumerate(columns))
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {sets} FROM (VALUES {", ".join(values_sql)}) '
        f'AS v({", ".join(alias_cols)}) WHERE t."{pk.column}" = v.pk'
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
