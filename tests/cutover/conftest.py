import pytest

from inventory.models import Location
from tests.factories import ItemFactory, LocationFactory


@pytest.fixture
def lead(make_user, site):
    """The site's cutover lead (admin role at the site; master data too)."""
    return make_user("admin", site, username="cutover-lead")


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="cutover-approver")


@pytest.fixture
def bins(site):
    return {
        "A-1": LocationFactory(site=site, code="A-1", kind=Location.Kind.STORAGE),
        "A-2": LocationFactory(site=site, code="A-2", kind=Location.Kind.STORAGE, capacity=100),
        "OLD": LocationFactory(site=site, code="OLD", kind=Location.Kind.STORAGE, active=False),
    }


@pytest.fixture
def goods(db):
    return {
        "WIDGET": ItemFactory(sku="WIDGET", standard_cost="2.50"),
        "MILK": ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=30, standard_cost="1.00"),
    }


def csv_of(header: str, *lines: str, bom: bool = False) -> bytes:
    text = "\r\n".join([header, *lines]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()
