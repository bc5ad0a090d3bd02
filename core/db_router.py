"""Scaling the database past one server (issue 16): reports from a read replica, and connection pooling.

**Reports from a replica.** With ``REPORTING_DATABASE_URL`` set (a streaming replica of the primary), the
``reporting`` database alias exists and :class:`ReportingRouter` sends the reads made inside
:func:`reporting_reads` to it: the KPI pages and API (``reporting.selectors``) compute there, so heavy report
queries do not compete with order intake on the primary. Everything else, every write and every read outside the
block, stays on ``default``. A replica lags the primary by its replication delay (usually well under a second): a
KPI may not yet count the last moments' work. Off by default: without the URL there is no alias and the block
changes nothing. In tests the alias mirrors ``default`` (``TEST.MIRROR``).

**Connection pooling (PgBouncer).** The code relies on no session state between transactions: advisory locks are
transaction-scoped (``pg_try_advisory_xact_lock``), ``SET`` is only ``SET TRANSACTION``, no temporary tables. So
PgBouncer in **transaction** pooling mode works with ``DATABASE_POOLER=pgbouncer``, which turns off what
transaction pooling cannot carry: server-side cursors (``DISABLE_SERVER_SIDE_CURSORS``; ``QuerySet.iterator()``
then fetches in chunks client-side) and psycopg's automatic prepared statements (``prepare_threshold=None``). The
outbox relay's ``LISTEN`` needs a session of its own: give it a direct connection with
``OUTBOX_LISTEN_DATABASE_URL`` (without one, behind PgBouncer it only polls, every second).
"""

from __future__ import annotations

import contextlib
import contextvars

REPORTING_ALIAS = "reporting"
_reading = contextvars.ContextVar("reporting_reads", default=False)


@contextlib.contextmanager
def reporting_reads():
    """Reads inside the block go to the reporting replica when one is configured."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reporting_alias_configured() -> bool:
    from django.conf import settings

    return REPORTING_ALIAS in settings.DATABASES


class ReportingRouter:
    """Reads inside :func:`reporting_reads` -> the replica; all else (and every write) -> default."""

    def db_for_read(self, model, **hints):
        if _reading.get() and reporting_alias_configured():
            return REPORTING_ALIAS
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPORTING_ALIAS  # a replica is migrated by replication, never directly


def reporting_database(url: str, default: dict, parse) -> dict:
    """The ``reporting`` alias's settings from its URL: like ``default``, read only, mirroring ``default`` in
    tests (so a test sees its own rows through it)."""
    db = parse(url, conn_max_age=default.get("CONN_MAX_AGE", 60), conn_health_checks=True)
    db["TEST"] = {"MIRROR": "default"}
    return db


def pooler_options(database: dict, pooler: str) -> dict:
    """``default``'s settings adapted to the connection pooler named by ``DATABASE_POOLER`` ("" or "pgbouncer")."""
    pooler = (pooler or "").strip().lower()
    if pooler not in ("", "pgbouncer"):
        raise ValueError(f"DATABASE_POOLER={pooler!r}: use 'pgbouncer' or leave it unset")
    if pooler == "pgbouncer":
        database = {**database, "DISABLE_SERVER_SIDE_CURSORS": True}
        database["OPTIONS"] = {**database.get("OPTIONS", {}), "prepare_threshold": None}
    return database
