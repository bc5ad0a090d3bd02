"""Embedded services for running with no external configuration.

With no ``DATABASE_URL`` the project runs on an embedded PostgreSQL (the
``pgserver`` package ships the server binaries) kept in ``var/pgdata``; with
no ``REDIS_URL`` Celery uses a file-system broker in ``var/broker``. Both are
real: the database is PostgreSQL, and tasks are executed by a separate worker
process that reads the broker folder.

``scripts/run.py`` (``make run``) and ``scripts/with_database.py`` (``make
test``) start the server once, export ``DATABASE_URL`` pointing at its socket
and hand that to their child processes, so every process shares one server and
it stops when the launcher exits. A process started with no ``DATABASE_URL`` at
all (``python manage.py shell``) attaches to the same server through
``pgserver``, which counts the processes using a data folder and stops the
server when the last one exits (``EMBEDDED_PG_CLEANUP=keep`` leaves it running).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from pgserver import PostgresServer

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DISTRIBUTION_ERP_VAR_DIR", BASE_DIR / "var"))
PGDATA = VAR_DIR / "pgdata"
DATABASE_NAME = "distribution_erp"

_server: PostgresServer | None = None


def _cleanup_mode(value: str | None) -> str | None:
    value = (value or os.environ.get("EMBEDDED_PG_CLEANUP") or "stop").strip().lower()
    if value in {"keep", "none", "no", "0"}:
        return None
    if value not in {"stop", "delete"}:
        raise ValueError(f"EMBEDDED_PG_CLEANUP must be stop, keep or delete, not {value!r}")
    return value


def _forget_dead_handles() -> None:
    """Drop processes that died without saying goodbye (kill -9) from pgserver's list of users.

    pgserver stops the server when the last process in that list exits; a dead process left in it would
    keep the server running for ever.
    """
    handles = PGDATA / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive.append(pid)
    if alive != pids:
        handles.write_text(json.dumps(alive))


def start_database(*, cleanup_mode: str | None = None) -> PostgresServer:
    """Start the embedded PostgreSQL (or attach to the one already running on ``var/pgdata``).

    The server and the ``distribution_erp`` database are created on first use. ``cleanup_mode``:
    ``stop`` (default) stops the server when the last process using it exits, ``keep`` leaves it running,
    ``delete`` also removes the data folder.
    """
    global _server
    if _server is None:
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        import pgserver

        PGDATA.parent.mkdir(parents=True, exist_ok=True)
        with pgserver.PostgresServer._lock:
            _forget_dead_handles()
        server = pgserver.get_server(PGDATA, cleanup_mode=_cleanup_mode(cleanup_mode))
        with pgserver.PostgresServer._lock:
            exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
            if "(1 row)" not in exists:
                server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        _server = server
    return _server


def stop_database() -> None:
    """Let go of the embedded server; it stops if this was the last process using it (cleanup mode ``stop``)."""
    global _server
    if _server is not None:
        _server.cleanup()
        _server = None


def socket_dir() -> Path:
    """The folder holding the server's Unix socket (``var/pgdata`` unless that path is too long for a socket)."""
    return Path(start_database().get_postmaster_info().socket_dir)


def database_url() -> str:
    """A ``DATABASE_URL`` for the embedded server (starting it if needed), e.g.
    ``postgresql://postgres@%2Fhome%2Fme%2Ferp%2Fvar%2Fpgdata/distribution_erp``: the host is the socket folder,
    percent-encoded, which ``dj-database-url`` and ``psql`` both understand."""
    return f"postgresql://postgres@{quote(str(socket_dir()), safe='')}/{DATABASE_NAME}"


def embedded_database_url() -> str:
    """Kept for callers of the first version: same as :func:`database_url`."""
    return database_url()


def embedded_broker_settings() -> dict:
    folder = VAR_DIR / "broker"
    for sub in ("queue", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://localhost//",
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            # kombu polls the folder once a second by default, which drains a backlog (the demo's releases) at
            # about one task per worker process per second
            "polling_interval": 0.1,
        },
    }
