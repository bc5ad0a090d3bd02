"""Exception sweep of the inventory app, registered with the alerts worker in ``InventoryConfig.ready()``:
count variances awaiting approval.

Counting opens a COUNT_VARIANCE case for a line the moment its variance waits for approval (and deciding the
count resolves it); this sweep is the backstop that works from durable state only, so a case lost with a
rolled-back side effect or resolved by hand while the line still waits is opened again, and a case whose line
was decided is resolved. Cases of lines posted without approval (beyond tolerance: investigate) are left to
people. Idempotent and safe on two workers: opening is deduplicated by the database (one open case per subject
and code), resolving skips cases another worker holds.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from governance import selectors as governance_selectors
from governance.services.alerts import register_sweep, resolve_cases
from governance.services.exceptions import open_exception
from inventory.models import CycleCountLine

from .counts import VARIANCE_CODE


def sweep_count_variances_awaiting_approval(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    counts = {"opened": 0, "already_open": 0, "resolved": 0}
    pending = (
        CycleCountLine.objects.filter(status=CycleCountLine.Status.PENDING_APPROVAL)
        .select_related("count__site", "location", "item", "lot")
        .order_by("pk")
    )
    for line in pending:
        count = line.count
        # no quantities and no variance value (value / cost = units): exceptions are visible to the site's
        # counters (blind counting); approvers read the figures on the count itself
        _, created = open_exception(
            site=count.site,
            code=VARIANCE_CODE,
            subject=line,
            summary=f"{count.number} {line.location.code} {line.item.sku}: a count variance waits for approval.",
            details={
                "count": count.number,
                "location": line.location.code,
                "item": line.item.sku,
                "lot": line.lot.number if line.lot_id else None,
                "pending_approval": True,
            },
            now=now,
        )
        counts["opened" if created else "already_open"] += 1
    decided = CycleCountLine.objects.filter(decided_at__isnull=False).exclude(
        status=CycleCountLine.Status.PENDING_APPROVAL
    )
    stale = governance_selectors.open_exception_ids(
        model=CycleCountLine, code=VARIANCE_CODE, object_ids=decided.values("pk")
    )
    counts["resolved"] = resolve_cases(
        case_ids=stale, note="The count variance was decided (approved and posted, or rejected).", now=now
    )
    return counts


def register_sweeps() -> None:
    register_sweep("count_variances_awaiting_approval", sweep_count_variances_awaiting_approval)
