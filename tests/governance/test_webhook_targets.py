"""Webhook targets must be public addresses unless WEBHOOK_ALLOW_PRIVATE_TARGETS: no SSRF into the server's own
network (loopback, private ranges, link-local cloud metadata). IP literals only: nothing resolves off the machine."""

import pytest

from core.errors import ValidationFailed
from governance.models import WebhookDelivery, WebhookSubscription
from governance.services import webhooks

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_subscription_to_a_private_address_is_refused_and_nothing_is_saved(settings, admin_user, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ValidationFailed) as refused:
        webhooks.create_subscription(user=admin_user, url=url)
    assert refused.value.errors[0]["field"] == "url" and refused.value.errors[0]["code"] == "private_address"
    assert not WebhookSubscription.objects.exists()


def test_a_public_address_is_accepted(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert webhooks.target_problem("https://93.184.215.14/hook") is None


def test_delivery_refuses_a_target_that_became_private(settings, admin_user, site):
    from governance.models import OutboxMessage
    from governance.services import open_exception

    sub, _ = webhooks.create_subscription(user=admin_user, url="http://127.0.0.1:9/hook")
    open_exception(site=site, code="SHORT_PICK", subject=site, summary="x")
    webhooks.fan_out(OutboxMessage.objects.filter(kind="EVENT", topic="exception.opened").latest("pk"))
    delivery = WebhookDelivery.objects.get(subscription=sub)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.response_code is None and "private" in delivery.error
