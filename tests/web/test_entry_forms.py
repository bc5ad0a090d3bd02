"""The entry pages read their posts through Django forms (web/entry.py, issue 15 "A web layer of its own"): a
header form and one form per line row named ``<field>-<row>``; what cannot be read (a date, a whole number) is
refused on its field before any service runs, and the service's refusals land on the row and field they name."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.urls import reverse

from core.errors import ValidationFailed
from orders.models import SalesOrder, TransferOrder
from web.entry import MAX_ROWS, OrderHeaderForm, OrderLineForm, TransferLineForm, attach_refusal, line_forms

pytestmark = pytest.mark.django_db


def test_the_rows_are_found_by_their_numbers_in_row_order_and_blank_ones_are_skipped():
    data = QueryDict(mutable=True)
    data.update({"item-7": "B", "quantity-7": "1", "item-2": "A", "unit-2": "CASE", "item-4": "", "quantity-4": ""})
    data.update({f"item-{MAX_ROWS}": "TOO-FAR", "itemx-1": "junk", "item-a": "junk"})
    rows = line_forms(OrderLineForm, data)
    assert [r.row for r in rows] == [2, 4, 7]
    assert [r.is_blank() for r in rows] == [False, True, False]
    assert all(r.is_valid() for r in rows)
    assert rows[0].service_line() == {"item": "A", "quantity": "", "unit": "CASE"}
    assert rows[2].service_line() == {"item": "B", "quantity": "1"}
    assert [r.row for r in line_forms(TransferLineForm, QueryDict(), minimum=3)] == [0, 1, 2]


def test_a_service_refusal_lands_on_the_row_and_field_it_names():
    data = QueryDict(mutable=True)
    data.update({"customer": "X", "item-0": "A", "quantity-0": "1", "item-3": "B", "quantity-3": "2"})
    header = OrderHeaderForm(data)
    rows = line_forms(OrderLineForm, data)
    assert header.is_valid() and all(r.is_valid() for r in rows)
    refusal = ValidationFailed(
        "Check the order.",
        errors=[
            {"field": "lines[1].quantity", "code": "invalid", "message": "Not a whole number."},
            {"field": "lines[0].ship_from", "code": "invalid", "message": "No such site."},
            {"field": "lines[9].item", "code": "invalid", "message": "Out of range."},
            {"field": "promised_date", "code": "past", "message": "In the past."},
        ],
    )
    attach_refusal(refusal, rows, header)
    assert rows[1].as_row()["errors"] == {"quantity": ["Not a whole number."]}  # row 3 is the second filled one
    assert rows[0].as_row()["errors"] == {"item": ["No such site."]}  # not a field of the row: on its item
    assert header.errors == {"promised_date": ["In the past."], "__all__": ["Out of range."]}


def test_an_unreadable_date_or_priority_is_refused_on_its_field_and_nothing_is_written(client, coordinator, item):
    client.force_login(coordinator)
    response = client.post(
        reverse("web:order-new"),
        {"customer": "ACME", "promised_date": "next friday", "priority": "high", "item-0": item.sku, "quantity-0": "1"},
    )
    assert response.status_code == 400
    assert response.context["errors"] == {
        "promised_date": ["Give a date (YYYY-MM-DD)."],
        "priority": ["Give the priority as a whole number."],
    }
    page = response.content.decode()
    assert "Give a date (YYYY-MM-DD)." in page
    assert response.context["rows"][0]["item"] == item.sku  # what was typed is kept
    assert not SalesOrder.objects.exists()


def test_a_transfer_to_the_site_itself_is_not_a_choice(client, make_user, site, other_site, item):
    client.force_login(make_user("planner", site, other_site))
    response = client.post(reverse("web:transfer-new"), {"to_site": site.code, "priority": "3", "item-0": item.sku})
    assert response.status_code == 400 and response.context["errors"]["to_site"] == ["No such site."]
    assert not TransferOrder.objects.exists()
