"""import-batches/ API: upload, validate, post (202 with the approval), errors, reconcile, templates; refusals
and site scoping."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cutover.models import ImportBatch
from inventory.models import StockMove
from tests.api.helpers import field_errors, problem

from .conftest import csv_of

pytestmark = pytest.mark.django_db
OB = "location,sku,quantity,lot,expiry_date"
URL = "/api/v1/import-batches/"


def upload(client, content, *, site="DC1", kind="OPENING_BALANCES", name="ob.csv"):
    return client.post(URL, {"site": site, "kind": kind, "file": SimpleUploadedFile(name, content)}, format="multipart")


def test_upload_validate_post_approve_reconcile(api, lead, approver, bins, goods):
    client = api(lead)
    response = upload(client, csv_of(OB, "A-1,WIDGET,10,,", "A-1,MILK,5,L1,2027-01-01"))
    assert response.status_code == 201, response.content
    batch = response.json()
    assert batch["status"] == "DRAFT" and batch["total_rows"] == 2 and batch["number"].startswith("IMP-")

    response = client.post(f"{URL}{batch['id']}/validate/")
    assert response.status_code == 200 and response.json()["status"] == "VALIDATED"
    assert response.json()["rows_done"] == 2 and response.json()["progress_percent"] == 100.0

    response = client.post(f"{URL}{batch['id']}/post/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["batch"]["status"] == "AWAITING_APPROVAL" and body["approval"]["kind"] == "CUTOVER_BATCH"
    assert client.post(f"{URL}{batch['id']}/post/").status_code == 202  # the same request again
    assert not StockMove.objects.exists()

    # the requester cannot approve; another approver can, and that posts the batch
    problem(client.post(f"/api/v1/approvals/{body['approval']['id']}/approve/"), 422)
    response = api(approver).post(f"/api/v1/approvals/{body['approval']['id']}/approve/")
    assert response.status_code == 200, response.content
    assert client.get(f"{URL}{batch['id']}/").json()["status"] == "POSTED"
    assert StockMove.objects.filter(kind="OPENING").count() == 2
    response = client.post(f"{URL}{batch['id']}/post/")
    assert response.status_code == 200 and response.json()["batch"]["status"] == "POSTED"
    assert StockMove.objects.filter(kind="OPENING").count() == 2

    problem(client.get(f"{URL}{batch['id']}/reconcile/"), 404)
    response = client.post(
        f"{URL}{batch['id']}/reconcile/",
        {"rows": [{"sku": "WIDGET", "units": 10, "value": "25.00"}, {"sku": "MILK", "units": 6}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    rec = response.json()
    assert rec["lines_total"] == 2 and rec["lines_outside"] == 1 and not rec["within_tolerance"]
    assert client.get(f"{URL}{batch['id']}/reconcile/").json()["id"] == rec["id"]
    response = client.get(f"{URL}{batch['id']}/reconciliation-csv/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert text.splitlines()[0].startswith("sku,site,legacy_units") and "MILK,DC1,6,5,-1" in text
    field_errors(client.post(f"{URL}{batch['id']}/reconcile/", {"rows": [{"sku": "WIDGET"}]}, format="json"))


def test_errors_are_listed_with_row_column_and_message(api, lead, bins, goods):
    client = api(lead)
    batch = upload(client, csv_of(OB, "A-1,GHOST,1,,", "NOPE,WIDGET,x,,")).json()
    response = client.post(f"{URL}{batch['id']}/validate/")
    assert response.json()["status"] == "INVALID" and response.json()["error_count"] == 3
    errors = client.get(f"{URL}{batch['id']}/errors/").json()["results"]
    assert {(e["row"], e["column"], e["code"]) for e in errors} == {
        (2, "sku", "does_not_exist"),
        (3, "location", "does_not_exist"),
        (3, "quantity", "invalid"),
    }
    assert all(e["message"] for e in errors)
    problem(client.post(f"{URL}{batch['id']}/post/"), 409)
    assert not StockMove.objects.exists()


def test_json_rows_and_refusals(api, lead, operator, bins, goods):
    client = api(lead)
    response = client.post(
        URL,
        {"site": "DC1", "kind": "OPENING_BALANCES", "rows": [{"location": "A-1", "sku": "WIDGET", "quantity": 3}]},
        format="json",
    )
    assert response.status_code == 201 and response.json()["file_format"] == "JSON"
    assert "file" in field_errors(client.post(URL, {"site": "DC1", "kind": "OPENING_BALANCES"}, format="json"))
    assert "kind" in field_errors(
        client.post(URL, {"site": "DC1", "kind": "PRICES", "rows": [{"a": 1}]}, format="json")
    )
    errors = field_errors(upload(client, csv_of("sku,quantity", "X,1")))
    assert errors == {"file.location": "missing_column"}
    problem(upload(api(operator), csv_of(OB, "A-1,WIDGET,1,,")), 403)
    problem(api().get(URL), 401)
    assert ImportBatch.objects.count() == 1


def test_a_user_of_another_site_neither_sees_nor_posts_a_batch(api, lead, outsider, bins, goods):
    batch = upload(api(lead), csv_of(OB, "A-1,WIDGET,1,,")).json()
    client = api(outsider)
    assert client.get(URL).json()["count"] == 0
    for method, path in [
        ("get", ""),
        ("post", "validate/"),
        ("post", "post/"),
        ("get", "errors/"),
        ("get", "reconcile/"),
        ("get", "reconciliation-csv/"),
    ]:
        problem(getattr(client, method)(f"{URL}{batch['id']}/{path}"), 404)
    assert "site" in field_errors(upload(client, csv_of(OB, "A-1,WIDGET,1,,")))
    assert ImportBatch.objects.get().status == "DRAFT"


def test_templates(api, lead):
    client = api(lead)
    kinds = client.get(f"{URL}templates/").json()
    assert {k["kind"] for k in kinds} >= {"ITEMS", "LOCATIONS", "CUSTOMERS", "SUPPLIERS", "OPENING_BALANCES"}
    assert all(col["description"] for k in kinds for col in k["columns"])
    response = client.get(f"{URL}templates/opening_balances/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("site,location,sku,quantity") and lines[1].startswith("# ")
    problem(client.get(f"{URL}templates/prices/"), 404)
