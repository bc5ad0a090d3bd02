"""Embedded services for running with no external configuration.

With no ``DATABASE_URL`` the project runs on an embedded PostgreSQL (the
``pgserver`` package ships the server binaries) kept in ``var/pgdata``; with
no ``REDIS_URL`` Celery uses a file-system broker in ``var/broker``. Both are
real: the database is PostgreSQL, and tasks are executed by a separate worker
process that reads the broker folder.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DISTRIBUTION_ERP_VAR_DIR", BASE_DIR / "var"))
DATABASE_NAME = "distribution_erp"

_server = None


def embedded_database_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return its URL.

    ``pgserver`` keeps one server per data folder and counts the processes
    that use it, so the web server, the worker, beat and the test runner can
    all call this and share one server.
    """
    global _server
    if _server is None:
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        import pgserver

        pgdata = VAR_DIR / "pgdata"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        _server = pgserver.get_server(pgdata, cleanup_mode=os.environ.get("EMBEDDED_PG_CLEANUP", "stop"))
        exists = _server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            _server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgresql://postgres:@localhost/{DATABASE_NAME}?host={VAR_DIR / 'pgdata'}"


def embedded_broker_settings() -> dict:
    folder = VAR_DIR / "broker"
    for sub in ("queue", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
        },
    }
