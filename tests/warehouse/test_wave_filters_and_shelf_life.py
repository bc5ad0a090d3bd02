"""Waves narrowed by the orders' carrier, route and ship-by cutoff (the wave keeps the earliest cutoff), and
pick-task generation honouring the customer's minimum remaining shelf life together with the site's rule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import StateConflict, ValidationFailed
from inventory.models import Location, Lot
from orders.models import SalesOrder
from orders.services import allocate_orders, create_order, release_order
from tests.factories import CustomerFactory, ItemFactory, LocationFactory
from warehouse.models import PickTask, Wave
from warehouse.services import plan_wave, release_wave
from warehouse.services.outbound import sweep_late_shipment_risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(site):
    LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING)
    return [LocationFactory(site=site, code=f"B-0{i}", kind=Location.Kind.STORAGE) for i in range(1, 4)]


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator"], site, username="boss")


@pytest.fixture
def ordered(boss, site):
    default = CustomerFactory(code="SHOP", home_site=site)

    def _make(lines, customer=None, **header):
        order = create_order(
            user=boss,
            customer=customer or default,
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": sku, "quantity": qty} for sku, qty in lines],
            **header,
        )
        release_order(user=boss, order=order)
        allocate_orders([order.pk])
        order.refresh_from_db()
        return order

    return _make


def test_waves_filter_by_carrier_route_and_cutoff_and_keep_the_earliest_cutoff(boss, site, item, floor, stock, ordered):
    stock(item, floor[0], 100)
    now = timezone.now().replace(microsecond=0)
    ups_north = ordered([("WIDGET", 1)], carrier="UPS", route="NORTH", cutoff=now + timedelta(hours=6))
    ups_south = ordered([("WIDGET", 1)], carrier="ups", route="SOUTH", cutoff=now + timedelta(hours=2))
    dhl_north = ordered([("WIDGET", 1)], carrier="DHL", route="NORTH")
    no_cutoff = ordered([("WIDGET", 1)], route="NORTH")

    def orders_of(wave):
        return sorted(wave.lines.values_list("order_line__order__number", flat=True))

    with pytest.raises(ValidationFailed, match="short code"):
        plan_wave(user=boss, site=site, carrier="U P S")
    with pytest.raises(StateConflict, match="nothing to plan"):
        plan_wave(user=boss, site=site, carrier="FEDEX")
    assert not Wave.objects.exists()

    ups = plan_wave(user=boss, site=site, carrier="ups")
    assert orders_of(ups) == sorted([ups_north.number, ups_south.number])
    assert ups.carrier == "UPS" and ups.cutoff == now + timedelta(hours=2)
    assert ups.filters["carrier"] == "UPS"

    dhl = plan_wave(user=boss, site=site, carrier="DHL", route="NORTH")
    assert orders_of(dhl) == [dhl_north.number] and dhl.cutoff is None
    with pytest.raises(StateConflict, match="nothing to plan"):  # the rest has no cutoff
        plan_wave(user=boss, site=site, route="NORTH", cutoff_before=now + timedelta(days=1))
    rest = plan_wave(user=boss, site=site, route="NORTH")
    assert orders_of(rest) == [no_cutoff.number] and rest.cutoff is None


def test_waves_api_takes_carrier_route_and_cutoff_before(api, boss, site, item, floor, stock, ordered):
    stock(item, floor[0], 100)
    now = timezone.now().replace(microsecond=0)
    soon = ordered([("WIDGET", 1)], carrier="UPS", route="R1", cutoff=now + timedelta(hours=1))
    ordered([("WIDGET", 1)], carrier="UPS", route="R1", cutoff=now + timedelta(hours=5))
    client = api(boss)
    bad = client.post("/api/v1/waves/", {"site": "DC1", "route": "R 1"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "route"
    none = client.post("/api/v1/waves/", {"site": "DC1", "route": "R2"}, format="json")
    assert none.status_code == 409
    conflicting = client.post(
        "/api/v1/waves/",
        {"site": "DC1", "cutoff_before": now.isoformat(), "cutoff": (now + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert conflicting.status_code == 400
    assert not Wave.objects.exists()
    wave = client.post(
        "/api/v1/waves/",
        {"site": "DC1", "carrier": "ups", "route": "r1", "cutoff_before": (now + timedelta(hours=2)).isoformat()},
        format="json",
    )
    assert wave.status_code == 201, wave.json()
    body = wave.json()
    assert body["orders"] == [soon.number] and body["carrier"] == "UPS"
    assert body["filters"]["route"] == "R1" and body["cutoff"] is not None
    assert Wave.objects.get().cutoff == now + timedelta(hours=1)


def test_customer_minimum_shelf_life_is_stricter_than_the_site_rule(boss, site, floor, stock, ordered):
    milk = ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=120)
    today = timezone.localdate()
    for index, days in enumerate((59, 60)):
        lot = Lot.objects.create(item=milk, number=f"D{days}", expiry_date=today + timedelta(days=days))
        stock(milk, floor[index], 10, lot=lot)
    picky = CustomerFactory(code="PICKY", home_site=site, min_shelf_life_days=60)
    ordered([("MILK", 4)], customer=picky)
    task = release_wave(user=boss, wave=plan_wave(user=boss, site=site)).pick_tasks.get()
    assert task.lot.number == "D60"  # D59 is just below the customer's 60 days

    ordered([("MILK", 8)], customer=picky)  # only 6 of D60 are left; D59 never goes to this customer
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    assert [(t.lot.number, t.quantity) for t in wave.pick_tasks.all()] == [("D60", 6)]
    assert "59 days of shelf life left" in wave.filters["not_pickable"][0]


def test_the_site_rule_wins_over_a_laxer_customer_and_expired_lots_are_never_picked(boss, site, floor, stock, ordered):
    milk = ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=120)
    today = timezone.localdate()
    for index, days in enumerate((0, 29, 30)):
        lot = Lot.objects.create(item=milk, number=f"D{days}", expiry_date=today + timedelta(days=days))
        stock(milk, floor[index], 10, lot=lot)
    lax = CustomerFactory(code="LAX", home_site=site, min_shelf_life_days=5)
    ordered([("MILK", 10)], customer=lax)
    tasks = list(release_wave(user=boss, wave=plan_wave(user=boss, site=site)).pick_tasks.all())
    assert [(t.lot.number, t.quantity) for t in tasks] == [("D30", 10)]  # site rule 30 days; D0 expired
    ordered([("MILK", 3)], customer=lax)
    with pytest.raises(StateConflict, match="No pickable stock"):
        release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    assert PickTask.objects.count() == 1


def test_a_near_cutoff_is_a_late_shipment_risk_even_when_the_promise_is_far(boss, site, item, floor, stock, ordered):
    stock(item, floor[0], 10)
    order = ordered([("WIDGET", 1)], cutoff=timezone.now() + timedelta(hours=1))
    SalesOrder.objects.filter(pk=order.pk).update(promised_date=timezone.localdate() + timedelta(days=30))
    assert sweep_late_shipment_risk()["opened"] == 1


@pytest.mark.parametrize("bad", ["high", 0, 6, True])
def test_a_bad_max_priority_is_refused_and_plans_nothing(boss, site, bad):
    with pytest.raises(ValidationFailed) as refused:
        plan_wave(user=boss, site=site, max_priority=bad)
    assert refused.value.errors[0]["field"] == "max_priority"
    assert not Wave.objects.exists()
