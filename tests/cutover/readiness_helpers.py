"""Building a site whose readiness scorecard passes (every criterion green, integrations not applicable), and the
helpers that break one criterion at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from cutover.models import ImportBatch, Reconciliation, TrainingRecord
from cutover.readiness import TRAINING_BY_ROLE
from governance.models import ApprovalRequest, Site, SiteMembership
from inventory.models import CycleCount, CycleCountLine, ItemBarcode, Location
from inventory.services import receive_stock
from orders.models import PickFacePolicy
from tests.factories import ItemFactory, LocationFactory, SiteFactory, UserFactory
from warehouse.models import PutawayRule

_gtin = iter(range(10_000_000, 99_999_999))


@dataclass
class ReadySite:
    site: Site
    item: object
    bin: Location
    face: Location
    lead: object
    supervisor: object
    operator: object
    coordinator: object
    batch: ImportBatch
    count: CycleCount


def complete_item(sku: str):
    item = ItemFactory(sku=sku, weight_grams=250)
    ItemBarcode.objects.create(item=item, gtin=f"000000{next(_gtin)}")
    return item


def certify(site, user, processes=None, *, recorded_by, valid_until=None, certified_on=None):
    today = timezone.localdate()
    for process in processes or TRAINING_BY_ROLE["supervisor"]:
        TrainingRecord.objects.create(
            user=user,
            site=site,
            process=process,
            certified_on=certified_on or today - timedelta(days=3),
            valid_until=valid_until,
            recorded_by=recorded_by,
        )


def posted_batch(site, user, *, lines_total=10, lines_outside=0, signed_off=True) -> ImportBatch:
    now = timezone.now()
    batch = ImportBatch.objects.create(
        number=f"IMP-{site.code}-{ImportBatch.objects.count() + 1}",
        site=site,
        kind=ImportBatch.Kind.OPENING_BALANCES,
        status=ImportBatch.Status.POSTED,
        file_format=ImportBatch.Format.JSON,
        content=b"[]",
        content_sha256="0" * 64,
        total_rows=lines_total,
        rows_done=lines_total,
        created_by=user,
        posted_at=now,
    )
    Reconciliation.objects.create(
        batch=batch,
        source=Reconciliation.Source.TYPED,
        tolerance_percent=Decimal("0.5"),
        lines_total=lines_total,
        lines_outside=lines_outside,
        created_by=user,
    )
    if signed_off:  # the two-step sign-off, as cutover.services.signoff records it: an approved CUTOVER_SIGNOFF
        ApprovalRequest.objects.create(
            kind="CUTOVER_SIGNOFF",
            site=site,
            content_type=ContentType.objects.get_for_model(ImportBatch),
            object_id=batch.pk,
            subject_label=batch.number,
            reason="signed off",
            status=ApprovalRequest.Status.APPROVED,
            requested_by=user,
            decided_by=user,
            decided_at=now,
        )
    return batch


def counted(count, location, item, *, counted_qty, expected, at=None):
    at = at or timezone.now()
    return CycleCountLine.objects.create(
        count=count,
        location=location,
        item=item,
        status=CycleCountLine.Status.POSTED,
        first_quantity=counted_qty,
        first_expected=expected,
        first_counted_at=at,
        counted_quantity=counted_qty,
        expected_quantity=expected,
        variance=counted_qty - expected,
    )


def ready_site(code="DC7", stage=Site.Stage.PILOT) -> ReadySite:
    site = SiteFactory(code=code, name=f"{code} pilot", stage=stage)
    users = {}
    for role in ("admin", "supervisor", "operator", "coordinator"):
        user = UserFactory(username=f"{code.lower()}-{role}")
        SiteMembership.objects.create(user=user, site=site, role=role)
        users[role] = user
    lead = users["admin"]
    certify(site, users["supervisor"], recorded_by=lead)
    certify(site, users["operator"], TRAINING_BY_ROLE["operator"], recorded_by=lead)
    item = complete_item(f"{code}-ITEM")
    bin_ = LocationFactory(site=site, code="R-01", kind=Location.Kind.STORAGE, capacity=1000)
    face = LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK, capacity=100)
    PickFacePolicy.objects.create(site=site, location=face, item=item, min_quantity=5, max_quantity=50)
    PutawayRule.objects.create(site=site, priority=10, location_kinds="STORAGE")
    receive_stock(user=None, item=item, location=bin_, quantity=40, status="AVAILABLE", check_permission=False)
    batch = posted_batch(site, lead)
    count = CycleCount.objects.create(number=f"CC-{code}-1", site=site, status=CycleCount.Status.COMPLETED)
    counted(count, bin_, item, counted_qty=40, expected=40)
    return ReadySite(
        site, item, bin_, face, lead, users["supervisor"], users["operator"], users["coordinator"], batch, count
    )
