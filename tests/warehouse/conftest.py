from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Location
from orders.services import create_purchase_order, create_supplier
from tests.factories import LocationFactory


@pytest.fixture
def dock(site):
    return LocationFactory(site=site, code="DOCK-1", kind=Location.Kind.RECEIVING)


@pytest.fixture
def supplier(db):
    return create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=5)


@pytest.fixture
def receiver(make_user, site):
    return make_user(["operator", "supervisor"], site, username="receiver")


@pytest.fixture
def new_po(site, supplier):
    def _make(lines, expected_date=None, sup=None):
        return create_purchase_order(
            user=None,
            supplier=sup or supplier,
            site=site,
            expected_date=expected_date or timezone.localdate() + timedelta(days=2),
            lines=[{"item": sku, "quantity": qty, "unit_cost": "5.00"} for sku, qty in lines],
        )

    return _make


@pytest.fixture
def coordinator(make_user, site):
    return make_user("coordinator", site, username="coord1")


@pytest.fixture
def new_order(coordinator, site):
    from orders.services import create_order
    from tests.factories import CustomerFactory

    customer = CustomerFactory(code="ACME", home_site=site)

    def _make(lines):
        return create_order(
            user=coordinator,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=1),
            lines=[{"item": sku, "quantity": qty} for sku, qty in lines],
        )

    return _make
