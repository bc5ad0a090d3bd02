"""Sign-off of a posted batch: the data owner, then the site lead (another person), as a CUTOVER_SIGNOFF approval."""

from __future__ import annotations

import pytest

from core.errors import NotFound, PermissionDenied, SegregationOfDuties, StateConflict
from cutover.models import ImportBatch
from cutover.selectors import scorecard
from cutover.services import create_batch, decide_sign_off, reconcile_batch, request_post, sign_off, validate_batch
from cutover.services.signoff import sign_offs_of
from governance.models import ApprovalRequest
from governance.services import decide_approval

from .conftest import csv_of

pytestmark = pytest.mark.django_db
OB = "location,sku,quantity,unit,lot,expiry_date,status"


def posted(site, lead, approver, kind="OPENING_BALANCES", content=None):
    content = content or csv_of(OB, "A-1,WIDGET,7,,,,")
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind=kind, content=content))
    batch, approval = request_post(user=lead, batch=batch)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.POSTED
    return batch


def by_key(criteria):
    return {c["key"]: c for c in criteria}


def test_owner_then_site_lead_sign_off_a_reconciled_opening_balance_batch(site, lead, approver, bins, goods):
    batch = posted(site, lead, approver)
    assert by_key(scorecard(site))["cutover.signoff"]["status"] == "RED"
    with pytest.raises(StateConflict, match="not been reconciled"):
        sign_off(user=approver, batch=batch)
    assert not sign_offs_of(batch).exists()
    rec = reconcile_batch(user=lead, batch=batch, rows=[{"sku": "WIDGET", "units": 7}])

    first = sign_off(user=approver, batch=batch, note="counted the aisles")
    assert first.kind == "CUTOVER_SIGNOFF" and first.status == "PENDING" and first.requested_by == approver
    assert batch.number in first.reason and f"{rec.lines_total} lines, 0 outside" in first.reason
    assert "1 posted" in first.reason and "counted the aisles" in first.reason
    with pytest.raises(StateConflict, match="waits for the site lead"):
        sign_off(user=lead, batch=batch)
    with pytest.raises(PermissionDenied):  # a supervisor is no site lead
        decide_sign_off(user=approver, batch=batch, approve=True)
    assert by_key(scorecard(site))["cutover.signoff"]["status"] == "RED"

    done = decide_sign_off(user=lead, batch=batch, approve=True, note="ok")
    assert done.status == "APPROVED" and done.decided_by == lead
    c = by_key(scorecard(site))["cutover.signoff"]
    assert c["status"] == "GREEN" and c["value"] == "0 unsigned"
    with pytest.raises(StateConflict, match="already signed off"):
        sign_off(user=approver, batch=batch)
    assert sign_offs_of(batch).count() == 1


def test_the_owner_cannot_be_the_site_lead_and_a_rejection_lets_the_owner_sign_again(
    site, lead, approver, bins, goods, make_user
):
    batch = posted(site, lead, approver)
    reconcile_batch(user=lead, batch=batch, rows=[{"sku": "WIDGET", "units": 7}])
    sign_off(user=lead, batch=batch)  # a site admin owns the data too
    with pytest.raises(SegregationOfDuties):
        decide_sign_off(user=lead, batch=batch, approve=True)
    other_lead = make_user("admin", site, username="lead-two")
    rejected = decide_sign_off(user=other_lead, batch=batch, approve=False, note="recount aisle A")
    assert rejected.status == "REJECTED"
    assert by_key(scorecard(site))["cutover.signoff"]["status"] == "RED"
    again = sign_off(user=approver, batch=batch)
    assert again.status == "PENDING" and sign_offs_of(batch).count() == 2
    with pytest.raises(StateConflict, match="No sign-off"):
        decide_sign_off(
            user=other_lead, batch=posted(site, lead, approver, content=csv_of(OB, "A-2,WIDGET,1,,,,")), approve=True
        )


def test_sign_off_refusals(site, lead, approver, operator, outsider, bins, goods, make_user):
    draft = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A-1,WIDGET,7,,,,"))
    with pytest.raises(StateConflict, match="only a posted batch"):
        sign_off(user=approver, batch=draft)
    batch = posted(site, lead, approver, content=csv_of(OB, "A-2,WIDGET,3,,,,"))
    reconcile_batch(user=lead, batch=batch, rows=[{"sku": "WIDGET", "units": 3}])
    with pytest.raises(PermissionDenied, match="owner of the data"):
        sign_off(user=operator, batch=batch)
    with pytest.raises(NotFound):
        sign_off(user=outsider, batch=batch)
    planner = make_user("planner", site, username="planner1")
    with pytest.raises(PermissionDenied):  # planners own items and suppliers, not stock
        sign_off(user=planner, batch=batch)
    assert not ApprovalRequest.objects.filter(kind="CUTOVER_SIGNOFF").exists()


def test_master_data_needs_no_reconciliation_and_its_owner_is_a_planner(site, lead, approver, make_user):
    planner = make_user("planner", site, username="planner1")
    batch = posted(site, lead, approver, kind="SUPPLIERS", content=csv_of("code,name", "S1,Supplier one"))
    first = sign_off(user=planner, batch=batch)
    assert "posted" in first.threshold and "Suppliers" in first.reason
    assert decide_sign_off(user=lead, batch=batch, approve=True).status == "APPROVED"
