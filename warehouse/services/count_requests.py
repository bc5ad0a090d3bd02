"""Count requests (short picks, a supervisor's ask) feed the daily cycle count; counting the location closes
them. Inventory does not know this app: it asks the registered trigger source and sends ``location_counted``."""

from __future__ import annotations

from inventory.models import CycleCountLine
from inventory.services.counts_planning import TriggeredCount
from warehouse.models import CountRequest


def open_count_requests(site_id: int) -> list[TriggeredCount]:
    """The site's open count requests as triggers for the next daily count."""
    out = []
    for location_id, item_id, reason in (
        CountRequest.objects.filter(site_id=site_id, status=CountRequest.Status.OPEN)
        .order_by("requested_at", "pk")
        .values_list("location_id", "item_id", "reason")
    ):
        trigger = (
            CycleCountLine.Trigger.SHORT_PICK
            if reason.lower().startswith("short pick")
            else CycleCountLine.Trigger.REQUEST
        )
        out.append(TriggeredCount(location_id, item_id, trigger, reason))
    return out


def close_count_requests(*, location_id: int, **kwargs) -> int:
    """The location was counted: its open count requests are done (same transaction as the count), each
    change in the request's history."""
    from simple_history.utils import bulk_update_with_history

    requests = list(
        CountRequest.objects.select_for_update(no_key=True).filter(
            location_id=location_id, status=CountRequest.Status.OPEN
        )
    )
    for request in requests:
        request.status = CountRequest.Status.DONE
    if requests:
        bulk_update_with_history(
            requests, CountRequest, ["status"], default_change_reason="Location counted (cycle count)"
        )
    return len(requests)


def connect() -> None:
    from inventory.services.counts_planning import register_count_trigger_source
    from inventory.signals import location_counted

    register_count_trigger_source(open_count_requests)

    def _on_location_counted(sender, location_id, **kwargs):
        close_count_requests(location_id=location_id)

    location_counted.connect(_on_location_counted, dispatch_uid="warehouse.close_count_requests", weak=False)
