"""One owner per row (ARCHITECTURE.md, "Ownership, lifecycle and background work"): a write guard for the tests.

Every SQL statement that writes (INSERT, UPDATE, DELETE, SELECT .. FOR UPDATE is a read) a table of one of the
project's apps is attributed to the innermost frame of project code that issued it: the module of a service,
a serializer, a view. The owner of the table is the app of its model. A statement written by the code of one
app into another app's table is an ownership violation: the writer must call the owner's service instead.

The guard is installed on every database connection the test run opens (threads of the concurrency tests
included) by the autouse fixture in ``tests/conftest.py``; a test during which a violation happened fails,
naming the table, the writer and the line.

Rules:
- the writer is the innermost frame in ``governance/``, ``inventory/``, ``orders/``, ``warehouse/``, ``cutover/``,
  ``reporting/``, ``core/``, ``web/`` or ``distribution_erp/`` (skipping ``core/db.py``, whose helpers write for
  their caller);
  frames in ``tests/``, migrations and management commands of the tests are not judged;
- ``distribution_erp`` itself owns no rows; its API plumbing (``distribution_erp/api/``) may write governance's
  platform tables (idempotency records, API tokens); its pages (``web/``) and the demo loader
  write nothing themselves and call services;
- django-simple-history's tables belong to the app of the tracked model.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
APPS = ("governance", "inventory", "orders", "warehouse", "cutover", "reporting")
TRANSPARENT = (os.path.join("core", "db.py"),)
#: (writer, owner) pairs that are not violations.
ALLOWED = {
    ("core.api", "governance"),  # idempotency records (settings.IDEMPOTENCY_RECORD_MODEL)
}
WRITE = re.compile(r'^\s*(?:WITH\b.*?\)\s*)?(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([a-z0-9_]+)"?', re.I | re.S)


@dataclass(frozen=True)
class Violation:
    table: str
    owner: str
    writer: str
    where: str
    statement: str

    def __str__(self) -> str:
        return f"{self.writer} wrote {self.owner}'s table {self.table} at {self.where}: {self.statement[:120]}"


_owners: dict[str, str] | None = None
_lock = threading.Lock()
violations: list[Violation] = []


def table_owners() -> dict[str, str]:
    global _owners
    if _owners is None:
        from django.apps import apps

        owners = {}
        for model in apps.get_models(include_auto_created=True):
            label = model._meta.app_label
            if label in APPS:
                owners[model._meta.db_table] = label
        _owners = owners
    return _owners


def _writer() -> tuple[str, str] | None:
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(ROOT):
            rel = filename[len(ROOT) :]
            if rel.startswith(".venv" + os.sep) or rel in TRANSPARENT:
                frame = frame.f_back
                continue
            if rel.startswith("tests" + os.sep) or os.sep + "migrations" + os.sep in rel:
                return None
            top = rel.split(os.sep, 1)[0]
            if top in APPS:
                return top, f"{rel}:{frame.f_lineno}"
            if top in ("core", "web", "distribution_erp"):
                parts = rel.split(os.sep)
                sub = parts[1] if len(parts) > 2 else parts[1].removesuffix(".py")
                return f"{top}.{sub}", f"{rel}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def guard(execute, sql, params, many, context):
    match = WRITE.match(sql) if isinstance(sql, str) else None
    if match:
        table = match.group(2).lower()
        owner = table_owners().get(table)
        if owner is not None:
            found = _writer()
            if found is not None:
                writer, where = found
                if writer != owner and (writer, owner) not in ALLOWED:
                    with _lock:
                        violations.append(Violation(table, owner, writer, where, " ".join(sql.split())))
    return execute(sql, params, many, context)


def install(connection) -> None:
    if guard not in connection.execute_wrappers:
        connection.execute_wrappers.append(guard)


def take() -> list[Violation]:
    with _lock:
        found = list(violations)
        violations.clear()
    return found
