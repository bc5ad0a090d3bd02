"""stock.level_changed (issue 14): the ledger emits one event per written stock level of an item a subscription
watches (``items``), in the ledger's transaction, with the absolute figures after the change; items nobody
watches emit nothing; the event reaches only the subscriptions watching the item at a site their owner sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from governance.models import OutboxMessage, WebhookDelivery
from governance.services import webhooks
from inventory.services import receive_stock
from tests.factories import CustomerFactory, ItemFactory
from tests.governance.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db
EVENT = "stock.level_changed"


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def integrator(make_user, site):
    return make_user("integrator", site, username="shop")


def _events():
    return list(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.EVENT, topic=EVENT).order_by("id"))


def _receive(item, location, quantity, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            receive_stock(
                user=None, item=item, location=location, quantity=quantity, status="AVAILABLE", check_permission=False
            )


def test_a_watched_items_stock_change_is_an_event_with_the_new_levels(
    receiver, integrator, item, storage, django_capture_on_commit_callbacks
):
    other = ItemFactory(sku="GADGET")
    webhooks.create_subscription(user=integrator, url=receiver.url, event_types=[EVENT], items=["WIDGET"])
    _receive(item, storage, 12, django_capture_on_commit_callbacks)
    _receive(other, storage, 5, django_capture_on_commit_callbacks)  # nobody watches GADGET: no event
    (event,) = _events()
    assert event.payload["type"] == EVENT and event.payload["site"] == "DC1"
    assert event.payload["document"]["type"] == "stock_level" and event.payload["document"]["number"] == "WIDGET@DC1"
    data = event.payload["data"]
    figures = (data["item"], data["available"], data["allocated"], data["atp"], data["on_hand"])
    assert figures == ("WIDGET", 12, 0, 12, 12)
    # delivered to the receiver (tasks run eagerly after the commit)
    assert [e["data"]["available"] for e in receiver.events()] == [12]
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_allocation_changes_atp_and_emits(integrator, receiver, item, storage, site, make_user, stock):
    from orders.services import allocate_orders, create_order, release_order

    stock(item, storage, 10)
    webhooks.create_subscription(user=integrator, url=receiver.url, event_types=[EVENT], items=["WIDGET"])
    before = len(_events())
    coordinator = make_user("coordinator", site)
    order = create_order(
        user=coordinator,
        customer=CustomerFactory(code="C1", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "WIDGET", "quantity": 4}],
    )
    release_order(user=coordinator, order=order)
    allocate_orders([order.pk])
    after = _events()[before:]
    assert after, "allocation changed the level's allocated units"
    assert (after[-1].payload["data"]["allocated"], after[-1].payload["data"]["atp"]) == (4, 6)


def test_a_rolled_back_post_leaves_no_event(integrator, receiver, item, storage):
    webhooks.create_subscription(user=integrator, url=receiver.url, event_types=[EVENT], items=["WIDGET"])
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            receive_stock(user=None, item=item, location=storage, quantity=3, check_permission=False)
            assert _events()
            raise RuntimeError("the caller's transaction fails after the post")
    assert _events() == []


def test_nobody_watching_costs_no_event_and_other_subscribers_do_not_get_it(
    make_user, receiver, item, storage, site, other_site, django_capture_on_commit_callbacks
):
    _receive(item, storage, 2, django_capture_on_commit_callbacks)
    assert _events() == []
    everything = make_user("integrator", site, username="all-types")
    webhooks.create_subscription(user=everything, url=receiver.url)  # every type, but watches no item
    watcher = make_user("integrator", other_site, username="dc2-only")
    webhooks.create_subscription(user=watcher, url=receiver.url, items=["WIDGET"])  # watches it, at DC2 only
    _receive(item, storage, 2, django_capture_on_commit_callbacks)
    assert len(_events()) == 1  # written (someone watches WIDGET) ...
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()  # ... but delivered to nobody


def test_subscriptions_validate_their_items(integrator, receiver):
    with pytest.raises(ValidationFailed) as missing:
        webhooks.create_subscription(user=integrator, url=receiver.url, event_types=[EVENT])
    assert missing.value.errors[0]["field"] == "items"
    with pytest.raises(ValidationFailed) as bad:
        webhooks.create_subscription(user=integrator, url=receiver.url, items=["X" * 41, 7])
    assert bad.value.errors[0]["field"] == "items"
    with pytest.raises(ValidationFailed):
        webhooks.create_subscription(
            user=integrator, url=receiver.url, items=[f"SKU-{i}" for i in range(webhooks.MAX_WATCHED_ITEMS + 1)]
        )
    sub, _ = webhooks.create_subscription(user=integrator, url=receiver.url, items=[" WIDGET ", "WIDGET", "GADGET"])
    assert sub.items == ["GADGET", "WIDGET"]
    with pytest.raises(ValidationFailed):  # watching stock events needs items
        webhooks.update_subscription(user=integrator, subscription=sub, event_types=[EVENT], items=[])
    sub.refresh_from_db()
    assert sub.items == ["GADGET", "WIDGET"]


def test_the_api_takes_and_shows_items(api, integrator, receiver):
    client = api(integrator)
    made = client.post(
        "/api/v1/webhook-subscriptions/",
        {"url": receiver.url, "event_types": [EVENT], "items": ["WIDGET"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert made.json()["items"] == ["WIDGET"]
    refused = client.post(
        "/api/v1/webhook-subscriptions/", {"url": receiver.url, "event_types": [EVENT]}, format="json"
    )
    assert refused.status_code in (400, 422) and "items" in str(refused.json())
    changed = client.patch(f"/api/v1/webhook-subscriptions/{made.json()['id']}/", {"items": ["A", "B"]}, format="json")
    assert changed.status_code == 200 and changed.json()["items"] == ["A", "B"]


def test_the_watched_set_is_read_again_when_a_subscription_changes(integrator, receiver):
    assert webhooks.watched_skus() == frozenset()
    sub, _ = webhooks.create_subscription(user=integrator, url=receiver.url, items=["WIDGET"])
    assert webhooks.watched_skus() == {"WIDGET"}
    webhooks.update_subscription(user=integrator, subscription=sub, active=False)
    assert webhooks.watched_skus() == frozenset()
