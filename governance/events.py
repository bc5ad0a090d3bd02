"""Domain events for integrators (issue 14): the declared event types and the one way to write an event.

An event is an EVENT row of the transactional outbox (``governance.services.outbox.enqueue_event``), written by
the service that makes the change, in its transaction: a rolled-back change leaves no event. The payload is
an *envelope* built here (pure) around the data the owning app builds in its own small pure functions
(``orders/events.py``, ``warehouse/events.py``)::

    {"id": "<uuid4>", "type": "order.released", "occurred_at": "2026-01-05T10:00:00+00:00", "site": "DC1",
     "document": {"type": "sales_order", "id": 17, "number": "SO-000017"}, "data": {...}}

Events of one document share a ``document_key`` (``sales_order:17``); their order is the outbox id, which the
webhook deliveries keep per subscription (``governance.services.webhooks``) and the ``events/`` feed shows as
each event's ``sequence``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.utils import timezone

#: event type -> what it means (the subscription filters are checked against these keys)
EVENT_TYPES: dict[str, str] = {
    "order.created": "A sales order was created (draft).",
    "order.released": "A sales order was released for allocation.",
    "order.allocated": "Allocation reserved stock for an order (fully or partly: see status).",
    "order.backordered": "Allocation left an order's open lines backordered.",
    "order.shipped": "A shipment left with units of the order (status PARTIALLY_SHIPPED or SHIPPED).",
    "order.cancelled": "A sales order was cancelled.",
    "shipment.confirmed": "A shipment left the site, with its carrier and tracking number.",
    "shipment.tracking_corrected": "A shipped shipment's carrier or tracking number was corrected (old and new).",
    "receipt.confirmed": "Goods were received against a purchase order or transfer, with discrepancies.",
    "transfer.shipped": "A transfer order left its source site.",
    "transfer.received": "A transfer order was received at its destination.",
    "stock.level_changed": "A watched item's stock level at a site changed (the subscription names its SKUs).",
    "exception.opened": "An exception case was opened.",
    "exception.escalated": "An overdue exception case was escalated to the next role.",
}


def envelope(
    event_type: str,
    *,
    site_code: str | None,
    document_type: str,
    document_id: int,
    number: str,
    data: dict,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> dict:
    """Pure: the event body every subscriber gets (and the ``events/`` feed shows)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"undeclared event type {event_type!r}")
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": (occurred_at or timezone.now()).isoformat(),
        "site": site_code,
        "document": {"type": document_type, "id": document_id, "number": number},
        "data": data,
    }


def document_key(document_type: str, document_id: int) -> str:
    return f"{document_type}:{document_id}"


def emit(
    event_type: str,
    *,
    site,
    document_type: str,
    document_id: int,
    number: str,
    data: dict,
    occurred_at: datetime | None = None,
):
    """Write the event in the caller's transaction (the outbox refuses to run outside one). ``site``: a Site (or
    None for a network-wide event, which only enterprise admins' subscriptions get)."""
    from governance.services.outbox import enqueue_event

    payload = envelope(
        event_type,
        site_code=getattr(site, "code", None),
        document_type=document_type,
        document_id=document_id,
        number=number,
        data=data,
        occurred_at=occurred_at,
    )
    return enqueue_event(event_type, payload, site=site, document_key=document_key(document_type, document_id))


def exception_data(case) -> dict:
    """Pure: the data of an exception event."""
    return {
        "code": case.code.code,
        "status": case.status,
        "severity": case.severity,
        "owner_role": case.owner_role,
        "subject": case.subject_label,
        "summary": case.summary,
        "escalation_level": case.escalation_level,
        "opened_at": case.opened_at.isoformat() if case.opened_at else None,
        "due_at": case.due_at.isoformat() if case.due_at else None,
    }


def emit_exception(event_type: str, case):
    return emit(
        event_type,
        site=case.site,
        document_type="exception",
        document_id=case.pk,
        number=f"EXC-{case.pk}",
        data=exception_data(case),
    )
