"""Adoption records (issue 13): a refused scan on each scan screen, in the services and in the API records one
FloorEvent; a request that rolls back still records it; a good scan records nothing; skipped scans and overrides
are written with the confirmation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse

from inventory.models import Location
from inventory.services.counts import create_cycle_count
from tests.factories import LocationFactory
from warehouse.models import FloorEvent, PickTask, PutawayTask
from warehouse.services import confirm_pick, plan_wave, receive, release_wave
from warehouse.services.floor import collecting, record_refused_scan

pytestmark = pytest.mark.django_db
K = FloorEvent.Kind


def events(**filters):
    return list(
        FloorEvent.objects.filter(**filters)
        .order_by("pk")
        .values_list("kind", "process", "field", "expected", "scanned", "channel")
    )


@pytest.fixture
def pick(boss, site, item, floor, stock, allocated):
    stock(item, floor["pick"], 10)
    allocated(4)
    release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    return PickTask.objects.get()


def test_a_refused_scan_on_the_pick_screen_records_one_event_and_a_good_scan_none(client, boss, pick, item):
    client.force_login(boss)
    check = reverse("web:scan-pick-check", args=[pick.pk])
    client.get(check, {"field": "location", "location": "P-01"})  # right
    client.get(check, {"field": "location", "location": ""})  # nothing scanned yet: not a refusal
    client.get(check, {"field": "quantity", "quantity": "nine"})  # typed, not scanned
    assert events() == []
    assert "Wrong location" in client.get(check, {"field": "location", "location": "B-01"}).content.decode()
    assert events() == [(K.REFUSED_SCAN, "PICK", "location", "P-01", "B-01", "SCREEN")]
    # the same scan posted: the service refuses it too, but it is the same refusal (one event)
    url = reverse("web:scan-pick-task", args=[pick.pk])
    assert client.post(url, {"location": "B-01", "item": item.sku, "quantity": "4"}).status_code == 400
    assert len(events()) == 1
    client.get(check, {"field": "item", "item": "OTHER"})
    assert events()[-1] == (K.REFUSED_SCAN, "PICK", "item", "WIDGET", "OTHER", "SCREEN")
    event = FloorEvent.objects.order_by("pk").last()
    assert (event.site, event.user, event.task_id, event.task_ref) == (pick.site, boss, pick.pk, f"PICK-{pick.pk}")


def test_a_refused_post_on_the_pick_screen_records_although_its_transaction_rolls_back(client, boss, pick, item):
    client.force_login(boss)
    url = reverse("web:scan-pick-task", args=[pick.pk])
    response = client.post(url, {"location": "P-01", "item": "OTHER", "quantity": "4"})
    assert response.status_code == 400  # refused inside confirm_pick's transaction, which rolled back
    assert events() == [(K.REFUSED_SCAN, "PICK", "item", "WIDGET", "OTHER", "SCREEN")]
    pick.refresh_from_db()
    assert pick.status == PickTask.Status.OPEN


def test_a_short_pick_on_the_screen_is_an_override_with_no_refusal(client, boss, pick, item):
    client.force_login(boss)
    url = reverse("web:scan-pick-task", args=[pick.pk])
    asked = client.post(url, {"location": "P-01", "item": item.sku, "quantity": "3"})
    assert asked.status_code == 400 and events() == []  # asking why it is short is not a refused scan
    confirmed = {
        "location": "P-01",
        "item": item.sku,
        "quantity": "3",
        "confirm_short": "1",
        "short_reason": "NOT_FOUND",
    }
    assert client.post(url, confirmed).status_code == 302
    assert events() == [(K.OVERRIDE, "PICK", "quantity", "4", "3", "SCREEN")]


def test_the_api_records_a_wrong_location_and_a_pick_confirmed_without_the_item_scan(api, boss, pick):
    client = api(boss)
    url = f"/api/v1/pick-tasks/{pick.pk}/confirm/"
    response = client.post(url, {"location": "B-01", "quantity": 4}, format="json")
    assert response.status_code == 400
    assert events() == [(K.REFUSED_SCAN, "PICK", "location", "P-01", "B-01", "API")]
    response = client.post(url, {"location": "P-01", "quantity": 4}, format="json")
    assert response.status_code == 200, response.content
    assert events()[1:] == [(K.SKIPPED_SCAN, "PICK", "item", "WIDGET", "", "API")]


def test_an_api_barcode_refusal_records_the_scan(api, boss, pick):
    client = api(boss)
    response = client.post(
        f"/api/v1/pick-tasks/{pick.pk}/confirm/",
        {"location": "P-01", "item": "(01)14006381333937(10)L42", "quantity": 4},
        format="json",
    )
    assert response.status_code == 422, response.content
    ((kind, process, field, expected, scanned, channel),) = events()
    assert (kind, process, field, expected, channel) == (K.REFUSED_SCAN, "PICK", "item", "WIDGET", "API")
    assert scanned == "(01)14006381333937(10)L42"


def test_the_putaway_screen_records_unknown_and_wrong_kind_locations_and_an_override(
    client, boss, site, item, floor, purchase_order
):
    other = LocationFactory(site=site, code="B-09")
    receive(user=boss, purchase_order=purchase_order(6), lines=[{"item": item.sku, "quantity": 6}])
    task = PutawayTask.objects.get()
    client.force_login(boss)
    check = reverse("web:scan-putaway-check", args=[task.pk])
    client.get(check, {"field": "location", "location": "NOWHERE"})
    client.get(check, {"field": "location", "location": "STAGE-1"})
    client.get(check, {"field": "location", "location": other.code})  # allowed, with a reason: no refusal
    client.get(check, {"field": "item", "item": "OTHER"})
    suggested = task.suggested_location.code
    assert events() == [
        (K.REFUSED_SCAN, "PUTAWAY", "location", suggested, "NOWHERE", "SCREEN"),
        (K.REFUSED_SCAN, "PUTAWAY", "location", suggested, "STAGE-1", "SCREEN"),
        (K.REFUSED_SCAN, "PUTAWAY", "item", "WIDGET", "OTHER", "SCREEN"),
    ]
    url = reverse("web:scan-putaway-task", args=[task.pk])
    body = {"item": item.sku, "location": other.code, "quantity": "6", "reason_code": "LOCATION_FULL"}
    assert client.post(url, body).status_code == 302
    assert events()[3:] == [(K.OVERRIDE, "PUTAWAY", "location", suggested, "B-09", "SCREEN")]
    assert FloorEvent.objects.order_by("pk").last().code == "LOCATION_FULL"


def test_the_count_screen_records_a_location_not_on_the_count_without_what_it_expects(
    client, make_user, site, supervisor, item, floor, stock
):
    stock(item, floor["bulk"], 5)
    count = create_cycle_count(user=supervisor, site=site, locations=[floor["bulk"]])
    counter = make_user("operator", site, username="counter1")
    client.force_login(counter)
    check = reverse("web:scan-count-check", args=[count.pk])
    client.get(check, {"field": "location", "location": "B-01"})  # on the count
    client.get(check, {"field": "item", "location": "B-01", "item": item.sku})
    assert events() == []
    client.get(check, {"field": "location", "location": "P-01"})
    client.get(check, {"field": "item", "location": "B-01", "item": "NO-SUCH-THING"})
    assert events() == [
        (K.REFUSED_SCAN, "COUNT", "location", "", "P-01", "SCREEN"),
        (K.REFUSED_SCAN, "COUNT", "item", "", "NO-SUCH-THING", "SCREEN"),
    ]
    response = client.post(
        reverse("web:scan-count-task", args=[count.pk]), {"location": "P-01", "item": item.sku, "quantity": "5"}
    )
    assert response.status_code == 400 and len(events()) == 2  # the post of the same scan: the same refusal
    assert FloorEvent.objects.filter(task_ref=count.number).count() == 2


def test_the_receive_screen_records_an_unknown_item_and_an_unknown_po(client, boss, site, item, floor, purchase_order):
    po = purchase_order(6)
    client.force_login(boss)
    check = reverse("web:scan-receive-check", args=[po.number])
    client.get(check, {"field": "item", "item": item.sku})
    assert events() == []
    client.get(check, {"field": "item", "item": "NOT-AN-ITEM"})
    assert client.get(reverse("web:scan-receive"), {"po": "PO-NOPE"}).status_code == 400
    assert events() == [
        (K.REFUSED_SCAN, "RECEIVE", "item", "", "NOT-AN-ITEM", "SCREEN"),
        (K.REFUSED_SCAN, "RECEIVE", "po", "", "PO-NOPE", "SCREEN"),
    ]
    assert FloorEvent.objects.order_by("pk").first().task_ref == po.number


def test_a_refusal_inside_a_transaction_that_rolls_back_is_still_written_after_it(boss, site):
    with collecting():
        try:
            with transaction.atomic():
                record_refused_scan(
                    site_id=site.pk, user=boss, process="PICK", field="location", expected="P-01", scanned="B-01"
                )
                assert not FloorEvent.objects.exists()  # waits for the transaction to be over
                raise RuntimeError("the request fails")
        except RuntimeError:
            pass
    assert events() == [(K.REFUSED_SCAN, "PICK", "location", "P-01", "B-01", "OTHER")]


def test_an_override_is_written_with_the_confirmation_and_rolls_back_with_it(boss, pick, item):
    with collecting():
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                confirm_pick(user=boss, task=pick, quantity=3, location_code="P-01", item_sku=item.sku)
                assert events() == [(K.OVERRIDE, "PICK", "quantity", "4", "3", "OTHER")]
                raise RuntimeError("rolled back after the pick")
    assert events() == []


def test_a_repeated_refusal_later_is_another_event(boss, site):
    args = {"site_id": site.pk, "user": boss, "process": "PICK", "field": "location", "scanned": "B-01", "task_id": 1}
    record_refused_scan(**args)
    record_refused_scan(**args)
    assert FloorEvent.objects.count() == 1
    FloorEvent.objects.update(created_at=FloorEvent.objects.get().created_at - dt.timedelta(minutes=5))
    record_refused_scan(**args)
    assert FloorEvent.objects.count() == 2


def test_floor_events_are_append_only(boss, site):
    record_refused_scan(site_id=site.pk, user=boss, process="PICK", field="location", scanned="B-01")
    event = FloorEvent.objects.get()
    event.scanned = "changed"
    with pytest.raises(ValueError):
        event.save()


def test_a_refused_scan_costs_the_scan_check_two_statements(client, boss, pick, django_assert_num_queries):
    client.force_login(boss)
    check = reverse("web:scan-pick-check", args=[pick.pk])
    client.get(check, {"field": "location", "location": "P-01"})
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as good:
        client.get(check, {"field": "location", "location": "P-01"})
    with CaptureQueriesContext(connection) as bad:
        client.get(check, {"field": "location", "location": "B-02"})
    # the duplicate check (one indexed SELECT) and the INSERT, inside a savepoint
    extra = [q["sql"] for q in bad.captured_queries[len(good.captured_queries) :]]
    assert len(bad.captured_queries) - len(good.captured_queries) <= 4, extra
    assert sum(1 for q in bad.captured_queries if q["sql"].startswith("INSERT")) == 1
    assert Location.objects.filter(code="B-02").count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_refusal_in_a_request_whose_transaction_really_rolls_back_is_committed(api, boss, pick):
    """No test transaction around it: the service's transaction rolls back for real, the event is committed after."""
    response = api(boss).post(
        f"/api/v1/pick-tasks/{pick.pk}/confirm/",
        {"location": "B-01", "quantity": 4},
        format="json",
        HTTP_IDEMPOTENCY_KEY="adoption-rollback-1",
    )
    assert response.status_code == 400
    assert events() == [(K.REFUSED_SCAN, "PICK", "location", "P-01", "B-01", "API")]
    pick.refresh_from_db()
    assert pick.status == PickTask.Status.OPEN


def test_the_count_api_records_a_wrong_sku_and_an_entry_without_the_location_scan(
    api, make_user, site, supervisor, item, floor, stock
):
    stock(item, floor["bulk"], 5)
    count = create_cycle_count(user=supervisor, site=site, locations=[floor["bulk"]])
    line = count.lines.get()
    client = api(make_user("operator", site, username="counter1"))
    url = f"/api/v1/cycle-counts/{count.pk}/lines/{line.pk}/count/"
    assert client.post(url, {"item": "OTHER", "quantity": 5}, format="json").status_code == 400
    assert events() == [(K.REFUSED_SCAN, "COUNT", "item", "WIDGET", "OTHER", "API")]
    assert client.post(url, {"item": item.sku, "quantity": 5}, format="json").status_code == 200
    assert events()[1:] == [(K.SKIPPED_SCAN, "COUNT", "location", "B-01", "", "API")]
    assert FloorEvent.objects.filter(task_ref=count.number).count() == 2


def test_the_refill_and_move_screens_record_refused_scans(client, make_user, site, item, stock):
    from orders.services.replenishment import create_pick_face_policy
    from warehouse.models import ReplenishmentTask
    from warehouse.services.replenishment import sweep_pick_faces

    face = LocationFactory(site=site, code="P-09", kind="PICK", capacity=100)
    LocationFactory(site=site, code="B-09", kind="STORAGE")
    create_pick_face_policy(user=None, location=face, item=item, min_quantity=5, max_quantity=40)
    stock(item, face, 5)
    stock(item, Location.objects.get(code="B-09"), 100)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()
    client.force_login(make_user(["operator", "supervisor"], site, username="mover"))
    check = reverse("web:scan-refill-check", args=[task.pk])
    client.get(check, {"field": "location", "location": "B-09"})
    assert events() == []
    client.get(check, {"field": "location", "location": "P-09"})
    assert events() == [(K.REFUSED_SCAN, "REFILL", "location", "B-09", "P-09", "SCREEN")]
    assert FloorEvent.objects.get().task_ref == f"REPL-{task.pk}"
    # the post of the same scan: the service refuses it, the same refusal
    url = reverse("web:scan-refill-task", args=[task.pk])
    assert client.post(url, {"location": "P-09", "item": item.sku, "quantity": str(task.quantity)}).status_code == 400
    assert len(events()) == 1
    move = reverse("web:scan-move-check")
    client.get(move, {"field": "from_location", "from_location": "B-09"})
    client.get(move, {"field": "to_location", "to_location": "B-09", "from_location": "B-09"})
    assert events()[1:] == [(K.REFUSED_SCAN, "MOVE", "to_location", "", "B-09", "SCREEN")]
