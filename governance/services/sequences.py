from __future__ import annotations

from django.db import connection, transaction


def next_document_number(prefix: str, *, width: int = 6) -> str:
    """Take the next number of ``prefix`` (``SO`` -> ``SO-000124``).

    Gap-free and concurrency-safe: the counter row is incremented by one
    atomic upsert whose row lock lasts until the caller's transaction ends, so
    concurrent callers queue, and a rolled-back transaction gives its number
    back. Must be called inside the transaction that saves the document.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("next_document_number must run inside the transaction that saves the document")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO governance_documentsequence (prefix, last_value) VALUES (%s, 1) "
            "ON CONFLICT (prefix) DO UPDATE SET last_value = governance_documentsequence.last_value + 1 "
            "RETURNING last_value",
            [prefix],
        )
        (value,) = cursor.fetchone()
    return f"{prefix}-{value:0{width}d}"


__all__ = ["next_document_number", "transaction"]
