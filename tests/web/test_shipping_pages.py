"""Packing and shipping pages: pack a wave from its page, the shipments list, the shipment page and its
confirmation (refusals in the service's words, nothing changed), the packing slip; who may open what."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.urls import reverse

from orders.models import SalesOrder
from warehouse.models import PickTask, Shipment, Wave
from warehouse.services import confirm_pick, pack_wave, plan_wave, release_wave

pytestmark = pytest.mark.django_db


@pytest.fixture
def picked(boss, site, item, floor, stock, allocated):
    """A released wave of one order of 3 WIDGET, fully picked to staging."""
    stock(item, floor["pick"], 10)
    order = allocated(3)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    Wave.objects.filter(pk=wave.pk).update(carrier="UPS")  # the shipments take the wave's carrier
    for task in PickTask.objects.filter(wave=wave):
        confirm_pick(user=boss, task=task, quantity=task.quantity, location_code=task.location.code)
    wave.refresh_from_db()
    return order, wave


@pytest.fixture
def packed(picked, boss):
    order, wave = picked
    (shipment,) = pack_wave(user=boss, wave=wave)
    return order, wave, shipment


def test_shipping_pages_send_anonymous_users_to_login(client, packed):
    _, wave, shipment = packed
    gets = [
        reverse("web:shipment-list"),
        reverse("web:shipment-detail", args=[shipment.pk]),
        reverse("web:shipment-packing-slip", args=[shipment.pk]),
    ]
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL), url
    for url in (reverse("web:wave-pack", args=[wave.pk]), reverse("web:shipment-confirm", args=[shipment.pk])):
        response = client.post(url, {"carrier": "UPS", "tracking_number": "1Z"})
        assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL), url
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED


def test_roles_the_list_for_supervisors_the_shipment_page_for_every_role_shipping_for_executors(
    client, make_user, site, packed
):
    order, wave, shipment = packed
    coordinator = make_user("coordinator", site)
    client.force_login(coordinator)
    response = client.get(reverse("web:shipment-list"))
    assert response.status_code == 403 and b"does not allow" in response.content
    page = client.get(reverse("web:shipment-detail", args=[shipment.pk])).content.decode()
    assert shipment.number in page and "Confirm shipment" not in page  # reads it from the order page, cannot ship
    assert client.get(reverse("web:shipment-packing-slip", args=[shipment.pk])).status_code == 200
    response = client.post(
        reverse("web:shipment-confirm", args=[shipment.pk]), {"carrier": "UPS", "tracking_number": "1"}
    )
    assert response.status_code == 403
    assert client.post(reverse("web:wave-pack", args=[wave.pk])).status_code == 403
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED
    order_page = client.get(reverse("web:order-detail", args=[order.number])).content.decode()
    assert reverse("web:shipment-detail", args=[shipment.pk]) in order_page
    client.force_login(make_user("supervisor", site))
    page = client.get(reverse("web:order-list")).content.decode()
    assert f'href="{reverse("web:shipment-list")}"' in page


def test_other_sites_shipments_and_waves_are_404(client, outsider, packed):
    _, wave, shipment = packed
    client.force_login(outsider)
    for url in (
        reverse("web:shipment-detail", args=[shipment.pk]),
        reverse("web:shipment-packing-slip", args=[shipment.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("web:shipment-confirm", args=[shipment.pk]), {"carrier": "UPS", "tracking_number": "1"}
    )
    assert response.status_code == 404
    assert client.post(reverse("web:wave-pack", args=[wave.pk])).status_code == 404
    assert shipment.number not in client.get(reverse("web:shipment-list")).content.decode()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED


def test_packing_from_the_wave_page_creates_the_shipment_and_opens_it(client, boss, picked):
    order, wave = picked
    client.force_login(boss)
    page = client.get(reverse("web:wave-detail", args=[wave.pk])).content.decode()
    assert 'data-testid="pack-form"' in page
    response = client.post(reverse("web:wave-pack", args=[wave.pk]), {"weight_grams": "abc"}, follow=True)
    assert "Weight: give whole grams" in response.content.decode()
    response = client.post(reverse("web:wave-pack", args=[wave.pk]), {"weight_grams": "10000001"}, follow=True)
    assert "Give whole grams from 0 to 10,000,000." in response.content.decode()  # the service's refusal
    assert not Shipment.objects.exists()
    assert not Shipment.objects.exists()
    response = client.post(reverse("web:wave-pack", args=[wave.pk]), {"weight_grams": "1250"})
    shipment = Shipment.objects.get()
    assert response["Location"] == reverse("web:shipment-detail", args=[shipment.pk])
    page = client.get(response["Location"]).content.decode()
    assert f"{wave.number} packed into 1 shipment(s): {shipment.number}." in page
    assert "1250 g in 1 package(s)" in page and order.number in page and "WIDGET × 3" in page
    page = client.get(reverse("web:wave-detail", args=[wave.pk])).content.decode()
    assert shipment.number in page and 'data-testid="pack-form"' not in page  # nothing left to pack
    # packing again: the service's refusal, nothing new
    response = client.post(reverse("web:wave-pack", args=[wave.pk]), follow=True)
    assert "Nothing to pack: no picked units, or the orders wait to ship complete." in response.content.decode()
    assert Shipment.objects.count() == 1


def test_a_wave_not_released_cannot_be_packed(client, boss, site, item, floor, stock, allocated):
    stock(item, floor["pick"], 10)
    allocated(2)
    wave = plan_wave(user=boss, site=site)
    client.force_login(boss)
    response = client.post(reverse("web:wave-pack", args=[wave.pk]), follow=True)
    assert f"{wave.number} is PLANNED; nothing to pack." in response.content.decode()
    assert not Shipment.objects.exists()
    wave.refresh_from_db()
    assert wave.status == Wave.Status.PLANNED


def test_confirming_a_shipment_refuses_blank_fields_then_ships(client, boss, packed):
    order, _, shipment = packed
    client.force_login(boss)
    url = reverse("web:shipment-confirm", args=[shipment.pk])
    response = client.post(url, {"carrier": "UPS", "tracking_number": " "})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give the carrier and the tracking number." in page and 'value="UPS"' in page
    assert '<span class="field-error">Required.</span>' in page
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED and order.status != SalesOrder.Status.SHIPPED
    response = client.post(url, {"carrier": "UPS", "tracking_number": "1Z999"}, follow=True)
    page = response.content.decode()
    assert f"{shipment.number} shipped with UPS, tracking 1Z999." in page
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert (shipment.status, shipment.tracking_number, shipment.shipped_by) == ("SHIPPED", "1Z999", boss)
    assert order.status == SalesOrder.Status.SHIPPED
    # different data after shipping: the service's 409, nothing changed
    response = client.post(url, {"carrier": "DHL", "tracking_number": "X"})
    assert response.status_code == 409
    assert f"{shipment.number} was already shipped with UPS 1Z999." in response.content.decode()
    shipment.refresh_from_db()
    assert (shipment.carrier, shipment.tracking_number) == ("UPS", "1Z999")
    slip = client.get(reverse("web:shipment-packing-slip", args=[shipment.pk])).content.decode()
    assert f"Packing slip {shipment.number}" in slip and "1Z999" in slip and order.number in slip


def test_shipments_list_filters_by_status_carrier_and_date_and_exports_csv(client, boss, packed):
    _, _, shipment = packed
    client.force_login(boss)
    url = reverse("web:shipment-list")
    page = client.get(url).content.decode()
    assert shipment.number in page and "Packing slip" in page
    assert shipment.number not in client.get(url, {"status": "SHIPPED"}).content.decode()
    assert shipment.number in client.get(url, {"status": "PACKED", "carrier": "ups"}).content.decode()
    assert shipment.number not in client.get(url, {"carrier": "DHL"}).content.decode()
    day = shipment.packed_at.date().isoformat()
    assert shipment.number in client.get(url, {"from": day, "to": day}).content.decode()
    assert shipment.number not in client.get(url, {"from": "2999-01-01"}).content.decode()
    assert client.get(url, {"sort": "-weight"}).status_code == 200
    response = client.get(url, {"format": "csv", "status": "PACKED"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Shipment", "Status", "Customer"]
    assert rows[1][0] == shipment.number and rows[1][4:7] == ["1", "1", "0"]


def test_the_shipments_list_runs_a_fixed_number_of_queries(
    client, boss, site, item, floor, stock, tomorrow, django_assert_max_num_queries
):
    from orders.services import allocate_orders, create_order, release_order
    from tests.factories import CustomerFactory

    stock(item, floor["pick"], 50)

    def ship_to(*codes):
        for code in codes:  # one customer each: one shipment each
            customer = CustomerFactory(code=code, home_site=site, region=site.region)
            order = create_order(
                user=boss, customer=customer, promised_date=tomorrow, lines=[{"item": "WIDGET", "quantity": 2}]
            )
            release_order(user=boss, order=order)
            allocate_orders([order.pk])
        wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
        for task in PickTask.objects.filter(wave=wave):
            confirm_pick(user=boss, task=task, quantity=task.quantity, location_code=task.location.code)
        return pack_wave(user=boss, wave=wave)

    ship_to("C1")
    client.force_login(boss)
    client.get(reverse("web:shipment-list"))
    with django_assert_max_num_queries(30) as one:
        client.get(reverse("web:shipment-list"))
    assert len(ship_to("C2", "C3", "C4")) == 3
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(reverse("web:shipment-list")).content.decode()
    assert page.count('href="/shipments/') >= 4


def test_search_opens_a_shipment_by_number_or_tracking_number(client, boss, outsider, packed):
    from warehouse.services import confirm_shipment

    _, _, shipment = packed
    confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number="1ZTRACK77")
    client.force_login(boss)
    for q in (shipment.number, "1ZTRACK77"):
        response = client.get(reverse("web:search"), {"q": q})
        assert response["Location"] == reverse("web:shipment-detail", args=[shipment.pk]), q
    client.force_login(outsider)
    assert "Nothing matches" in client.get(reverse("web:search"), {"q": "1ZTRACK77"}).content.decode()
