"""Exception sweeps of the orders app, registered with the alerts worker in ``OrdersConfig.ready()``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from governance.models import Site
from governance.services.alerts import Finding, register_sweep, sync_condition_exceptions
from governance.services.rules import get_rule_for_sites
from orders.models import SalesOrder, SalesOrderLine

S = SalesOrder.Status
#: order states in which a backordered line still waits for stock
WAITING = (S.RELEASED, S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.PICKING, S.PARTIALLY_SHIPPED)


def sweep_backorder_aging(*, now: datetime | None = None) -> dict:
    """BACKORDER_AGING for every backordered line waiting longer than its site's ``exceptions.backorder_aging_days``
    (the order's owning site); resolved once the line is filled, cancelled or shipped. Idempotent."""
    now = now or timezone.now()
    days = get_rule_for_sites("exceptions.backorder_aging_days", list(Site.objects.values_list("pk", flat=True)))
    findings = []
    if days:
        lines = (
            SalesOrderLine.objects.filter(
                backordered_quantity__gt=0,
                backordered_since__lt=now - timedelta(days=min(days.values())),
                order__status__in=WAITING,
            )
            .select_related("order__site", "item")
            .order_by("pk")
        )
        for line in lines:
            order = line.order
            age = now - line.backordered_since
            if age <= timedelta(days=days[order.site_id]):
                continue
            findings.append(
                Finding(
                    site=order.site,
                    subject=line,
                    summary=f"{order.number} line {line.line_number}: {line.backordered_quantity} {line.item.sku} "
                    f"backordered for {age.days} days (site allows {days[order.site_id]}).",
                    details={
                        "order": order.number,
                        "line": line.line_number,
                        "backordered_quantity": line.backordered_quantity,
                        "backordered_since": line.backordered_since.isoformat(),
                    },
                )
            )
    return sync_condition_exceptions(
        code="BACKORDER_AGING",
        model=SalesOrderLine,
        findings=findings,
        now=now,
        cleared_note="The line is no longer an aged backorder (filled, shipped or cancelled).",
    )


def register_sweeps() -> None:
    from .purchasing import sweep_overdue_receipts

    register_sweep("backorder_aging", sweep_backorder_aging)
    register_sweep("overdue_receipts", lambda *, now: sweep_overdue_receipts(now=now))
