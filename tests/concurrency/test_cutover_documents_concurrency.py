"""Two open-sales-order batches recreating allocations of the same stock at once: the stock level is locked, so one
posts and the other is refused for the free units it no longer finds; nothing is allocated twice (real
PostgreSQL, one connection per thread)."""

import pytest

from core.errors import ValidationFailed
from cutover.models import ImportBatch
from cutover.services import create_batch, post_batch, request_post, validate_batch
from governance.models import ApprovalRequest, SiteMembership
from inventory.models import Location, StockLevel
from orders.models import Allocation, SalesOrder
from orders.services.allocation import allocation_drift
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_batches_recreating_allocations_of_the_same_stock_at_once_never_over_allocate():
    site = SiteFactory(code="CUTS", region="EAST", stage="CUTOVER")
    lead = UserFactory(username="cuts-lead")
    approver = UserFactory(username="cuts-approver")
    SiteMembership.objects.create(user=lead, site=site, role="admin")
    SiteMembership.objects.create(user=approver, site=site, role="supervisor")
    LocationFactory(site=site, code="S-1", kind=Location.Kind.STORAGE)
    item = ItemFactory(sku="HOT")
    CustomerFactory(code="BUYER", home_site=site)

    def approved(kind, content):
        batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind=kind, content=content))
        assert batch.status == "VALIDATED"
        batch, approval = request_post(user=lead, batch=batch)
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            status="APPROVED", decided_by=approver, decided_at=approval.requested_at
        )
        return batch

    post_batch(user=approver, batch=approved("OPENING_BALANCES", b"location,sku,quantity\r\nS-1,HOT,40\r\n"))
    header = "order_number,customer,promised_date,sku,quantity,allocated_quantity\r\n"
    batches = [
        approved("OPEN_SALES_ORDERS", f"{header}{number},BUYER,2030-01-10,HOT,30,30\r\n".encode())
        for number in ("R-1", "R-2")
    ]  # each passed its dry run alone: 30 of 40 free

    results, errors = run_threads(lambda batch: post_batch(user=approver, batch=batch), [(b,) for b in batches])
    assert len([r for r in results if r]) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationFailed), errors
    assert errors[0].errors[0]["code"] == "insufficient_stock"
    assert sorted(ImportBatch.objects.filter(kind="OPEN_SALES_ORDERS").values_list("status", flat=True)) == [
        "INVALID",
        "POSTED",
    ]
    assert SalesOrder.objects.count() == 1 and Allocation.objects.get().quantity == 30
    assert StockLevel.objects.get(item=item, site=site).allocated == 30
    assert allocation_drift() == []
