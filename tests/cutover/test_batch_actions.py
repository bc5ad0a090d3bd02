"""allowed_actions of an import batch (issue 15): the steps offered are exactly the steps the services take, for this
user, through the batch's whole life (dry run, post, reconcile, the owner's and the site lead's sign-off), in the
API answer and as the batch page's buttons; the pure guards (cutover/policy.py) tested on their own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.actions import allowed_actions
from core.errors import DomainError
from cutover import policy
from cutover.models import ImportBatch
from cutover.services import create_batch, decide_sign_off, reconcile_batch, request_post, sign_off, validate_batch
from governance.services import decide_approval

from .conftest import csv_of

pytestmark = pytest.mark.django_db
OB = "location,sku,quantity,unit,lot,expiry_date,status"
STEPS = {
    "validate": lambda user, batch: validate_batch(user=user, batch=batch),
    "post": lambda user, batch: request_post(user=user, batch=batch),
    "reconcile": lambda user, batch: reconcile_batch(user=user, batch=batch, rows=[{"sku": "WIDGET", "units": 7}]),
    "sign_off": lambda user, batch: sign_off(user=user, batch=batch),
    "decide_sign_off": lambda user, batch: decide_sign_off(user=user, batch=batch, approve=True),
}


@pytest.fixture
def people(make_user, site, other_site, lead, approver):
    return {
        "lead": lead,  # the site's admin: every step but deciding their own sign-off
        "co-lead": make_user("admin", site, username="co-lead"),
        "owner": approver,  # a supervisor owns opening balances at the site; no site admin
        "operator": make_user("operator", site, username="op"),
        "elsewhere": make_user("admin", other_site, username="dc2-admin"),
    }


def _offered_is_taken(batch, people):
    """Each step a user is offered succeeds, each one not offered is refused; both tried in a savepoint that is
    rolled back, so the batch stays as it was."""
    from django.db import transaction

    for name, user in people.items():
        offered = allowed_actions(ImportBatch.objects.get(pk=batch.pk), user)
        for step, take in STEPS.items():
            fresh = ImportBatch.objects.get(pk=batch.pk)
            try:
                with transaction.atomic():
                    take(user, fresh)
                    taken = True
                    raise _Undo
            except _Undo:
                pass
            except DomainError:
                taken = False
            # request_post answers a batch already waiting or posted as it is: not a step to offer
            if step == "post" and fresh.status in (ImportBatch.Status.AWAITING_APPROVAL, ImportBatch.Status.POSTED):
                taken = False
            assert (step in offered) == taken, f"{name} at {fresh.status}: {step} offered={step in offered}"


class _Undo(Exception):
    pass


def test_the_steps_offered_follow_the_batch_through_its_life(site, lead, approver, people, bins, goods):
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A-1,WIDGET,7,,,,"))
    assert allowed_actions(batch, lead) == {"validate"}
    assert allowed_actions(batch, approver) == set()  # not a site admin: no dry run, no post
    assert allowed_actions(batch, people["elsewhere"]) == set()
    _offered_is_taken(batch, people)

    batch = validate_batch(user=lead, batch=batch)
    assert allowed_actions(batch, lead) == {"validate", "post"}
    _offered_is_taken(batch, people)

    batch, approval = request_post(user=lead, batch=batch)
    assert allowed_actions(batch, lead) == set()  # waiting for its approval
    _offered_is_taken(batch, people)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()

    # posted, not reconciled: the lead reconciles; nobody signs off yet
    assert allowed_actions(batch, lead) == {"reconcile"}
    assert allowed_actions(batch, approver) == set()
    _offered_is_taken(batch, people)

    reconcile_batch(user=lead, batch=batch, rows=[{"sku": "WIDGET", "units": 7}])
    assert allowed_actions(batch, lead) == {"reconcile", "sign_off"}  # an admin owns every kind of data
    assert allowed_actions(batch, approver) == {"sign_off"}
    assert allowed_actions(batch, people["operator"]) == set()
    _offered_is_taken(batch, people)

    sign_off(user=approver, batch=batch)
    assert allowed_actions(batch, approver) == set()  # waiting for the site lead; a supervisor is none
    assert allowed_actions(batch, lead) == {"reconcile", "decide_sign_off"}
    _offered_is_taken(batch, people)

    decide_sign_off(user=lead, batch=batch, approve=False, note="recount aisle 3")
    assert allowed_actions(batch, approver) == {"sign_off"}  # sent back: the owner signs off again
    sign_off(user=lead, batch=batch)  # the lead signs as data owner this time
    assert allowed_actions(batch, lead) == {"reconcile"}  # never the decision on their own sign-off
    assert allowed_actions(batch, people["co-lead"]) == {"reconcile", "decide_sign_off"}
    _offered_is_taken(batch, people)

    decide_sign_off(user=people["co-lead"], batch=batch, approve=True)
    assert allowed_actions(batch, lead) == {"reconcile"}
    assert allowed_actions(batch, approver) == set()
    _offered_is_taken(batch, people)


def test_a_kind_without_reconciliation_is_signed_off_once_posted(site, lead, approver, people, goods):
    content = csv_of("sku,description,base_unit", "NEW-1,New thing,EA")
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="ITEMS", content=content))
    assert batch.status == ImportBatch.Status.VALIDATED, list(batch.errors.values_list("message", flat=True))
    batch, approval = request_post(user=lead, batch=batch)
    decide_approval(approval=approval, user=people["co-lead"], approve=True)
    batch.refresh_from_db()
    assert allowed_actions(batch, lead) == {"sign_off"}  # items: nothing to reconcile
    assert allowed_actions(batch, approver) == set()  # a supervisor does not own item master data
    _offered_is_taken(batch, people)


def test_the_api_answer_and_the_page_carry_the_users_steps(api, client, site, lead, approver, bins, goods):
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A-1,WIDGET,7,,,,"))
    batch = validate_batch(user=lead, batch=batch)
    body = api(lead).get(f"/api/v1/import-batches/{batch.pk}/").json()
    assert body["allowed_actions"] == ["post", "validate"]
    assert api(approver).get(f"/api/v1/import-batches/{batch.pk}/").json()["allowed_actions"] == []
    listed = api(lead).get("/api/v1/import-batches/").json()["results"]
    assert [b["allowed_actions"] for b in listed] == [["post", "validate"]]

    client.force_login(lead)
    client.post(reverse("web:switch-site"), {"site": site.pk})
    html = client.get(reverse("web:import-detail", args=[batch.number])).content.decode()
    assert 'data-testid="validate-form"' in html and 'data-testid="post-form"' in html
    client.force_login(approver)
    client.post(reverse("web:switch-site"), {"site": site.pk})
    html = client.get(reverse("web:import-detail", args=[batch.number])).content.decode()
    assert 'data-testid="validate-form"' not in html and 'data-testid="post-form"' not in html


@pytest.mark.parametrize(
    ("kind", "status", "expected"),
    [
        ("OPENING_BALANCES", "DRAFT", {"validate"}),
        ("OPENING_BALANCES", "INVALID", {"validate"}),
        ("OPENING_BALANCES", "REJECTED", {"validate"}),
        ("OPENING_BALANCES", "VALIDATED", {"validate", "post"}),
        ("OPENING_BALANCES", "VALIDATING", set()),
        ("OPENING_BALANCES", "AWAITING_APPROVAL", set()),
        ("OPENING_BALANCES", "POSTING", set()),
        ("OPENING_BALANCES", "POSTED", {"reconcile"}),
        ("OPEN_SALES_ORDERS", "POSTED", {"reconcile"}),
        ("ITEMS", "POSTED", set()),
    ],
)
def test_the_steps_of_each_state(kind, status, expected):
    assert policy.steps(kind=kind, status=status) == expected


def test_why_a_sign_off_cannot_be_given():
    blocker = policy.sign_off_blocker
    assert blocker(kind="ITEMS", status="VALIDATED", reconciled=False) == policy.NOT_POSTED
    assert blocker(kind="OPENING_BALANCES", status="POSTED", reconciled=False) == policy.NOT_RECONCILED
    assert blocker(kind="ITEMS", status="POSTED", reconciled=False) is None
    assert blocker(kind="ITEMS", status="POSTED", reconciled=False, earlier=["REJECTED"]) is None
    assert blocker(kind="ITEMS", status="POSTED", reconciled=False, earlier=["PENDING"]) == policy.WAITING_FOR_LEAD
    assert blocker(kind="ITEMS", status="POSTED", reconciled=False, earlier=["REJECTED", "APPROVED"]) == (
        policy.SIGNED_OFF
    )
