"""Fixtures for the browser pages: a small outbound floor, a customer, order entry helpers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Location
from orders.services import allocate_orders, create_order, create_purchase_order, create_supplier, release_order
from tests.factories import CustomerFactory, LocationFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def coordinator(make_user, site):
    return make_user("coordinator", site, username="coord1")


@pytest.fixture
def boss(make_user, site):
    """Coordinator, supervisor and operator at ``site``."""
    return make_user(["coordinator", "supervisor", "operator"], site, username="boss")


@pytest.fixture
def floor(site):
    return {
        "pick": LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK),
        "bulk": LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE),
        "stage": LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING),
        "dock": LocationFactory(site=site, code="DOCK-1", kind=Location.Kind.RECEIVING),
    }


@pytest.fixture
def customer(site):
    return CustomerFactory(code="ACME", name="Acme Stores", home_site=site, region=site.region)


@pytest.fixture
def tomorrow():
    return timezone.localdate() + timedelta(days=1)


@pytest.fixture
def draft(coordinator, customer, tomorrow, item):
    """draft(qty=5, user=None) -> a DRAFT order of WIDGET for ACME."""

    def _make(quantity=5, user=None):
        return create_order(
            user=user or coordinator,
            customer=customer,
            promised_date=tomorrow,
            lines=[{"item": item.sku, "quantity": quantity}],
        )

    return _make


@pytest.fixture
def allocated(boss, customer, tomorrow, item):
    """allocated(qty) -> an order released and allocated at ``site`` (stock must be there)."""

    def _make(quantity=5):
        order = create_order(
            user=boss, customer=customer, promised_date=tomorrow, lines=[{"item": item.sku, "quantity": quantity}]
        )
        release_order(user=boss, order=order)
        allocate_orders([order.pk])
        order.refresh_from_db()
        return order

    return _make


@pytest.fixture
def purchase_order(site, item):
    supplier = create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=5)

    def _make(quantity=10):
        return create_purchase_order(
            user=None,
            supplier=supplier,
            site=site,
            expected_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": item.sku, "quantity": quantity, "unit_cost": "5.00"}],
        )

    return _make
