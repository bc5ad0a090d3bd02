"""The daily count plan dates each site's count by the site's own calendar day (its time zone), not the server's."""

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from governance.models import Site
from governance.services.sites import site_local_date
from inventory.models import CycleCount
from inventory.services.counts import create_cycle_count
from inventory.services.counts_planning import create_daily_counts, plan_daily_count
from tests.factories import ItemFactory, LocationFactory, SiteFactory

pytestmark = pytest.mark.django_db

# 24 Nov 2026 11:30 UTC is already 25 Nov 00:30 in Auckland (UTC+13, summer time) and still 24 Nov 03:30 in LA.
AUCKLAND_PAST_MIDNIGHT = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)
# 25 Nov 2026 03:00 UTC is 25 Nov 16:00 in Auckland and still 24 Nov 19:00 in LA.
LA_EVENING = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture
def far_sites(stock):
    item = ItemFactory(sku="TZ", abc_class="A")
    sites = {}
    for code, zone in (("AKL", "Pacific/Auckland"), ("LAX", "America/Los_Angeles")):
        site = SiteFactory(code=code, timezone=zone)
        for n in (1, 2):  # two locations: the second day's plan has one that is not waiting in the first count
            stock(item, LocationFactory(site=site, code=f"{code}-{n}"), 5)
        sites[code] = site
    return sites


def plan_dates():
    return dict(CycleCount.objects.filter(origin="PLANNED").values_list("site__code", "plan_date").order_by("pk"))


def test_site_local_date_follows_the_site_time_zone():
    auckland, la = Site(timezone="Pacific/Auckland"), Site(timezone="America/Los_Angeles")
    assert site_local_date(auckland, AUCKLAND_PAST_MIDNIGHT) == date(2026, 11, 25)
    assert site_local_date(la, AUCKLAND_PAST_MIDNIGHT) == date(2026, 11, 24)
    assert site_local_date(la, LA_EVENING) == date(2026, 11, 24)
    assert site_local_date(Site(timezone="UTC"), LA_EVENING) == date(2026, 11, 25)
    assert site_local_date(Site(timezone="Not/AZone"), LA_EVENING) == date(2026, 11, 25)  # unknown zone: UTC


def test_each_site_plans_its_own_calendar_day(far_sites):
    first = create_daily_counts(now=AUCKLAND_PAST_MIDNIGHT)
    assert first["counts_created"] == 2
    assert plan_dates() == {"AKL": date(2026, 11, 25), "LAX": date(2026, 11, 24)}
    akl = CycleCount.objects.get(site__code="AKL")
    assert akl.note.startswith("Daily count 2026-11-25")

    # later the same UTC day, and the next UTC morning: each site's local day is still the one planned
    assert create_daily_counts(now=LA_EVENING)["already_planned"] == 2  # Auckland is still on 25 Nov, LA on 24 Nov
    assert create_daily_counts(now=datetime(2026, 11, 25, 7, 59, tzinfo=UTC))["already_planned"] == 2

    # LA's 25 Nov starts at 08:00 UTC; Auckland's 26 Nov at 11:00 UTC
    nxt = create_daily_counts(now=datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert (nxt["counts_created"], nxt["already_planned"]) == (1, 1)
    assert create_daily_counts(now=datetime(2026, 11, 25, 11, 0, tzinfo=UTC))["counts_created"] == 1
    assert sorted(CycleCount.objects.values_list("site__code", "plan_date")) == [
        ("AKL", date(2026, 11, 25)),
        ("AKL", date(2026, 11, 26)),
        ("LAX", date(2026, 11, 24)),
        ("LAX", date(2026, 11, 25)),
    ]


def test_plan_daily_count_defaults_to_the_site_date_by_the_clock(far_sites, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: AUCKLAND_PAST_MIDNIGHT)
    assert timezone.localdate() == date(2026, 11, 24)  # the server's (UTC) date
    count, created = plan_daily_count(site=far_sites["AKL"])
    assert created and count.plan_date == date(2026, 11, 25)
    assert plan_daily_count(site=far_sites["AKL"], now=AUCKLAND_PAST_MIDNIGHT) == (count, False)
    # an explicit day still wins
    assert plan_daily_count(site=far_sites["LAX"], today=date(2026, 12, 1))[0].plan_date == date(2026, 12, 1)


def test_the_beat_task_plans_by_site_date(far_sites, monkeypatch):
    from inventory.tasks import create_daily_counts as task

    monkeypatch.setattr(timezone, "now", lambda: LA_EVENING)
    assert task.delay().get()["counts_created"] == 2
    assert plan_dates() == {"AKL": date(2026, 11, 25), "LAX": date(2026, 11, 24)}
    assert task.delay().get()["already_planned"] == 2


def test_a_manual_count_is_dated_by_the_site_day(far_sites, make_user, monkeypatch):
    site = far_sites["AKL"]
    supervisor = make_user("supervisor", site)
    monkeypatch.setattr(timezone, "now", lambda: AUCKLAND_PAST_MIDNIGHT)
    count = create_cycle_count(user=supervisor, site=site, locations=[site.locations.get(code="AKL-1")])
    assert count.plan_date == date(2026, 11, 25)


def test_beat_plans_every_hour_so_each_site_gets_its_day_soon_after_its_midnight(seeded_schedules):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="inventory.tasks.create_daily_counts")
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("5", "*", "UTC")


def test_moving_the_plan_to_hourly_keeps_a_schedule_an_admin_changed(seeded_schedules):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    migration = importlib.import_module("inventory.migrations.0004_daily_counts_hourly")
    task = PeriodicTask.objects.get(task="inventory.tasks.create_daily_counts")
    migration.daily(apps, None)  # back to the seeded 05:00 UTC
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour) == ("0", "5")

    task.crontab = CrontabSchedule.objects.create(minute="30", hour="22", timezone="UTC")  # an admin's choice
    task.save()
    migration.hourly(apps, None)
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour) == ("30", "22")
