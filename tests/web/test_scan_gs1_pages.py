"""Scan screens take an item's barcodes: a GTIN of the item or of a case, and a GS1-128 label that fills the lot
and the quantity (count x the case's factor); the confirmation goes through the one scan check."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from inventory.models import Lot
from inventory.services import create_item
from orders.services import allocate_orders, create_order, release_order
from warehouse.models import PickTask
from warehouse.services import plan_wave, release_wave

pytestmark = pytest.mark.django_db

CASE_GTIN = "14006381333938"


@pytest.fixture
def milk_task(boss, make_user, site, floor, stock, customer, tomorrow):
    planner = make_user("planner", site)
    milk = create_item(
        user=planner,
        sku="MILK",
        description="Milk 1l",
        lot_tracked=True,
        units=[{"code": "CASE", "factor": 6}],
        barcodes=[{"gtin": "4006381333931"}, {"gtin": CASE_GTIN, "unit": "CASE"}],
    )
    lot = Lot.objects.create(item=milk, number="L42", expiry_date=dt.date(2027, 1, 31))
    stock(milk, floor["pick"], 30, lot=lot)
    order = create_order(user=boss, customer=customer, promised_date=tomorrow, lines=[{"item": "MILK", "quantity": 12}])
    release_order(user=boss, order=order)
    allocate_orders([order.pk])
    release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    return PickTask.objects.get()


def test_the_item_check_reads_a_gs1_label_and_answers_what_it_fills(client, boss, milk_task):
    client.force_login(boss)
    check = reverse("web:scan-pick-check", args=[milk_task.pk])
    answer = client.get(check, {"field": "item", "item": f"(01){CASE_GTIN}(17)270131(10)L42(37)2"}).content.decode()
    assert "Item MILK (6 per unit scanned)" in answer
    assert 'data-fill-lot="L42"' in answer and 'data-fill-quantity="12"' in answer
    assert 'data-fill-expiry="2027-01-31"' in answer
    wrong_lot = client.get(check, {"field": "item", "item": f"(01){CASE_GTIN}(10)L43"}).content.decode()
    assert "Wrong lot: the label is lot L43" in wrong_lot
    assert "Item MILK" in client.get(check, {"field": "item", "item": "4006381333931"}).content.decode()
    assert "Wrong item" in client.get(check, {"field": "item", "item": "036000291452"}).content.decode()


def test_a_gs1_label_confirms_the_pick_with_its_lot_and_quantity(client, boss, milk_task):
    client.force_login(boss)
    url = reverse("web:scan-pick-task", args=[milk_task.pk])
    label = "]C1" + f"01{CASE_GTIN}" + "17270131" + "10L42\x1d" + "372"
    response = client.post(url, {"location": "P-01", "item": label, "lot": "", "quantity": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    milk_task.refresh_from_db()
    assert (milk_task.status, milk_task.picked_quantity, milk_task.scanned_lot) == ("PICKED", 12, "L42")


def test_a_label_of_another_lot_than_typed_changes_nothing(client, boss, milk_task):
    client.force_login(boss)
    url = reverse("web:scan-pick-task", args=[milk_task.pk])
    response = client.post(url, {"location": "P-01", "item": f"(01){CASE_GTIN}(10)L42(37)2", "lot": "L9"})
    assert response.status_code == 400 and "The label is lot L42, not L9." in response.content.decode()
    response = client.post(url, {"location": "P-01", "item": "(01)04006381333931(10)L99", "quantity": "12"})
    assert response.status_code == 400 and "Wrong lot" in response.content.decode()
    milk_task.refresh_from_db()
    assert milk_task.status == PickTask.Status.OPEN
