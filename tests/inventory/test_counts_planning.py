"""The daily count plan: ABC frequencies from site rules spread evenly, triggered counts (short picks, recent
adjustments, requests), one plan per site and day, run by beat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import JobRun
from inventory.models import CycleCount, Location
from inventory.selectors import find_inventory_drift
from inventory.services import adjust_stock
from inventory.services.counts import create_cycle_count, enter_count
from inventory.services.counts_planning import create_daily_counts, plan_daily_count
from tests.factories import ItemFactory, LocationFactory
from tests.inventory.test_counts import set_rule
from warehouse.models import CountRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def counter(make_user, site):
    return make_user("operator", site, username="counter1")


def locations_of(count):
    return sorted(set(count.lines.values_list("location__code", flat=True)))


def test_plan_takes_each_class_daily_share_of_least_recently_counted_locations(site, stock):
    set_rule(site, "counting.frequency_days_a", 2)
    set_rule(site, "counting.frequency_days_c", 3)
    a_item, c_item = ItemFactory(sku="FAST", abc_class="A"), ItemFactory(sku="SLOW", abc_class="C")
    now = timezone.now()
    for i, days_ago in enumerate([1, 5, None, 3]):  # 4 A locations, every 2 days: 2 a day
        loc = LocationFactory(site=site, code=f"A-{i}", kind=Location.Kind.STORAGE)
        Location.objects.filter(pk=loc.pk).update(last_counted_at=days_ago and now - timedelta(days=days_ago))
        stock(a_item, loc, 10)
        stock(c_item, loc, 10)  # holds a C item too: still counted as an A location
    for i in range(3):  # 3 C locations, every 3 days: 1 a day
        stock(c_item, LocationFactory(site=site, code=f"C-{i}", kind=Location.Kind.PICK), 5)
    LocationFactory(site=site, code="EMPTY", kind=Location.Kind.STORAGE)
    stock(c_item, LocationFactory(site=site, code="DOCK", kind=Location.Kind.RECEIVING), 5)  # never scheduled

    count, created = plan_daily_count(site=site)
    assert created and count.origin == "PLANNED" and count.plan_date == timezone.localdate()
    assert locations_of(count) == ["A-1", "A-2", "C-0"]  # never counted, 5 days ago; then the first C
    assert set(count.lines.values_list("trigger", flat=True)) == {"SCHEDULE"}
    assert count.lines.filter(location__code="A-1").count() == 2  # both items held there


def test_plan_is_made_once_per_site_and_day(site, other_site, stock):
    item = ItemFactory(sku="X", abc_class="A")
    stock(item, LocationFactory(site=site, code="S-1"), 1)
    first = create_daily_counts()
    second = create_daily_counts()
    assert (first["counts_created"], first["nothing_to_count"]) == (1, 1)  # the other site holds nothing
    assert (second["counts_created"], second["already_planned"]) == (0, 1)
    assert CycleCount.objects.count() == 1
    assert JobRun.objects.filter(kind="create_daily_counts", status="SUCCEEDED").count() == 2
    tomorrow = timezone.localdate() + timedelta(days=1)
    count, created = plan_daily_count(site=site, today=tomorrow)
    assert count is None and not created  # S-1 still waits on today's count


def test_short_pick_request_is_counted_first_and_done_when_the_location_is_counted(site, counter, stock):
    item = ItemFactory(sku="X", abc_class="C")
    pick = LocationFactory(site=site, code="P-1", kind=Location.Kind.PICK)
    stock(item, pick, 3, status="HOLD")
    request = CountRequest.objects.create(site=site, location=pick, item=item, reason="Short pick PICK-7")
    count, _ = plan_daily_count(site=site)
    (line,) = count.lines.all()
    assert (line.location, line.trigger, line.trigger_reason) == (pick, "SHORT_PICK", "Short pick PICK-7")
    enter_count(user=counter, line=line, quantity=3)
    request.refresh_from_db()
    assert request.status == "DONE"


def test_request_for_an_emptied_location_still_counts_the_item(site, counter, stock):
    item = ItemFactory(sku="X")
    pick = LocationFactory(site=site, code="P-1", kind=Location.Kind.PICK)
    CountRequest.objects.create(site=site, location=pick, item=item, reason="Supervisor: check P-1")
    count, _ = plan_daily_count(site=site)
    (line,) = count.lines.all()
    assert (line.item, line.trigger) == (item, "REQUEST")


def test_recent_adjustment_triggers_a_count_until_the_location_is_counted(site, supervisor, counter, stock):
    set_rule(site, "counting.frequency_days_c", 365)
    item = ItemFactory(sku="X", abc_class="C")
    locations = [LocationFactory(site=site, code=f"S-{i}") for i in range(3)]
    for loc in locations:
        stock(item, loc, 10)
    adjust_stock(user=supervisor, location=locations[2], item=item, quantity_delta=-1, reason_code="LOST", note="x")
    count, _ = plan_daily_count(site=site)
    triggers = dict(count.lines.values_list("location__code", "trigger"))
    assert triggers == {"S-2": "VARIANCE", "S-0": "SCHEDULE"}  # the adjusted one plus the C share (1 of 3)
    for line in count.lines.all():
        enter_count(user=counter, line=line, quantity=10 if line.location.code != "S-2" else 9)
    tomorrow_count, _ = plan_daily_count(site=site, today=timezone.localdate() + timedelta(days=1))
    assert dict(tomorrow_count.lines.values_list("location__code", "trigger")) == {"S-1": "SCHEDULE"}
    assert find_inventory_drift() == []


def test_opening_balances_are_not_variances_to_verify(site, supervisor, stock):
    """A site going live posts its opening stock as OPENING_BALANCE adjustments: the next day's plan must not
    put every bin of the site on the count; a real adjustment beside them still does."""
    set_rule(site, "counting.frequency_days_c", 365)
    item = ItemFactory(sku="X", abc_class="C", standard_cost="1.00")
    locations = [LocationFactory(site=site, code=f"S-{i}") for i in range(3)]
    for loc in locations:
        adjustment = adjust_stock(
            user=supervisor, location=loc, item=item, quantity_delta=5, reason_code="OPENING_BALANCE", note="go-live"
        )
        assert adjustment.status == "APPLIED"
    adjust_stock(user=supervisor, location=locations[1], item=item, quantity_delta=-1, reason_code="LOST", note="x")
    count, _ = plan_daily_count(site=site)
    triggers = dict(count.lines.values_list("location__code", "trigger"))
    assert triggers["S-1"] == "VARIANCE"
    assert [code for code, trigger in triggers.items() if trigger == "VARIANCE"] == ["S-1"]
    assert len(triggers) == 2  # the adjusted bin plus the C share (1 of 3), not all three


def test_a_location_waiting_on_a_requested_count_is_not_planned(site, supervisor, stock):
    item = ItemFactory(sku="X", abc_class="A")
    loc = LocationFactory(site=site, code="S-1")
    stock(item, loc, 10)
    CountRequest.objects.create(site=site, location=loc, item=item, reason="Short pick PICK-1")
    create_cycle_count(user=supervisor, site=site, locations=[loc])
    assert plan_daily_count(site=site) == (None, False)


def test_beat_runs_the_daily_plan(site, stock, seeded_schedules):
    from django_celery_beat.models import PeriodicTask

    from inventory.tasks import create_daily_counts as task

    assert PeriodicTask.objects.filter(task="inventory.tasks.create_daily_counts", enabled=True).exists()
    stock(ItemFactory(sku="X"), LocationFactory(site=site, code="S-1"), 1)
    assert task.delay().get()["counts_created"] == 1
    assert task.delay().get()["counts_created"] == 0


def test_a_count_variance_is_verified_by_the_next_daily_count_once(site, supervisor, counter, stock):
    """Locations with recent variances: a variance a count found (posted here) puts the location on the next
    daily count once; counted again without variance, it is not triggered any more."""
    set_rule(site, "counting.frequency_days_c", 365)
    item = ItemFactory(sku="X", abc_class="C")
    locations = [LocationFactory(site=site, code=f"S-{i}") for i in range(4)]
    for loc in locations:
        stock(item, loc, 100)
    requested = create_cycle_count(user=supervisor, site=site, locations=[locations[3]])
    enter_count(user=counter, line=requested.lines.get(), quantity=99)  # -1 (1%): within tolerance, posted

    count, _ = plan_daily_count(site=site)

    triggers = {
        code: (trigger, reason)
        for code, trigger, reason in count.lines.values_list("location__code", "trigger", "trigger_reason")
    }
    assert triggers["S-3"] == ("VARIANCE", f"Count variance {requested.number} {timezone.localdate():%Y-%m-%d}")
    assert set(triggers) == {"S-3", "S-0"}  # plus the C share (1 of 4)
    for line in count.lines.all():
        enter_count(user=counter, line=line, quantity=99 if line.location.code == "S-3" else 100)
    tomorrow, _ = plan_daily_count(site=site, today=timezone.localdate() + timedelta(days=1))
    assert "S-3" not in set(tomorrow.lines.values_list("location__code", flat=True))
    assert find_inventory_drift() == []


def test_a_rejected_count_variance_is_counted_again(site, supervisor, counter, stock, make_user):
    from inventory.services.counts import decide_count

    set_rule(site, "counting.approval_value", "5")
    item = ItemFactory(sku="X", abc_class="C", standard_cost="10.00")
    loc = LocationFactory(site=site, code="S-0")
    stock(item, loc, 100)
    requested = create_cycle_count(user=supervisor, site=site, locations=[loc])
    enter_count(user=counter, line=requested.lines.get(), quantity=99)  # 10.00 > 5: waits
    assert plan_daily_count(site=site) == (None, False)  # still waiting: busy, not planned twice
    decide_count(user=make_user("supervisor", site, username="approver"), count=requested, approve=False)

    count, _ = plan_daily_count(site=site, today=timezone.localdate() + timedelta(days=1))

    assert list(count.lines.values_list("location__code", "trigger")) == [("S-0", "VARIANCE")]
