"""Reads for the browser pages: search, order list counts, the site dashboard. Each runs a fixed number of
queries whatever the data (the dashboard is asserted with django_assert_max_num_queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from governance import permissions
from governance.models import ExceptionCase, ExceptionCode, JobRun, Site, SiteMembership
from inventory.models import CycleCount, CycleCountLine, Item
from orders import selectors as order_selectors
from orders.models import PurchaseOrder, PurchaseOrderLine, SalesOrder, ShipNoticeLine, TransferOrder
from warehouse.models import CountRequest, PickTask, PutawayTask, Receipt, ReplenishmentTask, Shipment, Wave

SEARCH_LIMIT = 20


@dataclass
class SearchResults:
    orders: list = field(default_factory=list)
    items: list = field(default_factory=list)
    customers: list = field(default_factory=list)
    waves: list = field(default_factory=list)
    shipments: list = field(default_factory=list)
    transfers: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return (
            len(self.orders)
            + len(self.items)
            + len(self.customers)
            + len(self.waves)
            + len(self.shipments)
            + len(self.transfers)
        )

    @property
    def single_url(self) -> str | None:
        """An exact document number match goes straight to the document."""
        if self.total != 1:
            return None
        if self.orders:
            return reverse("web:order-detail", args=[self.orders[0].number])
        if self.waves:
            return reverse("web:wave-detail", args=[self.waves[0].pk])
        if self.shipments:
            return reverse("web:shipment-detail", args=[self.shipments[0].pk])
        if self.transfers:
            return reverse("web:transfer-detail", args=[self.transfers[0].number])
        return None


def search(*, user, query: str) -> SearchResults:
    """Document number / SKU / customer, over everything the user may see."""
    q = query.strip()[:60]
    results = SearchResults()
    if not q:
        return results
    results.orders = list(
        order_selectors.orders_for(user)
        .filter(Q(number__iexact=q) | Q(number__icontains=q) | Q(customer_reference__iexact=q))
        .order_by("-created_at")[:SEARCH_LIMIT]
    )
    results.items = list(
        Item.objects.filter(Q(sku__iexact=q) | Q(sku__icontains=q) | Q(description__icontains=q)).order_by("sku")[
            :SEARCH_LIMIT
        ]
    )
    results.customers = list(
        order_selectors.customers_for(user).filter(Q(code__icontains=q) | Q(name__icontains=q))[:SEARCH_LIMIT]
    )
    results.waves = list(
        permissions.restrict(Wave.objects.select_related("site"), user).filter(number__icontains=q)[:SEARCH_LIMIT]
    )
    results.shipments = list(
        permissions.restrict(Shipment.objects.select_related("site"), user).filter(
            Q(number__icontains=q) | Q(tracking_number__iexact=q)
        )[:SEARCH_LIMIT]
    )
    site_ids = permissions.site_ids_for(user)
    transfers = TransferOrder.objects.select_related("from_site", "to_site").filter(number__icontains=q)
    if site_ids is not None:
        transfers = transfers.filter(Q(from_site_id__in=site_ids) | Q(to_site_id__in=site_ids))
    results.transfers = list(transfers.order_by("-created_at")[:SEARCH_LIMIT])
    return results


# --- order list ---------------------------------------------------------------------------------------------


def site_orders(*, user, site: Site) -> QuerySet[SalesOrder]:
    """Orders the user may see that are owned by ``site``."""
    return order_selectors.orders_for(user).filter(site=site)


def order_status_counts(orders: QuerySet[SalesOrder]) -> dict[str, int]:
    rows = orders.order_by().values_list("status").annotate(n=Count("id"))
    return dict(rows)


# --- site dashboard -------------------------------------------------------------------------------------------

SEVERITY_RANK = Case(
    When(severity=ExceptionCode.Severity.CRITICAL, then=Value(0)),
    When(severity=ExceptionCode.Severity.HIGH, then=Value(1)),
    When(severity=ExceptionCode.Severity.MEDIUM, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
#: rows of each list panel on the dashboard (the page stays short); each panel links to its whole, filtered list.
#: The selector reads one row more than it shows, so a panel knows whether there is more than it shows.
PANEL_ROWS = 10
#: exception rows on the dashboard (past their SLA first, then most severe, then oldest); the tiles and the link
#: lead to the whole queue
QUEUE_ROWS = 10
#: exception codes with a panel of their own on the dashboard (besides the queue)
SHORT_PICK, LATE_SHIPMENT_RISK = "SHORT_PICK", "LATE_SHIPMENT_RISK"


def open_exceptions(site: Site) -> QuerySet[ExceptionCase]:
    return (
        ExceptionCase.objects.filter(site=site)
        .exclude(status=ExceptionCase.Status.RESOLVED)
        .select_related("code", "assignee")
    )


def site_dashboard(*, site: Site, now=None) -> dict:
    """Everything a supervisor watches at one site, in a fixed number of queries. Lists hold at most
    ``PANEL_ROWS + 1`` rows (the dashboard shows ``PANEL_ROWS``; one more says there is more); the counts are
    whole."""
    now = now or timezone.now()
    more = PANEL_ROWS + 1
    putaway = PutawayTask.objects.filter(site=site, status=PutawayTask.Status.OPEN)
    putaway_rows = list(
        putaway.select_related("item", "lot", "from_location", "suggested_location", "receipt_line__receipt").order_by(
            "received_at", "id"
        )[:more]
    )
    putaway_totals = putaway.order_by().aggregate(
        tasks=Count("id"), receipts=Count("receipt_line__receipt_id", distinct=True)
    )
    waves = dict(Wave.objects.filter(site=site).order_by().values_list("status").annotate(n=Count("id")))
    picks = dict(
        PickTask.objects.filter(site=site, wave__status__in=(Wave.Status.PLANNED, Wave.Status.RELEASED))
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    open_waves = list(
        Wave.objects.filter(site=site, status__in=(Wave.Status.PLANNED, Wave.Status.RELEASED))
        .annotate(
            open_picks=Count("pick_tasks", filter=Q(pick_tasks__status=PickTask.Status.OPEN)),
            all_picks=Count("pick_tasks"),
        )
        .order_by("created_at")[:more]
    )
    to_count = Q(lines__status__in=(CycleCountLine.Status.OPEN, CycleCountLine.Status.RECOUNT))
    counting = (
        CycleCount.objects.filter(site=site)
        .exclude(status=CycleCount.Status.COMPLETED)
        .annotate(lines_to_count=Count("lines", filter=to_count), lines_total=Count("lines"))
    )
    open_counts = list(counting.order_by("plan_date", "id")[:more])
    count_lines_to_count = CycleCountLine.objects.filter(
        count__site=site, status__in=(CycleCountLine.Status.OPEN, CycleCountLine.Status.RECOUNT)
    ).count()
    requests = CountRequest.objects.filter(site=site, status=CountRequest.Status.OPEN)
    counts_due = list(requests.select_related("location", "item").order_by("requested_at")[:more])
    refills = ReplenishmentTask.objects.filter(site=site, status=ReplenishmentTask.Status.OPEN)
    replenishments = list(
        refills.select_related("item", "lot", "from_location", "to_location").order_by("created_at", "id")[:more]
    )
    transfers = list(
        TransferOrder.objects.filter(
            Q(from_site=site) | Q(to_site=site),
        )
        .exclude(status__in=(TransferOrder.Status.RECEIVED, TransferOrder.Status.CANCELLED))
        .select_related("from_site", "to_site")
        .order_by("created_at")[:more]
    )
    late = Case(When(due_at__lt=now, then=Value(0)), default=Value(1), output_field=IntegerField())
    cases = list(
        open_exceptions(site).annotate(rank=SEVERITY_RANK, late=late).order_by("late", "rank", "opened_at", "id")[:100]
    )
    # open cases per (severity, code), and how many of them are past their SLA: the tiles' numbers, whole
    stats = list(
        open_exceptions(site)
        .order_by()
        .values_list("severity", "code__code")
        .annotate(n=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
    )
    by_severity: dict[str, int] = {}
    by_code: dict[str, int] = {}
    for severity, code, n, _overdue in stats:
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_code[code] = by_code.get(code, 0) + n
    jobs = list(JobRun.objects.filter(Q(site=site) | Q(site__isnull=True)).order_by("-started_at", "-id")[:more])
    members = list(
        SiteMembership.objects.filter(site=site, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
        .distinct("user__username")
    )
    for case in cases:
        case.age = now - case.opened_at
        case.overdue = case.due_at < now
    return {
        "putaway_rows": putaway_rows,
        "putaway_count": putaway_totals["tasks"],
        "receipts_awaiting_putaway": putaway_totals["receipts"],
        "wave_counts": [(s.label, waves.get(s.value, 0)) for s in Wave.Status],
        "open_wave_count": waves.get(Wave.Status.PLANNED, 0) + waves.get(Wave.Status.RELEASED, 0),
        "pick_counts": [(s.label, picks.get(s.value, 0)) for s in PickTask.Status],
        "open_pick_count": picks.get(PickTask.Status.OPEN, 0),
        "open_waves": open_waves,
        "short_picks": [c for c in cases if c.code.code == SHORT_PICK][:more],
        "short_pick_count": by_code.get(SHORT_PICK, 0),
        "at_risk": [c for c in cases if c.code.code == LATE_SHIPMENT_RISK][:more],
        "at_risk_count": by_code.get(LATE_SHIPMENT_RISK, 0),
        "counts_due": counts_due,
        "count_request_count": requests.count() if len(counts_due) > PANEL_ROWS else len(counts_due),
        "open_counts": open_counts,
        "count_lines_to_count": count_lines_to_count,
        "replenishments": replenishments,
        "replenishment_count": refills.count() if len(replenishments) > PANEL_ROWS else len(replenishments),
        "transfers": transfers,
        "transfers_out": [t for t in transfers[:PANEL_ROWS] if t.from_site_id == site.pk],
        "transfers_in": [t for t in transfers[:PANEL_ROWS] if t.to_site_id == site.pk],
        "exceptions": cases,
        "exception_count": sum(by_severity.values()),
        "overdue_count": sum(row[3] for row in stats),
        # the dashboard shows the first rows of the queue and of each panel; the links open all of it
        "queue_rows": QUEUE_ROWS,
        "queue_slice": f":{QUEUE_ROWS}",
        "panel_rows": PANEL_ROWS,
        "panel_slice": f":{PANEL_ROWS}",
        "severity_counts": [(s.label, s.value, by_severity.get(s.value, 0)) for s in ExceptionCode.Severity],
        "jobs": jobs,
        "assignees": [m.user for m in members],
        "refreshed_at": now,
        "stale_after": now - timedelta(minutes=5),
    }


# --- purchase orders ------------------------------------------------------------------------------------------


def site_purchase_orders(*, site: Site) -> QuerySet[PurchaseOrder]:
    """The purchase orders of ``site`` with their line count, ordered / received / open units (base units), a
    ship notice flag and their receipt count (subqueries, so the sums are not multiplied by the joins)."""
    lines = PurchaseOrderLine.objects.filter(purchase_order=OuterRef("pk")).order_by().values("purchase_order")

    def total(expression):
        return Coalesce(
            Subquery(lines.annotate(n=Sum(expression)).values("n")[:1]), Value(0), output_field=IntegerField()
        )

    receipts = Receipt.objects.filter(purchase_order=OuterRef("pk")).order_by().values("purchase_order")
    return (
        PurchaseOrder.objects.filter(site=site)
        .select_related("supplier")
        .annotate(
            line_count=total(Value(1)),
            ordered_units=total(F("quantity")),
            received_units=total(F("received_quantity") + F("rejected_quantity")),
            open_units=total(Greatest(F("quantity") - F("received_quantity") - F("rejected_quantity"), Value(0))),
            has_ship_notice=Exists(ShipNoticeLine.objects.filter(po_line__purchase_order=OuterRef("pk"))),
            receipt_count=Coalesce(
                Subquery(receipts.annotate(n=Count("pk")).values("n")[:1]), Value(0), output_field=IntegerField()
            ),
        )
    )


def purchase_order_detail(po) -> dict:
    """A purchase order's lines (ordered, received, damaged/rejected, open units), ship notice lines, receipts
    against it (with line and discrepancy counts) and status history, newest first. A fixed number of queries."""
    lines = list(po.lines.select_related("item").order_by("line_number"))
    notices = []
    by_pk = {line.pk: line for line in lines}
    for line in lines:
        line.notices = []
    for notice in ShipNoticeLine.objects.filter(po_line__purchase_order=po).order_by("created_at", "pk"):
        notice.po_line = by_pk[notice.po_line_id]
        by_pk[notice.po_line_id].notices.append(notice)
        notices.append(notice)
    receipts = list(
        Receipt.objects.filter(purchase_order=po)
        .select_related("received_by", "location")
        .annotate(line_count=Count("lines", distinct=True), discrepancy_count=Count("discrepancies", distinct=True))
        .order_by("-received_at", "-pk")
    )
    return {"lines": lines, "notices": notices, "receipts": receipts, "history": purchase_order_history(po)}


def purchase_order_history(po) -> list[dict]:
    """The PO's status changes from its history (who, when, from -> to), newest first, with human labels."""
    labels = dict(PurchaseOrder.Status.choices)
    records = list(po.history.select_related("history_user").order_by("history_date", "history_id"))
    out = []
    previous = None
    for record in records:
        if previous is None or record.status != previous:
            out.append(
                {
                    "when": record.history_date,
                    "who": record.history_user.username if record.history_user else "system",
                    "what": "Created" if previous is None else "Status changed",
                    "from": labels.get(previous, previous) if previous else "",
                    "to": labels.get(record.status, record.status),
                }
            )
        previous = record.status
    return list(reversed(out))
