"""manage.py verify_inventory and the daily reconciliation task."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from governance.models import ExceptionCase, JobRun
from inventory.models import StockQuant
from inventory.tasks import reconcile_inventory
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _verify(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_inventory", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def _corrupt(quant: StockQuant, quantity: int) -> None:
    """Change a balance behind the ledger's back, as a bad migration or manual SQL would."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stockquant SET quantity = %s WHERE id = %s", [quantity, quant.pk])


def test_consistent_inventory_exits_zero_with_a_summary(item, storage, storage2, stock):
    stock(item, storage, 40)
    stock(item, storage2, 5, status="HOLD")

    status, output = _verify()

    assert status == 0
    assert "Inventory consistent (all sites)" in output


def test_corrupted_quant_exits_one_and_names_the_mismatch(item, storage, stock):
    stock(item, storage, 40)
    quant = StockQuant.objects.get(item=item, location=storage)
    _corrupt(quant, 45)

    status, output = _verify()

    assert status == 1
    assert "QUANT_VS_LEDGER" in output
    assert "expected 40, found 45" in output
    assert "WIDGET at DC1/A-01-01" in output
    assert "LEVEL_VS_QUANTS" in output  # the site's level no longer equals the sum of its quants either
    assert "[DC1]" in output


def test_site_option_reports_only_that_sites_mismatches(item, storage, other_site, stock):
    elsewhere = LocationFactory(site=other_site, code="B-01-01")
    stock(item, storage, 40)
    stock(item, elsewhere, 7)
    _corrupt(StockQuant.objects.get(item=item, location=storage), 1)

    assert _verify("--site", other_site.code)[0] == 0
    status, output = _verify("--site", "DC1")
    assert status == 1
    assert "DC2" not in output


def test_unknown_site_option_is_refused(db):
    with pytest.raises(CommandError, match="No site with code 'NOPE'"):
        call_command("verify_inventory", "--site", "NOPE", stdout=StringIO())


def test_reconcile_task_opens_one_ledger_drift_exception_per_site_and_is_idempotent(item, storage, site, stock):
    stock(item, storage, 40)
    quant = StockQuant.objects.get(item=item, location=storage)
    _corrupt(quant, 39)

    first = reconcile_inventory.apply().get()
    second = reconcile_inventory.apply().get()

    cases = ExceptionCase.objects.filter(code__code="LEDGER_DRIFT")
    assert cases.count() == 1
    case = cases.get()
    assert case.site == site
    assert case.status == ExceptionCase.Status.OPEN
    assert case.details["count"] == 2  # the quant against the ledger and the level against the quants
    assert first["exceptions_opened"] == 1
    assert second["exceptions_opened"] == 0
    runs = JobRun.objects.filter(kind="reconcile_inventory").order_by("id")
    assert [r.status for r in runs] == [JobRun.Status.SUCCEEDED, JobRun.Status.SUCCEEDED]
    assert runs[0].counts["drifts"] == 2


def test_reconcile_task_resolves_the_case_once_the_site_is_consistent_again(item, storage, stock):
    stock(item, storage, 40)
    quant = StockQuant.objects.get(item=item, location=storage)
    _corrupt(quant, 39)
    reconcile_inventory.apply()
    _corrupt(quant, 40)

    counts = reconcile_inventory.apply().get()

    case = ExceptionCase.objects.get(code__code="LEDGER_DRIFT")
    assert case.status == ExceptionCase.Status.RESOLVED
    assert counts == {**counts, "drifts": 0, "exceptions_resolved": 1}


def test_reconcile_task_on_a_clean_database_opens_nothing(item, storage, stock):
    stock(item, storage, 10)

    counts = reconcile_inventory.apply().get()

    assert counts["drifts"] == 0
    assert not ExceptionCase.objects.filter(code__code="LEDGER_DRIFT").exists()


def test_daily_reconciliation_is_scheduled_once(db):
    from django_celery_beat.models import PeriodicTask

    from distribution_erp.schedules import CRON_TASKS, ensure_periodic_tasks

    # Migrations seed some schedules, but a flushing (transactional) test may have emptied the table: start clean.
    PeriodicTask.objects.filter(task__in=[task for _, task, *_ in CRON_TASKS]).delete()
    assert ensure_periodic_tasks() == len(CRON_TASKS)
    assert ensure_periodic_tasks() == 0
    task = PeriodicTask.objects.get(task="inventory.tasks.reconcile_inventory")
    assert (task.crontab.hour, task.crontab.minute, task.queue) == ("2", "30", "default")


def test_the_reconciliation_is_scheduled_by_a_migration_and_never_twice(seeded_schedules):
    """A deployment that never loads the demo has the job too; a job an admin renamed is not created again."""
    from django_celery_beat.models import PeriodicTask

    from distribution_erp.schedules import ensure_periodic_tasks

    task = PeriodicTask.objects.get(task="inventory.tasks.reconcile_inventory")
    PeriodicTask.objects.filter(pk=task.pk).update(name="Nightly ledger check")
    assert ensure_periodic_tasks() == 0
    assert PeriodicTask.objects.filter(task="inventory.tasks.reconcile_inventory").count() == 1
