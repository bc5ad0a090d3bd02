"""The sample files of cutover/samples/ for the demo site DC-NORTH beyond its opening balances: putaway rules,
replenishment policies and pick-face min/max, open purchase orders, open sales orders (allocations recreated
against the posted opening balances) and transfers in transit each validate clean, post, and the document batches
reconcile inside the tolerance against their control totals."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from cutover.models import ImportRowError
from cutover.services import create_batch, reconcile_batch, request_post, validate_batch
from distribution_erp import demo
from governance.models import Site
from governance.services import decide_approval
from orders.models import Allocation, PickFacePolicy, PurchaseOrder, ReplenishmentPolicy, SalesOrder, TransferOrder
from orders.services.purchasing import create_supplier
from tests.factories import CustomerFactory
from warehouse.models import PutawayRule

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[2] / "cutover" / "samples"


def test_the_dc_north_samples_of_every_kind_post_and_reconcile(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo.load_demo(scale=demo.SMALL, activity=False)
    north = Site.objects.get(code="DC-NORTH")
    # the full demo has them (the activity stage, which this test leaves out to stay quick)
    for code in ("NORTHBOLT", "AQUAFLOW"):
        create_supplier(user=None, code=code, name=code.title())
    for code in ("C1001", "C1002"):
        CustomerFactory(code=code, home_site=Site.objects.get(code="DC-EAST"))
    User = get_user_model()
    lead, sup = User.objects.get(username="lead-north"), User.objects.get(username="sup-north")

    def post(kind, name):
        batch = create_batch(user=lead, site=north, kind=kind, content=(SAMPLES / name).read_bytes(), file_name=name)
        batch = validate_batch(user=lead, batch=batch)
        errors = list(ImportRowError.objects.filter(batch=batch).values_list("row", "column", "message"))
        assert batch.status == "VALIDATED", errors
        batch, approval = request_post(user=lead, batch=batch)
        decide_approval(approval=approval, user=sup, approve=True)
        batch.refresh_from_db()
        assert batch.status == "POSTED" and batch.posted_rows == batch.total_rows
        return batch

    def reconciled(batch, name):
        rec = reconcile_batch(user=lead, batch=batch, content=(SAMPLES / name).read_bytes(), file_name=name)
        assert rec.lines_outside == 0, [(line.sku, line.difference_units) for line in rec.lines.all()]
        return rec

    post("OPENING_BALANCES", "DC-NORTH-opening-balances-fixed.csv")
    post("PUTAWAY_RULES", "DC-NORTH-putaway-rules.csv")
    assert PutawayRule.objects.filter(site=north).count() == 3
    post("REPLENISHMENT_POLICIES", "DC-NORTH-replenishment-policies.csv")
    assert PickFacePolicy.objects.filter(site=north).count() == 2
    assert ReplenishmentPolicy.objects.filter(site=north).count() == 2

    pos = post("OPEN_PURCHASE_ORDERS", "DC-NORTH-open-purchase-orders.csv")
    assert PurchaseOrder.objects.filter(site=north).count() == 2
    assert reconciled(pos, "DC-NORTH-purchase-order-control-totals.csv").system_units == 1160
    sos = post("OPEN_SALES_ORDERS", "DC-NORTH-open-sales-orders.csv")
    assert set(SalesOrder.objects.filter(site=north).values_list("status", flat=True)) == {
        "ALLOCATED",
        "PARTIALLY_ALLOCATED",
    }
    assert sum(Allocation.objects.filter(site=north, rule="CUTOVER").values_list("quantity", flat=True)) == 222
    assert reconciled(sos, "DC-NORTH-sales-order-control-totals.csv").system_lines == 4
    transfers = post("TRANSFERS_IN_TRANSIT", "DC-NORTH-transfers-in-transit.csv")
    assert TransferOrder.objects.get(to_site=north).status == "SHIPPED"
    reconciled(transfers, "DC-NORTH-transfer-control-totals.csv")
