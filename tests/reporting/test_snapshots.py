"""Daily KPI snapshots: idempotent upserts per site and the network, a job run, the schedule, trend lines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from governance.models import JobRun
from reporting.kpis import KPIS
from reporting.models import KpiSnapshot
from reporting.selectors import trend, trends
from reporting.services import local_yesterday, snapshot_all
from reporting.tasks import snapshot_kpis, snapshot_kpis_now

from .conftest import at

pytestmark = pytest.mark.django_db
TRENDED = [k for k, d in KPIS.items() if d.trend]


def test_snapshot_stores_every_trended_kpi_for_every_site_and_the_network_once(kb, site, other_site):
    kb.line(kb.order(site), 2, shipped=2, first=at(12))
    counts = snapshot_kpis_now(day=date(2026, 1, 12))
    assert counts == {"sites": 2, "rows": 3 * len(TRENDED), "network": 1}
    assert KpiSnapshot.objects.count() == 3 * len(TRENDED)
    row = KpiSnapshot.objects.get(site=site, key="order_fill_rate", date=date(2026, 1, 12))
    assert (row.value, row.numerator, row.denominator, row.unit) == (Decimal("100"), 1, 1, "%")
    assert KpiSnapshot.objects.get(site=None, key="order_fill_rate").numerator == 1
    assert KpiSnapshot.objects.get(site=other_site, key="order_fill_rate").value is None
    assert not KpiSnapshot.objects.filter(key="site_rule_deviation").exists()  # a governance view, not a trend

    # a second run (a late line arrived) updates the same rows and adds none
    kb.line(kb.order(site), 2, shipped=1, first=at(12))
    snapshot_kpis_now(day=date(2026, 1, 12))
    assert KpiSnapshot.objects.count() == 3 * len(TRENDED)
    row.refresh_from_db()
    assert (row.value, row.numerator, row.denominator) == (Decimal("50"), 1, 2)

    runs = JobRun.objects.filter(kind="snapshot_kpis")
    assert runs.count() == 2 and {r.status for r in runs} == {JobRun.Status.SUCCEEDED}
    assert runs.first().counts["rows"] == 3 * len(TRENDED)


def test_the_task_snapshots_yesterday_in_each_sites_time_zone(ny, site):
    snapshot_kpis.apply().get()
    assert KpiSnapshot.objects.filter(site=ny, date=local_yesterday(ny)).count() == len(TRENDED)
    assert KpiSnapshot.objects.filter(site=None, date=local_yesterday(None)).count() == len(TRENDED)


def test_local_yesterday():
    now = datetime(2026, 1, 13, 3, 0, tzinfo=ZoneInfo("UTC"))  # 12 Jan 22:00 in New York

    class Ny:
        timezone = "America/New_York"

    assert local_yesterday(Ny(), now) == date(2026, 1, 11)
    assert local_yesterday(None, now) == date(2026, 1, 12)


def test_a_failing_snapshot_is_recorded_as_a_failed_job(site, monkeypatch):
    import reporting.services as services

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(services, "compute_all", boom)
    with pytest.raises(RuntimeError):
        snapshot_all(day=date(2026, 1, 12))
    with pytest.raises(RuntimeError):
        snapshot_kpis_now(day=date(2026, 1, 12))
    run = JobRun.objects.get(kind="snapshot_kpis")
    assert run.status == JobRun.Status.FAILED and "database on fire" in run.error
    assert not KpiSnapshot.objects.exists()


def test_the_snapshot_is_scheduled_hourly_once(seeded_schedules):
    from django_celery_beat.models import PeriodicTask

    from distribution_erp.schedules import CRON_TASKS, ensure_periodic_tasks

    task = PeriodicTask.objects.get(task="reporting.tasks.snapshot_kpis")  # made by the reporting migration
    assert (task.crontab.hour, task.crontab.minute, task.queue) == ("*", "15", "default")  # hourly
    assert task.name in [name for name, *_ in CRON_TASKS]
    ensure_periodic_tasks()
    assert PeriodicTask.objects.filter(task="reporting.tasks.snapshot_kpis").count() == 1


def test_trend_reads_snapshots_oldest_first_with_gaps(site, other_site):
    for day, value in ((10, "90"), (12, "95"), (13, None)):
        KpiSnapshot.objects.create(
            site=site,
            key="order_fill_rate",
            date=date(2026, 1, day),
            value=None if value is None else Decimal(value),
            numerator=1,
            denominator=1,
        )
    KpiSnapshot.objects.create(site=other_site, key="order_fill_rate", date=date(2026, 1, 12), value=1)
    KpiSnapshot.objects.create(site=None, key="order_fill_rate", date=date(2026, 1, 12), value=2)
    KpiSnapshot.objects.create(site=site, key="order_fill_rate", date=date(2026, 1, 1), value=3)  # too old

    points = trend(site, "order_fill_rate", 7, until=date(2026, 1, 13))
    assert [(p["date"], p["value"]) for p in points] == [
        (date(2026, 1, 10), 90.0),
        (date(2026, 1, 12), 95.0),
        (date(2026, 1, 13), None),
    ]
    assert [p["value"] for p in trend(None, "order_fill_rate", 7, until=date(2026, 1, 13))] == [2.0]
    both = trends(site, ["order_fill_rate", "short_pick_rate"], 7, until=date(2026, 1, 13))
    assert len(both["order_fill_rate"]) == 3 and both["short_pick_rate"] == []


def test_one_snapshot_per_site_key_and_day(site):
    from django.db import IntegrityError, transaction

    KpiSnapshot.objects.create(site=None, key="x", date=date(2026, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        KpiSnapshot.objects.create(site=None, key="x", date=date(2026, 1, 1))
