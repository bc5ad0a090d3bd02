"""An event no active webhook subscription takes is not fanned out (issue 16): its outbox row is written done in
the change's transaction (it stays in the ``events/`` feed) and nothing is published for it; an event some
subscription takes is delivered as before. The rule for a subscription created at the same moment: it gets the
events whose row is written after it committed (governance/services/webhooks.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from governance.events import emit
from governance.models import OutboxMessage, WebhookDelivery
from governance.services import outbox, webhooks
from governance.services.outbox import enqueue_task, relay_outbox
from tests.governance.test_outbox import RUNS, probe
from tests.governance.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _runs():
    RUNS.clear()
    yield
    RUNS.clear()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def integrator(make_user, site):
    return make_user("integrator", site, username="shop")


@pytest.fixture
def published(monkeypatch):
    """The topics of the rows the outbox publishes (fast path and relay), in order."""
    seen: list[str] = []
    real = outbox._publish

    def spy(row):
        seen.append(f"{row.kind}:{row.topic}")
        return real(row)

    monkeypatch.setattr(outbox, "_publish", spy)
    return seen


def _emit(doc_id, event_type="order.released", site=None):
    return emit(
        event_type,
        site=site,
        document_type="sales_order",
        document_id=doc_id,
        number=f"SO-{doc_id:06d}",
        data={"status": "RELEASED"},
    )


def _fire(captured, site, doc_id=1, event_type="order.released"):
    with captured(execute=True) as callbacks:
        with transaction.atomic():
            row = _emit(doc_id, event_type, site)
    row.refresh_from_db()
    return row, callbacks


def _skipped(row) -> bool:
    """Written done, never published, never fanned out."""
    return row.done_at is not None and row.dispatched_at is None and row.attempts == 0 and row.fanned_out_at is None


def test_without_a_subscription_an_event_is_written_done_and_nothing_is_published(
    site, django_capture_on_commit_callbacks, published
):
    with CaptureQueriesContext(connection) as queries:
        row, callbacks = _fire(django_capture_on_commit_callbacks, site)
    assert _skipped(row) and row.payload["type"] == "order.released" and row.document_key == "sales_order:1"
    assert callbacks == [] and published == []  # no after-commit publish, no fan-out task
    assert not any("pg_notify" in q["sql"] for q in queries.captured_queries)  # the relay is not woken either
    assert relay_outbox() == {"sent": 0, "failed": 0} and published == []
    assert not WebhookDelivery.objects.exists()


def test_the_skipped_event_is_in_the_events_feed(site, make_user, api, django_capture_on_commit_callbacks):
    row, _ = _fire(django_capture_on_commit_callbacks, site, 3)
    reader = make_user("integrator", site, username="poller")
    page = api(reader).get("/api/v1/events/").json()
    assert [e["sequence"] for e in page["results"]] == [row.pk]


def test_with_a_subscription_the_event_is_delivered_as_before(
    receiver, integrator, site, django_capture_on_commit_callbacks, published
):
    sub, _ = webhooks.create_subscription(user=integrator, url=receiver.url)  # every type, seen at once
    row, _ = _fire(django_capture_on_commit_callbacks, site, 7)
    assert row.done_at is not None and row.fanned_out_at is not None and row.attempts == 1
    assert published[0] == "EVENT:order.released"
    assert [r["event"]["id"] for r in receiver.requests] == [row.payload["id"]]
    assert WebhookDelivery.objects.get(subscription=sub).status == WebhookDelivery.Status.SUCCEEDED


def test_only_the_types_some_active_subscription_takes_are_fanned_out(
    receiver, integrator, site, django_capture_on_commit_callbacks
):
    webhooks.create_subscription(user=integrator, url=receiver.url, event_types=["order.shipped"])
    webhooks.create_subscription(user=integrator, url=receiver.url, event_types=["order.cancelled"], active=False)
    released, _ = _fire(django_capture_on_commit_callbacks, site, 1, "order.released")
    cancelled, _ = _fire(django_capture_on_commit_callbacks, site, 1, "order.cancelled")  # inactive: nobody
    shipped, _ = _fire(django_capture_on_commit_callbacks, site, 1, "order.shipped")
    assert _skipped(released) and _skipped(cancelled)
    assert shipped.fanned_out_at is not None
    assert [r["event"]["type"] for r in receiver.requests] == ["order.shipped"]


def test_a_change_of_subscription_is_seen_by_the_next_event(
    receiver, integrator, site, django_capture_on_commit_callbacks
):
    sub, _ = webhooks.create_subscription(user=integrator, url=receiver.url, event_types=["order.shipped"])
    first, _ = _fire(django_capture_on_commit_callbacks, site, 1)
    webhooks.update_subscription(user=integrator, subscription=sub, event_types=["order.released"])
    second, _ = _fire(django_capture_on_commit_callbacks, site, 2)
    webhooks.update_subscription(user=integrator, subscription=sub, active=False)
    third, _ = _fire(django_capture_on_commit_callbacks, site, 3)
    assert _skipped(first) and second.fanned_out_at is not None and _skipped(third)
    assert [r["event"]["document"]["id"] for r in receiver.requests] == [2]


def test_a_skipped_event_does_not_hold_back_the_later_events_of_its_document(
    receiver, integrator, site, django_capture_on_commit_callbacks
):
    before, _ = _fire(django_capture_on_commit_callbacks, site, 5, "order.created")
    webhooks.create_subscription(user=integrator, url=receiver.url)
    after, _ = _fire(django_capture_on_commit_callbacks, site, 5, "order.released")
    assert _skipped(before)
    assert [r["event"]["id"] for r in receiver.requests] == [after.payload["id"]]  # not waiting for the first


def test_a_transaction_notifies_the_relay_once(site, django_capture_on_commit_callbacks):
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                enqueue_task(probe, args=["a"])
                enqueue_task(probe, args=["b"])
                enqueue_task(probe, args=["later"], delay_seconds=60)  # not in the batch: announced itself
    assert sum("pg_notify" in q["sql"] for q in queries.captured_queries) == 2
    assert RUNS == ["a", "b"]


def test_a_row_written_after_a_rolled_back_savepoint_is_announced_again(site, django_capture_on_commit_callbacks):
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        enqueue_task(probe, args=["lost"])
                        raise RuntimeError("rolled back")
                except RuntimeError:
                    pass
                enqueue_task(probe, args=["kept"])
    assert sum("pg_notify" in q["sql"] for q in queries.captured_queries) == 2
    assert RUNS == ["kept"]
    assert list(OutboxMessage.objects.values_list("args", flat=True)) == [["kept"]]


@pytest.mark.django_db(transaction=True)
def test_a_subscription_committed_while_an_event_transaction_runs_gets_the_events_written_after_it(
    receiver, integrator, site
):
    """Committed (not eager-captured) transactions: the rule at the same moment, with two connections."""

    def subscribe_elsewhere():
        try:
            webhooks.create_subscription(user=integrator, url=receiver.url)
        finally:
            connection.close()

    with transaction.atomic():
        before = _emit(1, "order.created", site)
        other = threading.Thread(target=subscribe_elsewhere)
        other.start()
        other.join()
        after = _emit(1, "order.released", site)  # this statement sees the committed subscription
    before.refresh_from_db()
    after.refresh_from_db()
    assert _skipped(before)
    assert after.fanned_out_at is not None and after.done_at is not None
    assert [r["event"]["id"] for r in receiver.requests] == [after.payload["id"]]
    assert relay_outbox() == {"sent": 0, "failed": 0}  # nothing left behind for the relay
    with transaction.atomic():
        later = _emit(1, "order.allocated", site)
    later.refresh_from_db()
    assert [r["event"]["type"] for r in receiver.requests] == ["order.released", "order.allocated"]
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).count() == 2
