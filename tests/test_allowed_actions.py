"""allowed_actions(document, user) (core.actions): one answer per document that the pages, the API and the
services share (issue 15, "A web layer of its own"). Each test checks the offer against what the service then
does: an action offered is accepted, an action not offered is refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.actions import allowed_actions, register
from core.errors import DomainError, SegregationOfDuties
from governance.models import ApprovalRequest
from governance.services import acknowledge_exception, decide_approval, open_exception, resolve_exception
from governance.services.rules import set_rule_value
from inventory.models import Location
from orders.models import SalesOrder
from orders.services import allocate_orders, cancel_order, create_order, hold_order, release_order
from tests.factories import CustomerFactory, LocationFactory
from warehouse.services import confirm_pick, pack_wave, plan_wave, release_wave

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator", "admin"], site, username="boss")


@pytest.fixture
def floor(site):
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    return LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)


@pytest.fixture
def order_of(site, item):
    customer = CustomerFactory(code="SHOP", home_site=site)

    def _make(user, qty=2, release=False):
        order = create_order(
            user=user,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": item.sku, "quantity": qty}],
        )
        if release:
            release_order(user=user, order=order)
            allocate_orders([order.pk])
            order.refresh_from_db()
        return order

    return _make


def test_a_draft_offers_the_coordinators_steps_and_nothing_to_others(make_user, site, other_site, order_of):
    coordinator = make_user("coordinator", site)
    order = order_of(coordinator)
    assert allowed_actions(order, coordinator) == {"edit", "validate", "release", "cancel"}
    assert allowed_actions(order, make_user("operator", site)) == frozenset()  # sees it, may not manage it
    assert allowed_actions(order, make_user("coordinator", other_site)) == frozenset()
    assert allowed_actions(order, None) == frozenset()


def test_a_released_order_offers_hold_and_cancel_and_a_picked_one_neither(boss, site, item, floor, stock, order_of):
    stock(item, floor, 10)
    order = order_of(boss, qty=4, release=True)
    assert order.status == "ALLOCATED"
    assert allowed_actions(order, boss) == {"hold", "cancel"}
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    confirm_pick(user=boss, task=wave.pick_tasks.get(), quantity=2, location_code="B-01")
    order.refresh_from_db()
    assert "cancel" not in allowed_actions(order, boss)
    with pytest.raises(DomainError):
        cancel_order(user=boss, order=order)


def test_a_waved_order_is_not_offered_for_cancel_where_the_site_keeps_waved_orders(
    boss, site, item, floor, stock, order_of
):
    stock(item, floor, 10)
    order = order_of(boss, qty=4, release=True)
    plan_wave(user=boss, site=site)
    set_rule_value(key="orders.cancel_waved_orders", value=False, site=site, user=boss, reason="test")
    assert allowed_actions(order, boss) == frozenset()  # on a wave: neither hold nor cancel
    with pytest.raises(DomainError):
        cancel_order(user=boss, order=order)


def test_the_hold_release_decision_is_offered_to_an_approver_never_to_its_requester(
    make_user, site, item, floor, stock, order_of
):
    coordinator = make_user(["coordinator", "supervisor"], site)
    approver = make_user("supervisor", site)
    stock(item, floor, 10)
    order = order_of(coordinator, release=True)
    hold_order(user=coordinator, order=order, reason="customer called")
    order.refresh_from_db()
    approval = ApprovalRequest.objects.get(kind="ORDER_HOLD", object_id=order.pk, status="PENDING")
    assert "decide_hold" not in allowed_actions(order, coordinator)  # the requester
    assert allowed_actions(approval, coordinator) == frozenset()
    with pytest.raises(SegregationOfDuties):
        decide_approval(approval=approval, user=coordinator, approve=True)
    assert "decide_hold" in allowed_actions(order, approver)
    assert allowed_actions(approval, approver) == {"approve", "reject"}
    decide_approval(approval=approval, user=approver, approve=True)
    approval.refresh_from_db()
    assert allowed_actions(approval, approver) == frozenset()  # decided


def test_an_exception_offers_acknowledge_until_acknowledged_and_nothing_once_resolved(make_user, site, item):
    handler = make_user("supervisor", site)
    case, _ = open_exception(code="SHORT_PICK", site=site, subject=item, summary="short")
    assert allowed_actions(case, handler) == {"acknowledge", "resolve", "assign"}
    assert allowed_actions(case, make_user("operator", site)) == frozenset()
    case = acknowledge_exception(case=case, user=handler)
    assert allowed_actions(case, handler) == {"resolve", "assign"}
    with pytest.raises(DomainError):
        acknowledge_exception(case=case, user=handler)
    case = resolve_exception(case=case, user=handler, note="found it")
    assert allowed_actions(case, handler) == frozenset()


def test_a_wave_offers_release_when_planned_and_pack_only_with_picked_units(boss, site, item, floor, stock, order_of):
    stock(item, floor, 10)
    order_of(boss, qty=3, release=True)
    wave = plan_wave(user=boss, site=site)
    assert allowed_actions(wave, boss) == {"release"}
    wave = release_wave(user=boss, wave=wave)
    assert allowed_actions(wave, boss) == frozenset()  # nothing picked yet
    confirm_pick(user=boss, task=wave.pick_tasks.get(), quantity=3, location_code="B-01")
    wave.refresh_from_db()
    assert allowed_actions(wave, boss) == {"pack"}
    pack_wave(user=boss, wave=wave)
    wave.refresh_from_db()
    assert allowed_actions(wave, boss) == frozenset()  # everything picked is packed


def test_a_document_without_a_registered_answer_allows_nothing(boss):
    class Unregistered:
        pass

    assert allowed_actions(Unregistered(), boss) == frozenset()
    register(Unregistered, lambda doc, user: frozenset({"poke"}))
    assert allowed_actions(Unregistered(), boss) == {"poke"}


def test_the_api_answer_carries_the_requesting_users_actions(api, make_user, site, order_of):
    coordinator = make_user("coordinator", site)
    order = order_of(coordinator)
    mine = api(coordinator).get(f"/api/v1/sales-orders/{order.pk}/").json()
    theirs = api(make_user("supervisor", site)).get(f"/api/v1/sales-orders/{order.pk}/").json()
    assert mine["allowed_actions"] == ["cancel", "edit", "release", "validate"]
    assert theirs["allowed_actions"] == []


def test_the_order_page_offers_exactly_the_allowed_actions(client, make_user, site, order_of):
    coordinator = make_user("coordinator", site)
    order = order_of(coordinator)
    client.force_login(coordinator)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Validate</button>" in page and "Release</button>" in page and "Cancel order</button>" in page
    cancel_order(user=coordinator, order=order)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Validate</button>" not in page and "Cancel order</button>" not in page
    assert SalesOrder.objects.get(pk=order.pk).status == "CANCELLED"


def test_floor_tasks_counts_and_purchase_orders_offer_their_step_while_it_can_be_taken(
    boss, make_user, site, item, floor, stock, order_of
):
    from inventory.models import CycleCount
    from inventory.services.counts import create_cycle_count

    stock(item, floor, 10)
    order_of(boss, qty=3, release=True)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = wave.pick_tasks.get()
    viewer = make_user("auditor", site)
    assert allowed_actions(task, boss) == {"confirm"} and allowed_actions(task, viewer) == frozenset()
    confirm_pick(user=boss, task=task, quantity=3, location_code="B-01")
    task.refresh_from_db()
    assert allowed_actions(task, boss) == frozenset()  # picked: nothing left to confirm
    count = create_cycle_count(user=boss, site=site, locations=[floor])
    assert count.status == CycleCount.Status.OPEN and allowed_actions(count, boss) == {"count"}
    assert allowed_actions(count, viewer) == frozenset()


def test_a_purchase_order_is_offered_for_receiving_only_while_receivable(boss, make_user, site, item):
    from orders.services import create_purchase_order, create_supplier

    supplier = create_supplier(user=None, code="SUP-A", name="Parts")
    po = create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate() + timedelta(days=3),
        lines=[{"item": item.sku, "quantity": 5}],
    )
    receiver = make_user("operator", site)
    assert allowed_actions(po, receiver) == {"receive"}
    assert allowed_actions(po, make_user("auditor", site)) == frozenset()
    po.status = "CANCELLED"
    assert allowed_actions(po, receiver) == frozenset()
