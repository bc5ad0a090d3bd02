"""Reports from a read replica (the `reporting` alias, off by default) and PgBouncer transaction-pooling settings
(issue 16, core/db_router.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
from django.db import connection

from core.db_router import (
    REPORTING_ALIAS,
    ReportingRouter,
    pooler_options,
    reporting_database,
    reporting_reads,
)
from governance.models import Site

ROOT = Path(__file__).resolve().parents[1]


def test_without_a_replica_every_read_stays_on_default():
    router = ReportingRouter()
    from django.conf import settings

    assert REPORTING_ALIAS not in settings.DATABASES
    with reporting_reads():
        assert router.db_for_read(Site) is None
        assert Site.objects.all().db == "default"
    assert router.db_for_write(Site) == "default"


def test_with_a_replica_reads_in_the_block_go_there_and_writes_never(settings):
    settings.DATABASES = {**settings.DATABASES, REPORTING_ALIAS: {"NAME": "replica"}}
    router = ReportingRouter()
    assert router.db_for_read(Site) is None  # outside the block
    with reporting_reads():
        assert router.db_for_read(Site) == REPORTING_ALIAS
        assert router.db_for_write(Site) == "default"
        with reporting_reads():  # nested blocks
            assert router.db_for_read(Site) == REPORTING_ALIAS
        assert router.db_for_read(Site) == REPORTING_ALIAS
    assert router.db_for_read(Site) is None
    assert router.allow_migrate(REPORTING_ALIAS, "governance") is False
    assert router.allow_migrate("default", "governance") is True


def test_the_reporting_alias_mirrors_default_in_tests():
    db = reporting_database("postgres://u@replica.example:5432/erp", {"CONN_MAX_AGE": 30}, dj_database_url.parse)
    assert (db["HOST"], db["NAME"], db["TEST"]) == ("replica.example", "erp", {"MIRROR": "default"})


def test_pgbouncer_turns_off_server_side_cursors_and_prepared_statements():
    base = {"NAME": "erp", "OPTIONS": {"sslmode": "prefer"}}
    assert pooler_options(base, "") == base
    pooled = pooler_options(base, "PgBouncer")
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["OPTIONS"] == {"sslmode": "prefer", "prepare_threshold": None}
    assert "DISABLE_SERVER_SIDE_CURSORS" not in base  # not changed in place
    with pytest.raises(ValueError, match="DATABASE_POOLER"):
        pooler_options(base, "pgpool")


@pytest.mark.django_db(transaction=True)
def test_a_configured_replica_answers_the_kpi_reads(site):
    """A process started with REPORTING_DATABASE_URL (here the test database itself standing in for a replica)
    reads KPI data through the `reporting` connection and writes through `default`."""
    url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    script = (
        "import django; django.setup()\n"
        "from django.db import connections\n"
        "from core.db_router import reporting_reads\n"
        "from governance.models import Site\n"
        "from reporting.selectors import trends\n"
        "with reporting_reads():\n"
        "    qs = Site.objects.filter(code='DC1')\n"
        "    print(qs.db, qs.count())\n"
        "trends(None, ['fill_rate'])\n"
        "print('reporting used', connections['reporting'].connection is not None)\n"
        "print('write on', Site.objects.db_manager().db, type(Site.objects.filter(code='DC1').first()).__name__)\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REPORTING_DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "distribution_erp.settings",
    }
    env.pop("DJANGO_TEST_DB_NAME", None)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "reporting 1"
    assert lines[1] == "reporting used True"
    assert lines[2] == "write on default Site"
