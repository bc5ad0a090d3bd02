"""The scan screens' refused scans, recorded as adoption events (``warehouse.services.floor``): a check that refuses
what was scanned into a scan field (location, item, lot, PO) records one refused scan; an empty field or a typed
quantity is not a scan."""

from __future__ import annotations

from warehouse.models import FloorEvent
from warehouse.policy import scan
from warehouse.services.floor import record_refused_scan

P = FloorEvent.Process


def refused(
    request,
    result,
    *,
    site_id: int,
    process: str,
    field: str,
    scanned: str,
    expected: str = "",
    task_id: int | None = None,
    task_ref: str = "",
) -> None:
    """Record ``result`` (a ScanCheck) when it refused a non-empty scan."""
    value = scan.normalise(scanned or "")
    if result.ok or not value:
        return
    record_refused_scan(
        site_id=site_id,
        user=request.user,
        process=process,
        field=field,
        code="refused",
        expected=expected,
        scanned=value,
        detail=result.message,
        task_id=task_id,
        task_ref=task_ref,
        channel=FloorEvent.Channel.SCREEN,
    )
