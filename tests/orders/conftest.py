from datetime import timedelta

import pytest
from django.utils import timezone

from orders.services import create_order
from tests.factories import CustomerFactory


@pytest.fixture
def coordinator(make_user, site):
    return make_user("coordinator", site, username="coord1")


@pytest.fixture
def customer(site):
    return CustomerFactory(code="ACME", home_site=site, region=site.region)


@pytest.fixture
def tomorrow():
    return timezone.localdate() + timedelta(days=1)


@pytest.fixture
def new_order(coordinator, customer, tomorrow):
    """new_order([("WIDGET", 10), ...], **kw) -> a DRAFT order entered by the coordinator."""

    def _make(lines, user=None, cust=None, **kw):
        return create_order(
            user=user or coordinator,
            customer=cust or customer,
            promised_date=kw.pop("promised_date", tomorrow),
            lines=[
                {"item": sku, "quantity": qty, **extra}
                for sku, qty, *rest in lines
                for extra in [rest[0] if rest else {}]
            ],
            **kw,
        )

    return _make
