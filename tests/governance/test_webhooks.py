"""Webhooks (issue 14) against a real local receiver: signatures, retries with backoff, dedup by event id, order per
document, site scope, secret rotation, give-up with INTEGRATION_FAILURE, redelivery, events in the change's
transaction. Tasks run eagerly (tests/conftest.py): after commit the event's fan-out and first delivery run inline;
later attempts are delayed outbox rows that the relay publishes when due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from governance.events import emit
from governance.models import ExceptionCase, OutboxMessage, SiteMembership, WebhookDelivery
from governance.services import open_exception, webhooks
from governance.services.outbox import relay_outbox
from tests.governance.webhook_receiver import Receiver, receiver_verifies

pytestmark = pytest.mark.django_db
D = WebhookDelivery.Status


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def integrator(make_user, site):
    return make_user("integrator", site, username="shop")


@pytest.fixture
def fire(django_capture_on_commit_callbacks, site):
    """fire(doc_id, type=..., site=...) -> the event's outbox row, written in a transaction that commits."""

    def _fire(doc_id=1, event_type="order.released", at=None, number=None):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                row = emit(
                    event_type,
                    site=at or site,
                    document_type="sales_order",
                    document_id=doc_id,
                    number=number or f"SO-{doc_id:06d}",
                    data={"status": "RELEASED"},
                )
        return row

    return _fire


def _subscribe(user, url, **kw):
    sub, secret = webhooks.create_subscription(user=user, url=url, **kw)
    return sub, secret


def _relay() -> int:
    """The relay's polls until nothing is due (in tests the after-commit fast path of rows written by a task
    never runs: the test's transaction does not commit)."""
    sent = 0
    for _ in range(20):
        done = relay_outbox()["sent"]
        if not done:
            return sent
        sent += done
    raise AssertionError("the relay never ran dry")


def _due_now(delivery_ids=None):
    """Time passes: retries become due (their delivery and their delayed outbox row)."""
    past = timezone.now() - timedelta(seconds=1)
    qs = WebhookDelivery.objects.filter(status=D.RETRYING)
    if delivery_ids:
        qs = qs.filter(pk__in=delivery_ids)
    qs.update(next_attempt_at=past)
    OutboxMessage.objects.filter(done_at__isnull=True, topic=webhooks.DELIVER_TASK).update(available_at=past)


def test_a_delivery_is_signed_and_the_receiver_verifies_it(receiver, integrator, fire):
    sub, secret = _subscribe(integrator, receiver.url)
    row = fire(7)
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert receiver_verifies(headers["X-Signature"], body, secret)
    assert not receiver_verifies(headers["X-Signature"], body, "whsec_wrong")
    assert not receiver_verifies(headers["X-Signature"], body.replace(b"RELEASED", b"SHIPPED"), secret)
    assert webhooks.verify_signature(headers["X-Signature"], body, secret)
    event = request["event"]
    assert headers["X-Event-Id"] == event["id"] == row.payload["id"]
    assert headers["X-Event-Type"] == event["type"] == "order.released"
    assert event["site"] == "DC1" and event["document"]["number"] == "SO-000007" and event["sequence"] == row.pk
    assert abs(int(headers["X-Event-Timestamp"]) - timezone.now().timestamp()) < 60
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert (delivery.status, delivery.attempts, delivery.response_code) == (D.SUCCEEDED, 1, 200)
    assert delivery.response_excerpt == "ok" and delivery.duration_ms is not None


def test_a_stale_timestamp_fails_verification(receiver, integrator, fire):
    _, secret = _subscribe(integrator, receiver.url)
    fire(1)
    request = receiver.requests[0]
    later = timezone.now().timestamp() + 3600
    assert not webhooks.verify_signature(request["headers"]["X-Signature"], request["body"], secret, now=later)


def test_failures_are_retried_with_a_growing_backoff_and_the_receiver_dedups_by_event_id(
    receiver, integrator, fire, settings
):
    settings.WEBHOOK_BACKOFF_SECONDS = 10
    sub, _ = _subscribe(integrator, receiver.url)
    receiver.codes = [500, 503]
    fire(1)
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert (delivery.status, delivery.attempts, delivery.response_code) == (D.RETRYING, 1, 500)
    first_wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert first_wait == pytest.approx(10, abs=0.5)
    assert _relay() == 0  # not due yet: nothing is sent again
    assert len(receiver.requests) == 1
    _due_now()
    _relay()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (D.RETRYING, 2, 503)
    assert (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() == pytest.approx(20, abs=0.5)
    _due_now()
    _relay()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (D.SUCCEEDED, 3)
    # at least once: a redelivery sends the same event id again; the receiver keeps one
    webhooks.redeliver(user=integrator, delivery=delivery)
    _relay()
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 4 and len(set(ids)) == 1 and len(receiver.seen_ids) == 1


def test_events_of_one_document_arrive_in_order_per_subscription(receiver, integrator, fire):
    sub, _ = _subscribe(integrator, receiver.url)
    receiver.codes = [500]  # the first event of SO 1 fails once
    first = fire(1, "order.created")
    second = fire(1, "order.released")
    other = fire(2, "order.created")  # another document is not held up
    by_event = {d.event_id: d for d in WebhookDelivery.objects.filter(subscription=sub)}
    assert by_event[first.pk].status == D.RETRYING
    assert by_event[second.pk].status == D.PENDING and by_event[second.pk].attempts == 0
    assert by_event[other.pk].status == D.SUCCEEDED
    assert webhooks.deliver(by_event[second.pk].pk) == "waiting"
    _due_now()
    _relay()
    assert [(e["document"]["id"], e["type"]) for e in receiver.events(answered_ok=True)] == [
        (2, "order.created"),
        (1, "order.created"),
        (1, "order.released"),
    ]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {D.SUCCEEDED}


def test_an_event_not_fanned_out_yet_holds_back_the_later_ones_of_its_document(
    receiver, integrator, fire, django_capture_on_commit_callbacks, site
):
    sub, _ = _subscribe(integrator, receiver.url)
    with django_capture_on_commit_callbacks(execute=False):  # the first event waits in the outbox
        with transaction.atomic():
            early = emit("order.created", site=site, document_type="sales_order", document_id=5, number="SO-5", data={})
    late = fire(5, "order.released")
    assert receiver.requests == []
    assert WebhookDelivery.objects.get(event_id=late.pk).status == D.PENDING
    _relay()  # the relay publishes the early one; its delivery wakes the later one
    assert [e["sequence"] for e in receiver.events()] == [early.pk, late.pk]


def test_a_subscriber_never_gets_events_of_a_site_it_cannot_see(
    receiver, integrator, fire, other_site, make_user, site
):
    sub, _ = _subscribe(integrator, receiver.url)
    fire(1, at=other_site)
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()
    with pytest.raises(ValidationFailed) as refused:
        _subscribe(integrator, receiver.url, sites=["DC2"])
    assert refused.value.errors[0]["field"] == "sites[0]"
    # scope is checked again at delivery time: the owner left the site after the event was fanned out
    receiver.default = 500
    fire(2)
    SiteMembership.objects.filter(user=integrator, site=site).delete()
    webhooks.WebhookSubscription.objects.get(pk=sub.pk)  # still there
    _due_now()
    _relay()
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert delivery.status == D.SKIPPED and "no longer sees" in delivery.error
    assert len(receiver.requests) == 1


def test_a_site_scoped_subscription_and_type_filters(receiver, make_user, site, other_site, fire):
    both = make_user("integrator", site, other_site, username="both")
    only_dc2, _ = _subscribe(both, receiver.url, sites=["DC2"], event_types=["order.shipped"])
    fire(1, "order.shipped", at=site)
    fire(2, "order.released", at=other_site)
    fire(3, "order.shipped", at=other_site)
    assert [(e["site"], e["type"]) for e in receiver.events()] == [("DC2", "order.shipped")]
    assert WebhookDelivery.objects.filter(subscription=only_dc2).count() == 1


def test_rotation_signs_with_both_secrets_during_the_overlap(receiver, integrator, fire):
    sub, old = _subscribe(integrator, receiver.url)
    sub, new = webhooks.rotate_secret(user=integrator, subscription=sub, overlap_hours=1)
    assert new != old and new.startswith("whsec_")
    fire(1)
    request = receiver.requests[-1]
    assert request["headers"]["X-Signature"].count("v1=") == 2
    assert receiver_verifies(request["headers"]["X-Signature"], request["body"], old)
    assert receiver_verifies(request["headers"]["X-Signature"], request["body"], new)
    sub, newest = webhooks.rotate_secret(user=integrator, subscription=sub, overlap_hours=0)
    fire(2)
    request = receiver.requests[-1]
    assert request["headers"]["X-Signature"].count("v1=") == 1
    assert receiver_verifies(request["headers"]["X-Signature"], request["body"], newest)
    assert not receiver_verifies(request["headers"]["X-Signature"], request["body"], new)
    # an overlap that has run out signs no more
    sub, latest = webhooks.rotate_secret(user=integrator, subscription=sub, overlap_hours=1)
    type(sub).objects.filter(pk=sub.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    fire(3)
    assert receiver.requests[-1]["headers"]["X-Signature"].count("v1=") == 1
    with pytest.raises(ValidationFailed):
        webhooks.rotate_secret(user=integrator, subscription=sub, overlap_hours=-1)


def test_giving_up_opens_integration_failure_and_a_success_resolves_it(receiver, integrator, fire, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    sub, _ = _subscribe(integrator, receiver.url)
    receiver.default = 500
    fire(1, "order.created")
    later = fire(1, "order.released")
    _due_now()
    _relay()
    first = WebhookDelivery.objects.filter(subscription=sub).order_by("event_id").first()
    assert (first.status, first.attempts) == (D.GAVE_UP, 2)
    case = ExceptionCase.objects.get(code__code="INTEGRATION_FAILURE")
    assert case.status == ExceptionCase.Status.OPEN and case.object_id == sub.pk and case.site.code == "DC1"
    # the given-up event no longer holds back the next one of its document (which then fails on its own)
    assert WebhookDelivery.objects.get(event_id=later.pk).attempts >= 1
    receiver.default = 200
    webhooks.redeliver(user=integrator, delivery=first)
    _relay()
    first.refresh_from_db()
    assert (first.status, first.redeliveries, first.attempts) == (D.SUCCEEDED, 1, 1)
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.RESOLVED


def test_an_unreachable_receiver_is_retried_with_the_error_recorded(integrator, fire):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sub, _ = _subscribe(integrator, f"http://127.0.0.1:{port}/hook")
    fire(1)
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert delivery.status == D.RETRYING and delivery.response_code is None and "ConnectionError" in delivery.error


def test_bad_subscriptions_are_refused_field_by_field(integrator):
    with pytest.raises(ValidationFailed) as refused:
        webhooks.create_subscription(user=integrator, url="ftp://x.example.com/", event_types=["order.teleported"])
    assert {e["field"] for e in refused.value.errors} == {"url", "event_types"}
    for url in ("javascript:alert(1)", "http://", "not a url", "file:///etc/passwd"):
        with pytest.raises(ValidationFailed):
            webhooks.create_subscription(user=integrator, url=url)
    assert not webhooks.WebhookSubscription.objects.exists()


def test_an_inactive_subscription_gets_nothing(receiver, integrator, fire):
    sub, _ = _subscribe(integrator, receiver.url, active=False)
    fire(1)
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


def test_the_event_is_written_in_the_changes_transaction(site, supervisor):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            open_exception(site=site, code="INTEGRATION_FAILURE", subject=site, summary="x", user=supervisor)
            assert OutboxMessage.objects.filter(topic="exception.opened").exists()
            raise RuntimeError("rolled back")
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.EVENT).exists()
    assert not ExceptionCase.objects.exists()
    with transaction.atomic():
        case, _ = open_exception(site=site, code="INTEGRATION_FAILURE", subject=site, summary="x", user=supervisor)
    event = OutboxMessage.objects.get(topic="exception.opened")
    assert event.payload["document"] == {"type": "exception", "id": case.pk, "number": f"EXC-{case.pk}"}
    assert event.document_key == f"exception:{case.pk}" and event.payload["site"] == "DC1"


def test_fan_out_is_idempotent(receiver, integrator, fire):
    sub, _ = _subscribe(integrator, receiver.url)
    row = fire(1)
    assert webhooks.fan_out(OutboxMessage.objects.get(pk=row.pk)) == 0
    assert WebhookDelivery.objects.count() == 1 and len(receiver.requests) == 1
