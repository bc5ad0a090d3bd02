"""The scratch database of the benchmarks (BENCH_DATABASE_URL, default erp_bench): created when missing, migrated,
Django set up with eager tasks and DEBUG off, and emptied of the tables a benchmark names. Not a benchmark itself
(scripts/bench.py runs only bench_*.py)."""

from __future__ import annotations

import logging
import os

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench")


def ensure_database(url: str = BENCH_URL) -> None:
    import psycopg

    base, name = url.split("?")[0].rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str = BENCH_URL) -> None:
    """Create the database if needed, point Django at it, set up and migrate; Celery logs only warnings."""
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distribution_erp.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    logging.getLogger("celery").setLevel(logging.WARNING)


def truncate(*tables: str) -> None:
    """TRUNCATE ... CASCADE of ``tables`` (the roots of what the benchmark builds)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
