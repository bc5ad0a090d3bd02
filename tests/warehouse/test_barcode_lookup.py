"""barcodes/lookup/?code=: what a scanned code is (item or unit GTIN, SKU, location, lot, SSCC, GS1-128 label).
A location or package of a site the caller does not belong to is never found."""

import datetime as dt

import pytest

from inventory.models import Location, Lot
from inventory.services import create_item
from tests.factories import LocationFactory
from warehouse.models import Package, Shipment

pytestmark = pytest.mark.django_db

CASE_GTIN = "14006381333938"


@pytest.fixture
def milk(make_user, site):
    planner = make_user("planner", site)
    item = create_item(
        user=planner,
        sku="MILK",
        description="Milk 1l",
        lot_tracked=True,
        units=[{"code": "CASE", "factor": 6}],
        barcodes=[{"gtin": "4006381333931"}, {"gtin": CASE_GTIN, "unit": "CASE"}],
    )
    Lot.objects.create(item=item, number="L42", expiry_date=dt.date(2027, 1, 31))
    return item


def _get(client, code):
    return client.get("/api/v1/barcodes/lookup/", {"code": code})


def test_an_ean_and_a_case_gtin_resolve_to_the_item_and_unit(api, supervisor, milk):
    client = api(supervisor)
    ean = _get(client, "4006381333931")
    assert ean.status_code == 200
    assert ean.json()["matches"] == [
        {
            "type": "item",
            "sku": "MILK",
            "description": "Milk 1l",
            "unit": "EA",
            "factor": 1,
            "gtin": "04006381333931",
            "gtin_display": "4006381333931",
            "matched_by": "gtin",
        }
    ]
    case = _get(client, CASE_GTIN).json()["matches"][0]
    assert (case["unit"], case["factor"]) == ("CASE", 6)


def test_a_gs1_128_label_is_parsed_and_resolved(api, supervisor, milk):
    body = _get(api(supervisor), f"(01){CASE_GTIN}(17)270131(10)L42(37)4").json()
    assert body["gs1"]["gtin"] == CASE_GTIN and body["gs1"]["lot"] == "L42"
    assert body["gs1"]["expiry_date"] == "2027-01-31" and body["gs1"]["count"] == 4
    assert [m["type"] for m in body["matches"]] == ["item", "lot"]
    assert body["matches"][1] == {"type": "lot", "item": "MILK", "number": "L42", "expiry_date": "2027-01-31"}
    raw = _get(api(supervisor), f"]C101{CASE_GTIN}10L42\x1d374").json()
    assert raw["gs1"]["human_readable"] == f"(01){CASE_GTIN}(10)L42(37)4"


def test_a_bad_gs1_label_is_a_400_field_error(api, supervisor, milk):
    answer = _get(api(supervisor), "(01)14006381333939(10)L42")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "code" and "check digit" in answer.json()["errors"][0]["message"]
    assert _get(api(supervisor), "").status_code == 400


def test_a_location_code_resolves_only_at_the_callers_sites(api, supervisor, outsider, site, other_site):
    LocationFactory(site=site, code="A-01-01", kind=Location.Kind.STORAGE)
    mine = _get(api(supervisor), "A-01-01")
    assert mine.status_code == 200
    assert mine.json()["matches"] == [
        {"type": "location", "site": "DC1", "code": "A-01-01", "kind": "STORAGE", "zone": None}
    ]
    assert _get(api(outsider), "A-01-01").status_code == 404
    LocationFactory(site=other_site, code="A-01-01", kind=Location.Kind.PICK)
    assert [m["site"] for m in _get(api(outsider), "A-01-01").json()["matches"]] == ["DC2"]
    assert [m["site"] for m in _get(api(supervisor), "A-01-01").json()["matches"]] == ["DC1"]


def test_an_sscc_resolves_to_the_package_of_the_callers_site_only(api, supervisor, outsider, site):
    from inventory.policy.barcodes import sscc

    shipment = Shipment.objects.create(number="SH-900001", site=site, customer_code="ACME")
    code = sscc(extension_digit=0, company_prefix="0614141", serial=99)
    Package.objects.create(shipment=shipment, number=1, sscc=code)
    found = _get(api(supervisor), f"(00){code}").json()
    assert found["gs1"]["sscc"] == code
    assert found["matches"][0]["type"] == "package" and found["matches"][0]["shipment"] == "SH-900001"
    assert _get(api(supervisor), code).json()["matches"][0]["type"] == "package"
    assert _get(api(outsider), f"(00){code}").json()["matches"] == []
    assert _get(api(outsider), code).status_code == 404


def test_an_unknown_code_is_404_and_anonymous_is_401(api, supervisor):
    assert _get(api(supervisor), "NOTHING-HERE").status_code == 404
    assert _get(api(None), "A-01-01").status_code == 401
