"""Suppliers and ship notice lines in Django admin go through the purchasing services or are read only."""

import pytest

from orders.models import ShipNoticeLine, Supplier

pytestmark = pytest.mark.django_db

FORM = {
    "code": "ACME-SUP",
    "name": "Acme Supply",
    "email": "",
    "lead_time_days": "5",
    "over_receipt_tolerance_percent": "2",
    "currency": "EUR",
    "active": "on",
}


def test_an_admin_adds_and_changes_a_supplier_through_the_service_with_history(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/admin/orders/supplier/add/", FORM)
    assert response.status_code == 302, response.content[:3000]
    supplier = Supplier.objects.get(code="ACME-SUP")
    assert supplier.history.get().history_user == admin_user
    response = client.post(f"/admin/orders/supplier/{supplier.pk}/change/", {**FORM, "lead_time_days": "9"})
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.lead_time_days == 9 and supplier.history.count() == 2


def test_a_refused_supplier_is_shown_on_the_form_and_nothing_is_saved(client, admin_user):
    client.force_login(admin_user)
    client.post("/admin/orders/supplier/add/", FORM)
    response = client.post("/admin/orders/supplier/add/", {**FORM, "name": "Second"})
    assert response.status_code == 200
    assert Supplier.objects.filter(code="ACME-SUP").count() == 1
    assert "exists" in response.content.decode()


def test_suppliers_are_never_deleted_and_ship_notice_lines_are_read_only(client, admin_user):
    client.force_login(admin_user)
    client.post("/admin/orders/supplier/add/", FORM)
    supplier = Supplier.objects.get(code="ACME-SUP")
    assert client.get(f"/admin/orders/supplier/{supplier.pk}/delete/").status_code in (403, 404)
    assert client.get("/admin/orders/shipnoticeline/add/").status_code == 403
    assert ShipNoticeLine.objects.count() == 0
