"""Order events and webhooks (issue 16): an order created and released with no subscription publishes no event
(its three events are in the feed, written done), and with a subscription they arrive in order as before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import OutboxMessage, WebhookDelivery
from governance.services import outbox, webhooks
from governance.services.outbox import relay_outbox
from tests.governance.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db
ORDER_EVENTS = ["order.created", "order.released", "order.allocated"]


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def integrator(make_user, site):
    return make_user("integrator", site, username="shop")


@pytest.fixture
def published(monkeypatch):
    """The kinds and topics of the rows the outbox publishes (fast path and relay)."""
    seen: list[str] = []
    real = outbox._publish

    def spy(row):
        seen.append(f"{row.kind}:{row.topic}")
        return real(row)

    monkeypatch.setattr(outbox, "_publish", spy)
    return seen


def _skipped(row) -> bool:
    return row.done_at is not None and row.dispatched_at is None and row.attempts == 0 and row.fanned_out_at is None


def test_an_order_without_subscribers_publishes_no_event_and_with_one_its_events_arrive_in_order(
    receiver, integrator, api, coordinator, customer, item, storage, stock, published
):
    stock(item, storage, 100)
    client = api(coordinator)

    def order_through_the_api():
        body = {
            "customer": "ACME",
            "promised_date": str(timezone.localdate() + timedelta(days=3)),
            "lines": [{"item": "WIDGET", "quantity": 2, "unit": "CASE"}],
        }
        created = client.post("/api/v1/sales-orders/", body, format="json")
        assert created.status_code == 201, created.json()
        number = created.json()["id"]
        assert client.post(f"/api/v1/sales-orders/{number}/release/").status_code == 202
        for _ in range(5):
            relay_outbox()  # tasks written by tasks (the allocation's events) wait for the relay in tests
        return number

    quiet = order_through_the_api()
    events = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.EVENT, document_key=f"sales_order:{quiet}")
    assert sorted(events.values_list("topic", flat=True)) == sorted(ORDER_EVENTS)
    assert all(_skipped(e) for e in events)
    assert not [p for p in published if p.startswith("EVENT:")]

    webhooks.create_subscription(user=integrator, url=receiver.url, event_types=ORDER_EVENTS)
    watched = order_through_the_api()
    got = [(r["event"]["type"], r["event"]["document"]["id"]) for r in receiver.requests]
    assert got == [(t, watched) for t in ORDER_EVENTS]
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).count() == 3
