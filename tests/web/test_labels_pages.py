"""Label pages (location, item, case, lot, package SSCC), their ZPL downloads, the packing slip's SSCCs and the
manual/LTL carrier's bill of lading with its tracking form; another site's location or shipment is a 404, and the
pages pass the Content-Security-Policy (no inline style or script: the SVG uses presentation attributes)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from inventory.models import Lot
from inventory.policy.barcodes import check_digit
from inventory.services import create_item
from tests.factories import LocationFactory
from warehouse.models import Package, PickTask, Shipment, Wave
from warehouse.services import confirm_pick, pack_wave, plan_wave, release_wave

pytestmark = pytest.mark.django_db


def _no_inline_styles_or_scripts(html: str) -> None:
    assert not re.search(r"\sstyle=", html), "inline style attribute"
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        assert "src=" in tag or "nonce=" in tag, tag
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


@pytest.fixture
def picked(boss, site, item, floor, stock, allocated):
    stock(item, floor["pick"], 10)
    allocated(3)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    Wave.objects.filter(pk=wave.pk).update(carrier="LTL-FREIGHT")
    for task in PickTask.objects.filter(wave=wave):
        confirm_pick(user=boss, task=task, quantity=task.quantity, location_code=task.location.code)
    wave.refresh_from_db()
    return wave


@pytest.fixture
def packed(boss, picked):
    (shipment,) = pack_wave(user=boss, wave=picked, packages=[{"weight_grams": 1200}, {"weight_grams": 800}])
    return shipment


def test_location_label_renders_for_the_users_site_and_404_for_another(client, boss, outsider, floor, other_site):
    client.force_login(boss)
    url = reverse("web:location-label", args=[floor["bulk"].pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "B-01" in html and 'data-symbology="CODE128"' in html and "<svg" in html
    _no_inline_styles_or_scripts(html)
    zpl = client.get(url + "?format=zpl")
    assert zpl.status_code == 200 and zpl["Content-Type"].startswith("application/zpl")
    assert "^BCN" in zpl.content.decode() and "^FDB-01^FS" in zpl.content.decode()
    elsewhere = LocationFactory(site=other_site, code="X-9")
    assert client.get(reverse("web:location-label", args=[elsewhere.pk])).status_code == 404
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(url + "?format=zpl").status_code == 404


def test_item_case_and_lot_labels_carry_gtins_and_gs1_128(client, boss, make_user, site):
    planner = make_user("planner", site)
    item = create_item(
        user=planner,
        sku="MILK",
        description="Milk 1l",
        lot_tracked=True,
        units=[{"code": "CASE", "factor": 6}],
        barcodes=[{"gtin": "4006381333931"}, {"gtin": "14006381333938", "unit": "CASE"}],
    )
    import datetime as dt

    Lot.objects.create(item=item, number="L42", expiry_date=dt.date(2027, 1, 31))
    client.force_login(boss)
    item_page = client.get(reverse("web:item-label", args=["MILK"])).content.decode()
    assert 'data-symbology="EAN13"' in item_page and 'data-code="4006381333931"' in item_page
    case_url = reverse("web:case-label", args=["MILK", "CASE"]) + "?lot=L42"
    case = client.get(case_url).content.decode()
    assert "(01)14006381333938(17)270131(10)L42" in case and "CASE of 6 EA" in case
    _no_inline_styles_or_scripts(case)
    zpl = client.get(case_url + "&format=zpl").content.decode()
    assert "^BCN,150,Y,N,N,D^FH_^FD(01)14006381333938(17)270131(10)L42^FS" in zpl and "^BY3" in zpl
    lot = client.get(reverse("web:lot-label", args=["MILK", "L42"])).content.decode()
    assert "(01)04006381333931(17)270131(10)L42" in lot
    assert client.get(reverse("web:case-label", args=["MILK", "PALLET"])).status_code == 404
    assert client.get(reverse("web:lot-label", args=["MILK", "NOPE"])).status_code == 404


def test_packing_slip_gives_each_package_an_sscc_with_its_check_digit(client, boss, packed):
    client.force_login(boss)
    slip = client.get(reverse("web:shipment-packing-slip", args=[packed.pk])).content.decode()
    ssccs = list(Package.objects.filter(shipment=packed).order_by("number").values_list("sscc", flat=True))
    assert len(ssccs) == 2 and len(set(ssccs)) == 2
    for code in ssccs:
        # extension digit 0 + company prefix 0614141 (the site rules' defaults) + 9-digit serial + check digit
        assert len(code) == 18 and code.startswith("00614141")
        assert int(code[-1]) == check_digit(code[:-1])
        assert f"(00){code}" in slip
    # printing again keeps them
    client.get(reverse("web:shipment-packing-slip", args=[packed.pk]))
    assert list(Package.objects.filter(shipment=packed).order_by("number").values_list("sscc", flat=True)) == ssccs


def test_package_labels_in_html_and_zpl_with_the_sscc(client, boss, outsider, packed):
    client.force_login(boss)
    url = reverse("web:shipment-labels", args=[packed.pk])
    html = client.get(url).content.decode()
    assert html.count('data-testid="label"') == 2 and "package 1 of 2" in html
    _no_inline_styles_or_scripts(html)
    zpl = client.get(url + "?format=zpl")
    text = zpl.content.decode()
    assert zpl["Content-Disposition"].endswith('.zpl"')
    assert text.count("^XA") == 2 and text.count("^XZ") == 2
    for package in Package.objects.filter(shipment=packed):
        assert f"^FD(00){package.sscc}^FS" in text
    assert "^BY3,3,150" in text and "^BCN,150,Y,N,N,D" in text
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_site_rules_set_the_company_prefix_and_extension_digit(client, boss, picked, site, admin_user):
    from tests.factories import set_rule_now

    set_rule_now(user=admin_user, key="shipping.gs1_company_prefix", value=95012345, reason="our GS1 prefix")
    set_rule_now(user=admin_user, key="shipping.gs1_company_prefix_digits", value=9, reason="leading zero")
    set_rule_now(user=admin_user, key="shipping.sscc_extension_digit", value=3, reason="DC1 range", site=site)
    (packed,) = pack_wave(user=boss, wave=picked, packages=[{"weight_grams": 1200}, {"weight_grams": 800}])
    codes = list(Package.objects.filter(shipment=packed).values_list("sscc", flat=True))
    assert len(codes) == 2
    for code in codes:
        assert code.startswith("3" + "095012345") and len(code) == 18 and int(code[-1]) == check_digit(code[:-1])
    client.force_login(boss)
    page = client.get(reverse("web:shipment-labels", args=[packed.pk])).content.decode()
    assert all(code in page for code in codes)


def test_bill_of_lading_takes_a_scanned_tracking_number_and_ships(client, boss, packed):
    client.force_login(boss)
    url = reverse("web:shipment-bill-of-lading", args=[packed.pk])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "bill of lading" in html.lower() and 'data-testid="tracking-form"' in html
    assert "2 piece(s)" in html and "2.0 kg" in html
    _no_inline_styles_or_scripts(html)
    tracking = reverse("web:shipment-tracking", args=[packed.pk])
    bad = client.post(tracking, {"carrier": "LTL-FREIGHT", "tracking_number": "?"})
    assert bad.status_code == 400 and "is not a tracking number" in bad.content.decode()
    packed.refresh_from_db()
    assert packed.status == Shipment.Status.PACKED and packed.tracking_number == ""
    done = client.post(tracking, {"carrier": "ltl-freight", "tracking_number": " pro 12345\r"})
    assert done.status_code == 302
    packed.refresh_from_db()
    assert (packed.status, packed.carrier, packed.tracking_number) == ("SHIPPED", "LTL-FREIGHT", "PRO12345")
    # a mistyped number is corrected from the same page; history keeps the old one
    fixed = client.post(tracking, {"carrier": "LTL-FREIGHT", "tracking_number": "PRO12346", "correct": "1"})
    assert fixed.status_code == 302
    packed.refresh_from_db()
    assert packed.tracking_number == "PRO12346"
    assert packed.history.filter(tracking_number="PRO12345").exists()
    # integrators hear of it: one shipment.tracking_corrected event with the old and the new number
    from governance.models import OutboxMessage

    events = OutboxMessage.objects.filter(kind="EVENT", topic="shipment.tracking_corrected")
    (event,) = events
    assert event.document_key == f"shipment:{packed.pk}"
    assert event.payload["data"]["tracking_number"] == "PRO12346"
    assert event.payload["data"]["previous_tracking_number"] == "PRO12345"
    # the same correction again changes nothing and emits nothing
    again = client.post(tracking, {"carrier": "LTL-FREIGHT", "tracking_number": "PRO12346", "correct": "1"})
    assert again.status_code == 302 and events.count() == 1


def test_bill_of_lading_of_another_site_is_404(client, outsider, packed):
    client.force_login(outsider)
    assert client.get(reverse("web:shipment-bill-of-lading", args=[packed.pk])).status_code == 404
    assert client.post(reverse("web:shipment-tracking", args=[packed.pk]), {"tracking_number": "X123"}).status_code in (
        403,
        404,
    )
    packed.refresh_from_db()
    assert packed.status == Shipment.Status.PACKED
