"""webhook-subscriptions/, webhook-deliveries/ and the events/ feed: secrets shown once, field errors, who sees
what, redelivery, the cursor feed scoped to the user's sites."""

from __future__ import annotations

import pytest
from django.db import transaction

from governance.events import emit
from governance.models import WebhookDelivery, WebhookSubscription
from tests.api.helpers import field_errors
from tests.governance.webhook_receiver import Receiver, receiver_verifies

pytestmark = pytest.mark.django_db
BASE = "/api/v1/"


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def integrator(make_user, site):
    return make_user("integrator", site, username="shop")


@pytest.fixture
def fire(django_capture_on_commit_callbacks):
    def _fire(site, doc_id=1, event_type="order.released"):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                return emit(
                    event_type,
                    site=site,
                    document_type="sales_order",
                    document_id=doc_id,
                    number=f"SO-{doc_id}",
                    data={},
                )

    return _fire


def test_create_shows_the_secret_once_and_it_signs_deliveries(api, integrator, receiver, fire, site):
    client = api(integrator)
    created = client.post(
        BASE + "webhook-subscriptions/",
        {"url": receiver.url, "event_types": ["order.released"], "sites": ["DC1"], "name": "shop"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["owner"] == "shop" and body["sites"] == ["DC1"]
    shown = client.get(BASE + f"webhook-subscriptions/{body['id']}/").json()
    assert "secret" not in shown and shown["secret_hint"] == "…" + secret[-4:]
    fire(site)
    request = receiver.requests[0]
    assert receiver_verifies(request["headers"]["X-Signature"], request["body"], secret)
    rotated = client.post(
        BASE + f"webhook-subscriptions/{body['id']}/rotate-secret/", {"overlap_hours": 2}, format="json"
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] not in ("", secret)
    assert rotated.json()["previous_secret_expires_at"]


def test_bad_input_is_refused_with_field_errors_and_creates_nothing(api, integrator):
    client = api(integrator)
    response = client.post(
        BASE + "webhook-subscriptions/",
        {"url": "ftp://example.com/x", "event_types": ["order.teleported"], "sites": ["DC2"]},
        format="json",
    )
    assert field_errors(response) == {"url": "invalid", "event_types": "invalid_choice", "sites[0]": "does_not_exist"}
    assert field_errors(client.post(BASE + "webhook-subscriptions/", {}, format="json"))["url"] == "required"
    assert not WebhookSubscription.objects.exists()
    sub = client.post(BASE + "webhook-subscriptions/", {"url": "https://a.example.com/"}, format="json").json()
    patch = client.patch(BASE + f"webhook-subscriptions/{sub['id']}/", {"url": "gopher://x"}, format="json")
    assert field_errors(patch) == {"url": "invalid"}
    bad_overlap = client.post(
        BASE + f"webhook-subscriptions/{sub['id']}/rotate-secret/", {"overlap_hours": -3}, format="json"
    )
    assert field_errors(bad_overlap) == {"overlap_hours": "invalid"}


def test_who_sees_and_changes_a_subscription(api, integrator, outsider, make_user, site, admin_user):
    sub = api(integrator).post(BASE + "webhook-subscriptions/", {"url": "https://a.example.com/"}, format="json")
    sub_id = sub.json()["id"]
    assert api(outsider).get(BASE + f"webhook-subscriptions/{sub_id}/").status_code == 404
    assert api(outsider).get(BASE + "webhook-subscriptions/").json()["count"] == 0
    site_admin = make_user("admin", site, username="dc1-admin")
    assert api(site_admin).get(BASE + f"webhook-subscriptions/{sub_id}/").status_code == 200
    patched = api(site_admin).patch(BASE + f"webhook-subscriptions/{sub_id}/", {"active": False}, format="json")
    assert patched.status_code == 403
    assert (
        api(admin_user).patch(BASE + f"webhook-subscriptions/{sub_id}/", {"active": False}, format="json").status_code
        == 200
    )
    assert api(integrator).delete(BASE + f"webhook-subscriptions/{sub_id}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_deliveries_are_listed_filtered_and_redelivered(api, integrator, outsider, receiver, fire, site):
    client = api(integrator)
    client.post(BASE + "webhook-subscriptions/", {"url": receiver.url}, format="json")
    receiver.codes = [500]
    fire(site, 1)
    fire(site, 2)
    listed = client.get(BASE + "webhook-deliveries/", {"status": "RETRYING"}).json()
    assert listed["count"] == 1
    delivery = listed["results"][0]
    assert delivery["response_code"] == 500 and delivery["attempts"] == 1 and delivery["next_attempt_at"]
    assert api(outsider).post(BASE + f"webhook-deliveries/{delivery['id']}/redeliver/").status_code == 404
    again = client.post(BASE + f"webhook-deliveries/{delivery['id']}/redeliver/")
    assert again.status_code == 202 and again.json()["redeliveries"] == 1
    from governance.services.outbox import relay_outbox

    relay_outbox()
    assert WebhookDelivery.objects.get(pk=delivery["id"]).status == WebhookDelivery.Status.SUCCEEDED
    assert len(receiver.requests) == 3


def test_the_events_feed_is_a_cursor_over_the_users_sites(api, integrator, outsider, fire, site, other_site):
    a = fire(site, 1, "order.created")
    fire(other_site, 2, "order.created")
    c = fire(site, 1, "order.released")
    client = api(integrator)
    page = client.get(BASE + "events/", {"limit": 1}).json()
    assert [e["sequence"] for e in page["results"]] == [a.pk] and page["has_more"]
    page = client.get(BASE + "events/", {"after": page["next_cursor"]}).json()
    assert [e["sequence"] for e in page["results"]] == [c.pk] and not page["has_more"]
    event = page["results"][0]
    assert event["type"] == "order.released" and event["site"] == "DC1" and event["document"]["number"] == "SO-1"
    assert client.get(BASE + "events/", {"after": page["next_cursor"]}).json()["results"] == []
    assert [e["sequence"] for e in client.get(BASE + "events/", {"type": "order.released"}).json()["results"]] == [c.pk]
    assert client.get(BASE + "events/", {"site": "DC2"}).json()["results"] == []  # never another site's
    assert [e["site"] for e in api(outsider).get(BASE + "events/").json()["results"]] == ["DC2"]
    errors = field_errors(client.get(BASE + "events/", {"after": "x", "type": "nope", "limit": 0}))
    assert errors == {"after": "invalid", "type": "invalid_choice", "limit": "out_of_range"}
