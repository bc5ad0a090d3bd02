"""Cutover import pages (issue 13): list, upload with templates, the batch page (progress, errors and their CSV,
validate, post through the approval, reconcile with its CSV, sign-off); refusals shown in the service's words,
nothing written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cutover.models import ImportBatch, ImportRowError, Reconciliation
from cutover.services import create_batch, reconcile_batch, request_post, validate_batch
from governance.models import ApprovalRequest
from governance.services import decide_approval
from inventory.models import Location, StockMove
from tests.factories import ItemFactory, LocationFactory

pytestmark = pytest.mark.django_db
OB = "location,sku,quantity,unit,lot,expiry_date,status"
LIST = reverse("web:import-list")
NEW = reverse("web:import-new")


def csv_of(header, *lines) -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode()


def upload(name, content):
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def lead(make_user, site):
    return make_user("admin", site, username="page-lead")


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="page-approver")


@pytest.fixture
def stuff(site):
    LocationFactory(site=site, code="A-1", kind=Location.Kind.STORAGE)
    return ItemFactory(sku="WIDGET", standard_cost="2.00")


def at_site(client, user, site):
    client.force_login(user)
    client.post(reverse("web:switch-site"), {"site": site.pk})


def page(number, name="web:import-detail"):
    return reverse(name, args=[number])


def test_list_and_upload_pages_with_templates_and_menu(client, site, lead, stuff):
    at_site(client, lead, site)
    html = client.get(LIST).content.decode()
    assert "No import batch at DC1 yet." in html and "Cutover imports" in html
    form = client.get(NEW).content.decode()
    assert 'data-testid="upload-form"' in form and "Opening balances template (CSV)" in form
    assert "Legacy control totals template (CSV)" in form
    template = client.get(reverse("web:import-template", args=["opening_balances"]))
    assert template.status_code == 200 and template["Content-Type"].startswith("text/csv")
    header = template.content.decode("utf-8-sig").splitlines()[0]
    assert header == "site,location,sku,quantity,unit,lot,expiry_date,status,unit_cost"
    assert client.get(reverse("web:import-template", args=["nope"])).status_code == 404

    made = client.post(NEW, {"kind": "OPENING_BALANCES", "file": upload("ob.csv", csv_of(OB, "A-1,WIDGET,3,,,,"))})
    batch = ImportBatch.objects.get()
    assert made.status_code == 302 and made["Location"] == page(batch.number)
    listed = client.get(LIST).content.decode()
    assert batch.number in listed and "Opening balances" in listed and "Uploaded, not validated" in listed


def test_a_bad_upload_shows_the_services_message_and_writes_nothing(client, site, lead, stuff):
    at_site(client, lead, site)
    bad_header = client.post(NEW, {"kind": "OPENING_BALANCES", "file": upload("ob.csv", b"sku,qty\r\nWIDGET,1\r\n")})
    assert bad_header.status_code == 400
    html = bad_header.content.decode()
    assert 'data-testid="refused"' in html and "location" in html
    not_csv = client.post(NEW, {"kind": "ITEMS", "file": upload("x.pdf", b"%PDF-1.4 nothing")})
    assert not_csv.status_code == 400 and "Upload a .csv or .xlsx file." in not_csv.content.decode()
    no_file = client.post(NEW, {"kind": "ITEMS"})
    assert no_file.status_code == 400
    assert not ImportBatch.objects.exists()


def test_permissions_operators_see_but_do_not_act_outsiders_see_nothing(
    client, site, lead, operator, outsider, stuff, other_site
):
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A-1,WIDGET,3,,,,"))
    at_site(client, operator, site)
    assert client.get(LIST).status_code == 200
    html = client.get(page(batch.number)).content.decode()
    assert batch.number in html and 'data-testid="validate-form"' not in html
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"kind": "ITEMS", "file": upload("i.csv", b"sku\r\nX\r\n")}).status_code == 403
    assert client.post(page(batch.number, "web:import-validate")).status_code == 403
    batch.refresh_from_db()
    assert batch.status == "DRAFT" and ImportBatch.objects.count() == 1

    at_site(client, outsider, other_site)
    assert client.get(page(batch.number)).status_code == 404
    assert client.get(page(batch.number, "web:import-errors-csv")).status_code == 404
    assert batch.number not in client.get(LIST).content.decode()


def test_dry_run_errors_paginated_with_csv_then_a_fixed_file_validates_and_posts(client, site, lead, approver, stuff):
    at_site(client, lead, site)
    rows = [f"A-1,NOPE{n},1,,,," for n in range(60)]
    client.post(NEW, {"kind": "OPENING_BALANCES", "file": upload("bad.csv", csv_of(OB, *rows))})
    bad = ImportBatch.objects.get()
    done = client.post(page(bad.number, "web:import-validate"))
    assert done.status_code == 302
    bad.refresh_from_db()
    assert bad.status == "INVALID" and bad.error_count == 60
    html = client.get(page(bad.number)).content.decode()
    assert "Dry run found errors" in html and "Errors (60)" in html and "Page 1 of 2" in html
    assert "No item &#x27;NOPE0&#x27;." in html or "NOPE0" in html
    second = client.get(page(bad.number) + "?page=2").content.decode()
    assert "NOPE59" in second and "NOPE0&" not in second
    errors = client.get(page(bad.number, "web:import-errors-csv"))
    lines = errors.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,code,message" and len(lines) == 61 and lines[1].startswith("2,sku,does_not_exist")
    # a batch with errors is not posted: the service refuses, nothing changes
    refused = client.post(page(bad.number, "web:import-post"))
    assert refused.status_code == 409 and "only a validated batch is posted" in refused.content.decode()
    assert not ApprovalRequest.objects.exists()

    client.post(NEW, {"kind": "OPENING_BALANCES", "file": upload("good.csv", csv_of(OB, "A-1,WIDGET,3,,,,"))})
    good = ImportBatch.objects.exclude(pk=bad.pk).get()
    client.post(page(good.number, "web:import-validate"))
    html = client.get(page(good.number)).content.decode()
    assert "Dry run passed" in html and 'data-testid="post-form"' in html
    asked = client.post(page(good.number, "web:import-post"))
    assert asked.status_code == 302
    good.refresh_from_db()
    assert good.status == "AWAITING_APPROVAL" and not StockMove.objects.exists()
    html = client.get(page(good.number)).content.decode()
    assert "Post awaiting approval" in html and 'data-testid="approval-link"' in html and "Pending" in html
    at_site(client, approver, site)  # the approvals page links the batch
    assert f'href="{page(good.number)}"' in client.get(reverse("web:approval-list")).content.decode()
    decide_approval(approval=good.approval, user=approver, approve=True)
    at_site(client, lead, site)
    html = client.get(page(good.number)).content.decode()
    assert "Posted" in html and "approved by page-approver" in html and 'data-testid="reconcile-form"' in html


def test_progress_fragment_polls_while_the_dry_run_runs_and_reloads_when_done(client, site, lead, stuff):
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A-1,WIDGET,3,,,,"))
    ImportBatch.objects.filter(pk=batch.pk).update(status="VALIDATING", rows_done=0)
    at_site(client, lead, site)
    html = client.get(page(batch.number)).content.decode()
    assert "Dry run in progress" in html and 'hx-trigger="every 1s"' in html and "0 / 1" in html
    fragment = client.get(page(batch.number, "web:import-progress"))
    assert "HX-Refresh" not in fragment and "<progress" in fragment.content.decode()
    ImportBatch.objects.filter(pk=batch.pk).update(status="VALIDATED", rows_done=1)
    assert client.get(page(batch.number, "web:import-progress"))["HX-Refresh"] == "true"
    waiting = client.get(page(batch.number, "web:import-progress") + "?wait=1")
    assert "HX-Refresh" not in waiting and 'hx-trigger="every 1s"' in waiting.content.decode()


def _posted(site, lead, approver, content):
    batch = validate_batch(
        user=lead, batch=create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content)
    )
    batch, approval = request_post(user=lead, batch=batch)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()
    return batch


def test_reconcile_page_lines_and_csv_and_a_bad_totals_file_saves_nothing(client, site, lead, approver, stuff):
    batch = _posted(site, lead, approver, csv_of(OB, "A-1,WIDGET,100,,,,"))
    at_site(client, lead, site)
    url = page(batch.number, "web:import-reconcile")
    bad = client.post(url, {"file": upload("t.csv", b"sku,units\r\nWIDGET,lots\r\n")})
    assert bad.status_code == 400 and 'data-testid="refused"' in bad.content.decode()
    assert not Reconciliation.objects.exists()
    done = client.post(url, {"file": upload("t.csv", b"sku,site,units,value\r\nWIDGET,DC1,90,180.00\r\n")})
    assert done.status_code == 302
    html = client.get(page(batch.number)).content.decode()
    assert "1 of 1 lines outside" in html and "outside</strong>" in html and "20.00" in html  # 10 units at 2.00
    csv_text = client.get(page(batch.number, "web:import-reconciliation-csv")).content.decode()
    assert csv_text.splitlines()[1].startswith("WIDGET,DC1,90,100,10")


def test_sign_off_on_the_batch_page_owner_then_another_site_lead(
    client, site, lead, approver, operator, stuff, make_user
):
    batch = _posted(site, lead, approver, csv_of(OB, "A-1,WIDGET,5,,,,"))
    at_site(client, approver, site)
    early = client.post(page(batch.number, "web:import-sign-off"), {"note": ""})
    assert early.status_code == 409 and "reconcile it against the legacy control totals first" in early.content.decode()
    reconcile_batch(user=lead, batch=batch, rows=[{"sku": "WIDGET", "units": 5}])
    at_site(client, operator, site)
    refused = client.post(page(batch.number, "web:import-sign-off"), {"note": ""})
    assert refused.status_code == 403 and "owner of the data" in refused.content.decode()
    assert not ApprovalRequest.objects.filter(kind="CUTOVER_SIGNOFF").exists()

    at_site(client, approver, site)
    html = client.get(page(batch.number)).content.decode()
    assert 'data-testid="sign-off-form"' in html
    assert client.post(page(batch.number, "web:import-sign-off"), {"note": "bins checked"}).status_code == 302
    assert client.post(page(batch.number, "web:import-sign-off-decide"), {"decision": "approve"}).status_code == 403

    at_site(client, lead, site)
    html = client.get(page(batch.number)).content.decode()
    assert "Waiting for the site lead" in html and 'data-testid="sign-off-decide-form"' in html
    assert (
        client.post(page(batch.number, "web:import-sign-off-decide"), {"decision": "approve", "note": "go"}).status_code
        == 302
    )
    html = client.get(page(batch.number)).content.decode()
    assert "Signed off</span> by page-approver (data owner" in html and "page-lead (site lead" in html
    readiness = client.get(reverse("web:site-readiness")).content.decode()
    assert 'data-key="cutover.signoff"' in readiness
    assert ImportRowError.objects.count() == 0


def test_a_posted_document_batch_is_reconciled_on_its_page_with_its_line_counts(client, site, lead, approver, stuff):
    """Open purchase orders (issue 13's in-flight documents) reconcile in the browser as opening balances do, with
    the legacy and system line counts shown."""
    from orders.services.purchasing import create_supplier

    create_supplier(user=None, code="SUP-1", name="Parts Inc")
    header = "po_number,supplier,expected_date,sku,quantity,unit,received_quantity,unit_cost"
    batch = validate_batch(
        user=lead,
        batch=create_batch(
            user=lead,
            site=site,
            kind="OPEN_PURCHASE_ORDERS",
            content=csv_of(header, "4500001,SUP-1,2030-01-15,WIDGET,10,,4,2.00"),
        ),
    )
    batch, approval = request_post(user=lead, batch=batch)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()
    assert batch.status == "POSTED"
    at_site(client, lead, site)
    assert 'data-testid="reconcile-form"' in client.get(page(batch.number)).content.decode()
    done = client.post(
        page(batch.number, "web:import-reconcile"),
        {"file": upload("t.csv", b"sku,site,units,lines\r\nWIDGET,DC1,6,1\r\n")},
    )
    assert done.status_code == 302
    html = client.get(page(batch.number)).content.decode()
    assert "0 of 1 lines outside" in html and '<th class="num">Legacy lines</th>' in html
