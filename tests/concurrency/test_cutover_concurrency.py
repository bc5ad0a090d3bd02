"""Two posts of one cutover batch at once post it once (real PostgreSQL, one connection per thread)."""

import pytest

from core.errors import StateConflict
from cutover.models import ImportBatch
from cutover.services import create_batch, post_batch, request_post, validate_batch
from governance.models import ApprovalRequest, SiteMembership
from governance.services import decide_approval
from inventory.models import Location, StockLevel, StockMove
from inventory.selectors import find_inventory_drift
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import ItemFactory, LocationFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def awaiting():
    site = SiteFactory(code="CUT", region="EAST")
    lead = UserFactory(username="cut-lead")
    SiteMembership.objects.create(user=lead, site=site, role="admin")
    approvers = []
    for n in range(2):
        user = UserFactory(username=f"cut-approver{n}")
        SiteMembership.objects.create(user=user, site=site, role="supervisor")
        approvers.append(user)
    for code in ("C-1", "C-2"):
        LocationFactory(site=site, code=code, kind=Location.Kind.STORAGE)
    item = ItemFactory(sku="CUT-ITEM")
    content = b"location,sku,quantity\r\nC-1,CUT-ITEM,30\r\nC-2,CUT-ITEM,12\r\n"
    batch = validate_batch(
        user=lead, batch=create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content)
    )
    batch, approval = request_post(user=lead, batch=batch)
    return batch, approval, approvers, item, site


def test_two_approvers_approving_at_once_post_the_batch_once(awaiting):
    batch, approval, approvers, item, site = awaiting

    def approve(user):
        return decide_approval(approval=ApprovalRequest.objects.get(pk=approval.pk), user=user, approve=True)

    results, errors = run_threads(approve, [(u,) for u in approvers])
    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors
    assert ImportBatch.objects.get(pk=batch.pk).status == "POSTED"
    assert StockMove.objects.filter(kind="OPENING", reference=batch.number).count() == 2
    assert StockLevel.objects.get(item=item, site=site).available == 42
    assert find_inventory_drift() == []


def test_two_posts_of_an_approved_batch_at_once_post_it_once(awaiting):
    batch, approval, approvers, item, site = awaiting
    # the approval decided (as by an approver whose post then failed to run): the post is retried twice at once
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        status="APPROVED", decided_by=approvers[0], decided_at=approval.requested_at
    )

    results, errors = run_threads(lambda user: post_batch(user=user, batch=batch), [(u,) for u in approvers])
    assert errors == []
    assert [r.status for r in results] == ["POSTED", "POSTED"]
    assert StockMove.objects.filter(kind="OPENING", reference=batch.number).count() == 2
    assert StockLevel.objects.get(item=item, site=site).available == 42
