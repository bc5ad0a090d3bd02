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
