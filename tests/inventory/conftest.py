from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ItemFactory, LotFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users made by the factories get a cheap hash: PBKDF2 at full strength costs ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lot_item(db):
    """A lot-tracked item with a shelf life (a new lot needs an expiry date)."""
    return ItemFactory(sku="YOGURT", standard_cost="2.00", lot_tracked=True, shelf_life_days=30)


@pytest.fixture
def lot(lot_item):
    return LotFactory(item=lot_item, number="L-001", expiry_date=timezone.localdate() + timedelta(days=20))


@pytest.fixture
def auditor(make_user, site):
    """Sees the site, may change nothing."""
    return make_user("auditor", site, username="auditor1")
