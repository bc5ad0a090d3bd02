"""Reads of the cutover app."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from governance import permissions
from governance.models import ApprovalRequest, ExceptionCase, Site, SiteMembership, WebhookDelivery, WebhookSubscription
from governance.services.rules import effective_rules
from governance.services.sites import site_local_date
from inventory.models import CycleCountLine, Item, ItemBarcode, ItemUnit, Location, StockQuant
from orders.models import PickFacePolicy, PurchaseOrder, PurchaseOrderLine, ReplenishmentPolicy
from warehouse.models import Discrepancy, PutawayRule

from .models import GoLiveRequest, ImportBatch, Reconciliation, TrainingRecord
from .readiness import REQUIRED_ROLES, TRAINING_BY_ROLE, Facts, Subscription, Thresholds, evaluate, people_trained


def visible_batches(user):
    return permissions.restrict(ImportBatch.objects.select_related("site", "created_by", "approval"), user).defer(
        "content"
    )


#: the columns of a reconciliation line, in order: the CSV download and the API answer show the same
RECONCILIATION_COLUMNS = (
    "sku",
    "site",
    "legacy_units",
    "system_units",
    "difference_units",
    "difference_percent",
    "unit_cost",
    "legacy_value",
    "system_value",
    "value_difference",
    "legacy_lines",
    "system_lines",
    "within_tolerance",
)


def reconciliation_csv(rec: Reconciliation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RECONCILIATION_COLUMNS)
    for line in rec.lines.select_related("site").order_by("within_tolerance", "sku"):
        writer.writerow(
            [
                line.sku,
                line.site.code,
                line.legacy_units,
                line.system_units,
                line.difference_units,
                "" if line.difference_percent is None else line.difference_percent,
                line.unit_cost,
                "" if line.legacy_value is None else line.legacy_value,
                line.system_value,
                line.value_difference,
                "" if line.legacy_lines is None else line.legacy_lines,
                "" if line.system_lines is None else line.system_lines,
                "yes" if line.within_tolerance else "no",
            ]
        )
    return out.getvalue()


# --- the readiness scorecard (issue 13) -----------------------------------------------------------------------

#: the rules behind each threshold (cutover.readiness.Thresholds field -> site rule)
THRESHOLD_RULES = {
    "master_data_min_percent": "readiness.master_data_min_percent",
    "max_reconciliation_lines_outside": "readiness.max_reconciliation_lines_outside",
    "reconciliation_tolerance_percent": "cutover.reconciliation_tolerance_percent",
    "max_open_discrepancies": "readiness.max_open_discrepancies",
    "count_accuracy_min_percent": "readiness.count_accuracy_min_percent",
    "count_window_days": "readiness.count_window_days",
    "min_staff_per_role": "readiness.min_staff_per_role",
    "training_min_percent": "readiness.training_min_percent",
    "integration_window_hours": "readiness.integration_window_hours",
    "max_open_exceptions": "readiness.max_open_exceptions",
    "max_overdue_exceptions": "readiness.max_overdue_exceptions",
}
EXAMPLES = 5


def readiness_thresholds(site: Site) -> Thresholds:
    """The scorecard's thresholds: site rules, read for ``site`` (every rule in two queries)."""
    values = {rule["key"]: rule["value"] for rule in effective_rules(site)}
    return Thresholds(**{name: values[key] for name, key in THRESHOLD_RULES.items()})


def _master_data_facts(site: Site) -> dict:
    stocked = StockQuant.objects.filter(site=site, item=OuterRef("pk"), quantity__gt=0)
    ordered = PurchaseOrderLine.objects.filter(
        purchase_order__site=site, purchase_order__status__in=PurchaseOrder.RECEIVABLE, item=OuterRef("pk")
    )
    planned = ReplenishmentPolicy.objects.filter(site=site, active=True, item=OuterRef("pk"))
    items = (
        Item.objects.filter(Exists(stocked) | Exists(ordered) | Exists(planned))
        .annotate(
            has_units=Exists(ItemUnit.objects.filter(item=OuterRef("pk"), factor__gt=1)),
            has_barcode=Exists(ItemBarcode.objects.filter(item=OuterRef("pk"))),
        )
        .order_by()
    )
    complete = Q(has_units=True, has_barcode=True, weight_grams__gt=0)
    counts = items.aggregate(
        total=Count("pk"),
        complete=Count("pk", filter=complete),
        no_units=Count("pk", filter=Q(has_units=False)),
        no_weight=Count("pk", filter=Q(weight_grams__isnull=True) | Q(weight_grams=0)),
        no_barcode=Count("pk", filter=Q(has_barcode=False)),
    )
    incomplete = tuple(items.exclude(complete).order_by("sku").values_list("sku", flat=True)[:EXAMPLES])
    faces = (
        Location.objects.filter(site=site, kind=Location.Kind.PICK, active=True)
        .annotate(policy=Exists(PickFacePolicy.objects.filter(location=OuterRef("pk"), active=True)))
        .order_by()
    )
    face_counts = faces.aggregate(total=Count("pk"), with_policy=Count("pk", filter=Q(policy=True)))
    no_policy = tuple(faces.filter(policy=False).order_by("code").values_list("code", flat=True)[:EXAMPLES])
    bins = Location.objects.filter(
        site=site, kind__in=(Location.Kind.STORAGE, Location.Kind.PICK), active=True
    ).order_by()
    with_capacity = Q(capacity__gt=0)
    bin_counts = bins.aggregate(total=Count("pk"), with_capacity=Count("pk", filter=with_capacity))
    no_capacity = tuple(bins.exclude(with_capacity).order_by("code").values_list("code", flat=True)[:EXAMPLES])
    return {
        "items_total": counts["total"],
        "items_complete": counts["complete"],
        "items_without_units": counts["no_units"],
        "items_without_weight": counts["no_weight"],
        "items_without_barcode": counts["no_barcode"],
        "items_incomplete_examples": incomplete,
        "pick_faces_total": face_counts["total"],
        "pick_faces_with_minmax": face_counts["with_policy"],
        "pick_faces_missing_examples": no_policy,
        "locations_total": bin_counts["total"],
        "locations_with_capacity": bin_counts["with_capacity"],
        "locations_missing_examples": no_capacity,
        "putaway_rules": PutawayRule.objects.filter(site=site, active=True).count(),
    }


def _reconciliation_facts(site: Site) -> dict:
    batch = (
        ImportBatch.objects.filter(site=site, kind=ImportBatch.Kind.OPENING_BALANCES, status=ImportBatch.Status.POSTED)
        .order_by("-posted_at", "-id")
        .only("pk", "number")
        .first()
    )
    if batch is None:
        return {}
    rec = (
        Reconciliation.objects.filter(batch=batch)
        .order_by("-created_at", "-id")
        .only("lines_total", "lines_outside", "tolerance_percent")
        .first()
    )
    facts = {"batch_number": batch.number, "reconciled": rec is not None}
    if rec is not None:
        facts |= {
            "reconciliation_lines": rec.lines_total,
            "reconciliation_lines_outside": rec.lines_outside,
            "reconciliation_tolerance_percent": rec.tolerance_percent,
        }
    return facts


def _document_facts(site: Site) -> dict:
    """The site's posted in-flight document batches, each with its latest reconciliation (two queries)."""
    from .readiness import DocumentBatch

    kinds = (
        ImportBatch.Kind.OPEN_PURCHASE_ORDERS,
        ImportBatch.Kind.OPEN_SALES_ORDERS,
        ImportBatch.Kind.TRANSFERS_IN_TRANSIT,
    )
    batches = list(
        ImportBatch.objects.filter(site=site, kind__in=kinds, status=ImportBatch.Status.POSTED)
        .order_by("posted_at", "id")
        .only("pk", "number", "kind")
    )
    latest: dict[int, Reconciliation] = {}
    for rec in Reconciliation.objects.filter(batch__in=batches).order_by("created_at", "id"):
        latest[rec.batch_id] = rec
    return {
        "document_batches": tuple(
            DocumentBatch(
                number=b.number,
                kind=b.kind,
                lines_total=latest[b.pk].lines_total if b.pk in latest else None,
                lines_outside=latest[b.pk].lines_outside if b.pk in latest else None,
            )
            for b in batches
        )
    }


def _signoff_facts(site: Site) -> dict:
    signed = ApprovalRequest.objects.filter(
        kind="CUTOVER_SIGNOFF",
        status=ApprovalRequest.Status.APPROVED,
        content_type=ContentType.objects.get_for_model(ImportBatch),
        object_id=OuterRef("pk"),
    )
    posted = ImportBatch.objects.filter(site=site, status=ImportBatch.Status.POSTED).order_by()
    counts = posted.aggregate(total=Count("pk"), signed=Count("pk", filter=Exists(signed)))
    unsigned = tuple(posted.exclude(Exists(signed)).order_by("number").values_list("number", flat=True)[:EXAMPLES])
    return {
        "batches_posted": counts["total"],
        "batches_signed_off": counts["signed"],
        "batches_unsigned_examples": unsigned,
    }


def _operations_facts(site: Site, now, window_days: int) -> dict:
    open_case = ExceptionCase.objects.filter(
        content_type=ContentType.objects.get_for_model(Discrepancy), object_id=OuterRef("pk")
    ).exclude(status=ExceptionCase.Status.RESOLVED)
    by_code = dict(
        Discrepancy.objects.filter(receipt__site=site)
        .filter(Exists(open_case))
        .order_by()
        .values("code")
        .annotate(n=Count("pk"))
        .values_list("code", "n")
    )
    since = now - timedelta(days=window_days)
    lines = (
        CycleCountLine.objects.filter(count__site=site, counted_quantity__isnull=False)
        .annotate(counted_at=Coalesce("recounted_at", "first_counted_at"))
        .filter(counted_at__gte=since)
        .order_by()
    )
    line_counts = lines.aggregate(
        total=Count("pk"), exact=Count("pk", filter=Q(counted_quantity=F("expected_quantity")))
    )
    numbers = tuple(lines.order_by("count__number").values_list("count__number", flat=True).distinct()[:3])
    cases = ExceptionCase.objects.filter(site=site).exclude(status=ExceptionCase.Status.RESOLVED).order_by()
    case_counts = cases.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    return {
        "open_discrepancies": sum(by_code.values()),
        "open_discrepancies_by_code": by_code,
        "count_lines": line_counts["total"],
        "count_lines_exact": line_counts["exact"],
        "count_numbers": numbers,
        "open_exceptions": case_counts["open"],
        "overdue_exceptions": case_counts["overdue"],
    }


def _people_facts(site: Site) -> dict:
    members = SiteMembership.objects.filter(site=site, user__is_active=True)
    staff = dict(
        members.filter(role__in=REQUIRED_ROLES)
        .order_by()
        .values("role")
        .annotate(n=Count("user", distinct=True))
        .values_list("role", "n")
    )
    roles_by_user: dict[int, set[str]] = {}
    for user_id, role in members.filter(role__in=list(TRAINING_BY_ROLE)).values_list("user_id", "role"):
        roles_by_user.setdefault(user_id, set()).add(role)
    today = site_local_date(site)
    valid = set(
        TrainingRecord.objects.filter(
            site=site, user_id__in=list(roles_by_user), revoked_at__isnull=True, certified_on__lte=today
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .order_by()
        .values_list("user_id", "process")
        .distinct()
    )
    to_train, trained, missing = people_trained(roles_by_user, valid)
    return {
        "staff_by_role": staff,
        "people_to_train": to_train,
        "people_trained": trained,
        "missing_by_process": missing,
    }


def _integration_facts(site: Site, now, window_hours: int) -> dict:
    since = now - timedelta(hours=window_hours)
    of_site = Q(deliveries__site=site)
    rows = (
        WebhookSubscription.objects.filter(active=True, sites=site)
        .annotate(
            last_success=Max(
                "deliveries__delivered_at", filter=of_site & Q(deliveries__status=WebhookDelivery.Status.SUCCEEDED)
            ),
            succeeded=Count(
                "deliveries",
                filter=of_site
                & Q(deliveries__status=WebhookDelivery.Status.SUCCEEDED, deliveries__delivered_at__gte=since),
            ),
            gave_up=Count(
                "deliveries",
                filter=of_site
                & Q(deliveries__status=WebhookDelivery.Status.GAVE_UP, deliveries__last_attempt_at__gte=since),
            ),
        )
        .order_by("pk")
        .values_list("pk", "name", "url", "last_success", "succeeded", "gave_up")
    )
    return {
        "subscriptions": tuple(
            Subscription(name or f"#{pk} {url}"[:60], last, succeeded, gave_up)
            for pk, name, url, last, succeeded, gave_up in rows
        )
    }


def readiness_facts(site: Site, *, thresholds: Thresholds | None = None, now=None) -> Facts:
    """The counts behind the scorecard, read with aggregate queries (a dozen or so, whatever the site's size)."""
    thresholds = thresholds or readiness_thresholds(site)
    now = now or timezone.now()
    return Facts(
        **_master_data_facts(site),
        **_reconciliation_facts(site),
        **_document_facts(site),
        **_signoff_facts(site),
        **_operations_facts(site, now, thresholds.count_window_days),
        **_people_facts(site),
        **_integration_facts(site, now, thresholds.integration_window_hours),
    )


def scorecard(site: Site, *, now=None) -> list[dict]:
    """The readiness scorecard of ``site`` as the data stand now (the gate of the step to LIVE)."""
    thresholds = readiness_thresholds(site)
    return evaluate(readiness_facts(site, thresholds=thresholds, now=now), thresholds)


def visible_training_records(user):
    return permissions.restrict(TrainingRecord.objects.select_related("site", "user", "recorded_by"), user)


def visible_go_live_requests(user):
    return permissions.restrict(
        GoLiveRequest.objects.select_related("site", "requested_by", "decided_by", "approval"), user
    )


def readiness_gate(site: Site) -> list[dict]:
    """The LIVE gate (registered in CutoverConfig.ready): the scorecard now."""
    return scorecard(site)
