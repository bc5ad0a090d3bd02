"""A site's "today" is its own calendar day (its time zone), not the server's: promised dates, overdue receipts,
the earliest promise date, and the one helper that decides it."""

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from core.errors import ValidationFailed
from governance.models import Site
from governance.services.sites import create_site, site_local_date
from governance.signals import site_created
from orders.selectors import available_to_promise
from orders.services import create_purchase_order, create_supplier
from orders.services.orders import check_order
from orders.services.purchasing import sweep_overdue_receipts
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory

pytestmark = pytest.mark.django_db

# 24 Nov 2026 11:30 UTC is already 25 Nov 00:30 in Auckland and still 24 Nov 03:30 in Los Angeles.
AUCKLAND_PAST_MIDNIGHT = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)


@pytest.fixture
def far_sites(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: AUCKLAND_PAST_MIDNIGHT)
    return {
        "AKL": SiteFactory(code="AKL", region="EAST", timezone="Pacific/Auckland"),
        "LAX": SiteFactory(code="LAX", region="EAST", timezone="America/Los_Angeles"),
    }


def test_the_network_and_an_unknown_zone_read_utc():
    assert site_local_date(None, AUCKLAND_PAST_MIDNIGHT) == date(2026, 11, 24)
    assert site_local_date(Site(timezone="Not/AZone"), AUCKLAND_PAST_MIDNIGHT) == date(2026, 11, 24)
    assert site_local_date(Site(timezone="Pacific/Auckland"), AUCKLAND_PAST_MIDNIGHT) == date(2026, 11, 25)


def promised_date_errors(**kwargs) -> list[str]:
    with pytest.raises(ValidationFailed) as refused:  # no lines: always refused, and every problem is listed
        check_order(user=None, lines=[], **kwargs)
    return [e["code"] for e in refused.value.errors if e["field"] == "promised_date"]


def test_a_promised_date_is_in_the_past_by_the_day_where_the_order_ships_from(far_sites):
    auckland = CustomerFactory(home_site=far_sites["AKL"])
    la = CustomerFactory(home_site=far_sites["LAX"])
    nov24 = date(2026, 11, 24)
    assert promised_date_errors(customer=auckland, promised_date=nov24) == ["in_past"]
    assert promised_date_errors(customer=la, promised_date=nov24) == []
    # the ship-from site wins over the home site
    assert promised_date_errors(customer=auckland, promised_date=nov24, ship_from="LAX") == []
    assert promised_date_errors(customer=la, promised_date=nov24, ship_from="AKL") == ["in_past"]


def test_a_receipt_is_overdue_by_the_receiving_site_day(far_sites):
    supplier = create_supplier(user=None, code="SUP", name="Supplier")
    ItemFactory(sku="TZ")
    for code in ("AKL", "LAX"):  # both expected on 23 Nov; the grace is one day
        create_purchase_order(
            user=None,
            supplier=supplier,
            site=far_sites[code],
            expected_date=date(2026, 11, 23),
            lines=[{"item": "TZ", "quantity": 5}],
        )
    # Auckland is on 25 Nov (2 days late: overdue), Los Angeles still on 24 Nov (1 day: within the grace)
    assert sweep_overdue_receipts()["opened"] == 1
    from governance.models import ExceptionCase

    assert list(ExceptionCase.objects.values_list("site__code", flat=True)) == ["AKL"]
    # a given day applies to every site (a back-dated run)
    assert sweep_overdue_receipts(today=date(2026, 11, 25))["opened"] == 1


def test_the_earliest_promise_date_is_the_site_day(far_sites, stock, admin_user):
    item = ItemFactory(sku="TZ")
    for code, site in far_sites.items():
        stock(item, LocationFactory(site=site, code=f"{code}-1"), 10)
    rows = {row["site"]: row["earliest_date"] for row in available_to_promise(user=admin_user, item=item, quantity=5)}
    assert {code: rows[code] for code in far_sites} == {"AKL": date(2026, 11, 25), "LAX": date(2026, 11, 24)}


def test_a_site_is_created_whole_or_not_at_all():
    def fail(**kwargs):
        raise RuntimeError("virtual locations could not be made")

    site_created.connect(fail, dispatch_uid="test.fail")
    try:
        with pytest.raises(RuntimeError):
            create_site(user=None, code="HALF", name="Half made", region="EAST")
    finally:
        site_created.disconnect(dispatch_uid="test.fail")
    assert not Site.objects.filter(code="HALF").exists()
