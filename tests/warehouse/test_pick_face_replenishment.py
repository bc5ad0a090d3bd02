"""Pick-face replenishment as service tests on PostgreSQL: refill tasks at the min and after a wave release,
FEFO from reserve with the source reserved, scan-validated confirmation, short refills, cancellation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import NotFound, PermissionDenied, StateConflict, ValidationFailed
from inventory.models import Location, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from orders.models import PickFacePolicy
from orders.services import allocate_orders, create_order, release_order
from orders.services.replenishment import create_pick_face_policy, update_pick_face_policy
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, LotFactory
from warehouse.models import CountRequest, ReplenishmentTask
from warehouse.services import plan_wave, release_wave
from warehouse.services.replenishment import (
    cancel_replenishment_task,
    confirm_replenishment_task,
    replenish_pick_faces,
    sweep_pick_faces,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def floor(site):
    return {
        "face": LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK, capacity=100),
        "bulk": LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE),
        "bulk2": LocationFactory(site=site, code="B-02", kind=Location.Kind.STORAGE),
        "stage": LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING),
    }


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator"], site, username="boss")


@pytest.fixture
def face(item, floor):
    return create_pick_face_policy(user=None, location=floor["face"], item=item, min_quantity=5, max_quantity=40)


def quant(location, item, lot=None):
    return StockQuant.objects.get(location=location, item=item, lot=lot, status="AVAILABLE")


def test_a_pick_face_at_its_min_gets_a_refill_task_from_reserve(site, item, floor, stock, face):
    stock(item, floor["face"], 5)
    stock(item, floor["bulk"], 100)

    counts = sweep_pick_faces()

    task = ReplenishmentTask.objects.get()
    assert (task.from_location, task.to_location, task.quantity, task.trigger, task.status) == (
        floor["bulk"],
        floor["face"],
        35,
        "MIN",
        "OPEN",
    )
    assert task.reason["level"] == 5 and task.reason["refill"] == 35
    assert quant(floor["bulk"], item).reserved == 35  # reserved at creation, like a pick task
    assert counts["tasks"] == 1 and counts["units"] == 35 and counts["sites"] == 1
    assert task.history.get().history_type == "+"  # its creation is in history


def test_a_pick_face_above_its_min_is_left_alone(site, item, floor, stock, face):
    stock(item, floor["face"], 6)
    stock(item, floor["bulk"], 100)
    sweep_pick_faces()
    assert ReplenishmentTask.objects.count() == 0


def test_sweeping_twice_does_not_add_a_second_refill(site, item, floor, stock, face):
    stock(item, floor["bulk"], 100)
    sweep_pick_faces()
    sweep_pick_faces()
    assert ReplenishmentTask.objects.count() == 1 and quant(floor["bulk"], item).reserved == 40


def test_refill_takes_reserve_lots_first_expiring_first_and_never_expired(site, floor, stock):
    item = ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=60)
    today = timezone.localdate()
    late = LotFactory(item=item, number="LATE", expiry_date=today + timedelta(days=90))
    soon = LotFactory(item=item, number="SOON", expiry_date=today + timedelta(days=40))
    gone = LotFactory(item=item, number="GONE", expiry_date=today - timedelta(days=1))
    stock(item, floor["bulk"], 50, lot=late)
    stock(item, floor["bulk2"], 10, lot=soon)
    stock(item, floor["bulk2"], 50, lot=gone)
    create_pick_face_policy(user=None, location=floor["face"], item=item, min_quantity=0, max_quantity=30)

    replenish_pick_faces(site_id=site.pk)

    tasks = list(ReplenishmentTask.objects.order_by("id").values_list("lot__number", "quantity"))
    assert tasks == [("SOON", 10), ("LATE", 20)]
    assert quant(floor["bulk2"], item, gone).reserved == 0


def test_reserve_short_of_the_refill_is_reported(site, item, floor, stock, face):
    stock(item, floor["bulk"], 12)
    counts = sweep_pick_faces()
    task = ReplenishmentTask.objects.get()
    assert task.quantity == 12 and task.reason["not_in_reserve"] == 28
    assert counts["short_faces"] == 1 and counts["not_in_reserve"] == 28


def test_confirming_moves_the_stock_and_consumes_the_reservation(site, item, floor, stock, face, operator):
    stock(item, floor["face"], 2)
    stock(item, floor["bulk"], 100)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()

    done = confirm_replenishment_task(user=operator, task=task, quantity=38, location_code="B-01", item_sku="WIDGET")

    assert (done.status, done.moved_quantity, done.confirmed_by) == ("DONE", 38, operator)
    assert quant(floor["face"], item).quantity == 40
    bulk = quant(floor["bulk"], item)
    assert (bulk.quantity, bulk.reserved) == (62, 0)
    move = StockMove.objects.get(reference=f"REPL-{task.pk}")
    assert (move.kind, move.quantity, move.from_location, move.to_location) == (
        "MOVE",
        38,
        floor["bulk"],
        floor["face"],
    )
    assert find_inventory_drift() == []
    # the same confirmation again is harmless; different data is a conflict
    assert confirm_replenishment_task(user=operator, task=task, quantity=38, location_code="B-01").status == "DONE"
    with pytest.raises(StateConflict):
        confirm_replenishment_task(user=operator, task=task, quantity=30, location_code="B-01")
    assert StockMove.objects.filter(reference=f"REPL-{task.pk}").count() == 1


@pytest.mark.parametrize(
    ("scan", "field"),
    [
        ({"quantity": 38, "location_code": "B-02"}, "location"),
        ({"quantity": 38, "location_code": "B-01", "item_sku": "OTHER"}, "item"),
        ({"quantity": 39, "location_code": "B-01"}, "quantity"),
        ({"quantity": -1, "location_code": "B-01"}, "quantity"),
    ],
)
def test_a_wrong_scan_is_refused_and_changes_nothing(site, item, floor, stock, face, operator, scan, field):
    stock(item, floor["face"], 2)
    stock(item, floor["bulk"], 100)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()
    with pytest.raises(ValidationFailed) as err:
        confirm_replenishment_task(user=operator, task=task, **scan)
    assert err.value.errors[0]["field"] == field
    task.refresh_from_db()
    assert task.status == "OPEN" and quant(floor["bulk"], item).reserved == 38
    assert quant(floor["face"], item).quantity == 2


def test_a_short_refill_gives_back_the_rest_and_asks_for_a_count(site, item, floor, stock, face, operator):
    stock(item, floor["bulk"], 100)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()

    done = confirm_replenishment_task(user=operator, task=task, quantity=25, location_code="B-01")

    assert (done.status, done.moved_quantity) == ("SHORT", 25)
    assert quant(floor["bulk"], item).reserved == 0 and quant(floor["face"], item).quantity == 25
    assert CountRequest.objects.filter(location=floor["bulk"], status="OPEN").exists()
    assert find_inventory_drift() == []


def test_cancelling_a_refill_gives_the_reserved_units_back(site, item, floor, stock, face, supervisor, operator):
    stock(item, floor["bulk"], 100)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()
    with pytest.raises(PermissionDenied):
        cancel_replenishment_task(user=operator, task=task)
    assert cancel_replenishment_task(user=supervisor, task=task).status == "CANCELLED"
    assert quant(floor["bulk"], item).reserved == 0
    with pytest.raises(StateConflict):
        cancel_replenishment_task(user=supervisor, task=task)


def test_other_sites_do_not_see_the_task(site, item, floor, stock, face, outsider):
    stock(item, floor["bulk"], 100)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()
    with pytest.raises(NotFound):
        confirm_replenishment_task(user=outsider, task=task, quantity=40, location_code="B-01")
    assert ReplenishmentTask.objects.get().status == "OPEN"


def test_a_released_wave_needing_more_than_the_face_holds_triggers_a_refill(site, item, floor, stock, face, boss):
    stock(item, floor["face"], 8)
    stock(item, floor["bulk"], 100)
    order = create_order(
        user=boss,
        customer=CustomerFactory(code="SHOP", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "WIDGET", "quantity": 12}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])

    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))

    # the face's 8 are reserved by the wave (4 more come straight from reserve): refill to the max of 40
    task = ReplenishmentTask.objects.get()
    assert (task.trigger, task.wave, task.quantity, task.from_location) == ("WAVE", wave, 40, floor["bulk"])
    assert task.reason["reserved_by_picks"] == 8 and task.reason["wave"] == wave.number
    assert quant(floor["bulk"], item).reserved == 4 + 40
    assert find_inventory_drift() == []


def test_pick_face_policy_refusals(site, other_site, item, floor, planner_user):
    with pytest.raises(ValidationFailed) as err:
        create_pick_face_policy(user=planner_user, location=floor["bulk"], item=item, min_quantity=1, max_quantity=9)
    assert err.value.errors[0]["code"] == "not_pick"
    with pytest.raises(ValidationFailed) as err:
        create_pick_face_policy(user=planner_user, location=floor["face"], item=item, min_quantity=9, max_quantity=9)
    assert err.value.errors[0]["code"] == "below_min"
    with pytest.raises(ValidationFailed) as err:
        create_pick_face_policy(user=planner_user, location=floor["face"], item=item, min_quantity=1, max_quantity=101)
    assert err.value.errors[0]["code"] == "above_capacity"
    elsewhere = LocationFactory(site=other_site, code="P-09", kind=Location.Kind.PICK)
    with pytest.raises(NotFound):
        create_pick_face_policy(user=planner_user, location=elsewhere, item=item, min_quantity=1, max_quantity=9)
    assert PickFacePolicy.objects.count() == 0
    policy = create_pick_face_policy(
        user=planner_user, location=floor["face"], item=item, min_quantity=1, max_quantity=9
    )
    with pytest.raises(ValidationFailed):
        create_pick_face_policy(user=planner_user, location=floor["face"], item=item, min_quantity=1, max_quantity=9)
    with pytest.raises(ValidationFailed):
        update_pick_face_policy(user=planner_user, policy=policy, min_quantity=20)
    policy.refresh_from_db()
    assert (policy.min_quantity, policy.max_quantity) == (1, 9)
    updated = update_pick_face_policy(user=planner_user, policy=policy, min_quantity=3, max_quantity=50)
    assert (updated.min_quantity, updated.max_quantity) == (3, 50)
    assert updated.history.count() == 2


@pytest.fixture
def planner_user(make_user, site):
    return make_user("planner", site, username="planner1")
