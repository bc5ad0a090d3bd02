"""Domain events of orders' documents (sales orders and transfer orders): small pure payload builders and the
calls the services make in their transaction (``governance.events.emit`` writes the outbox row)."""

from __future__ import annotations

from governance.events import emit


def _iso(value):
    return value.isoformat() if value is not None else None


def order_line_data(line, sku: str) -> dict:
    """Pure: one sales order line as events show it (quantities in the item's base unit)."""
    return {
        "line_number": line.line_number,
        "item": sku,
        "quantity": line.quantity_base,
        "unit": line.unit,
        "allocated_quantity": line.allocated_quantity,
        "backordered_quantity": line.backordered_quantity,
        "picked_quantity": line.picked_quantity,
        "shipped_quantity": line.shipped_quantity,
    }


def order_data(order, lines: list, skus: dict[int, str], customer_code: str, **extra) -> dict:
    """Pure: a sales order event's data: its status, customer, dates and lines."""
    return {
        "status": order.status,
        "customer": customer_code,
        "channel": order.channel,
        "customer_reference": order.customer_reference,
        "priority": order.priority,
        "promised_date": _iso(order.promised_date),
        "carrier": order.carrier,
        "lines": [
            order_line_data(line, skus.get(line.item_id, "")) for line in sorted(lines, key=lambda x: x.line_number)
        ],
        **extra,
    }


def emit_order_event(event_type: str, order, *, lines: list | None = None, **extra) -> None:
    """Write the order's event (lines read fresh unless given; with their item SKUs). Items and the customer
    already loaded on the lines and the order are used as they are (no query for them)."""
    from inventory.models import Item
    from orders.models import Customer, SalesOrder, SalesOrderLine

    if lines is None:
        lines = list(SalesOrderLine.objects.filter(order_id=order.pk).select_related("item"))
    skus = {line.item_id: line.item.sku for line in lines if SalesOrderLine.item.is_cached(line)}
    missing = {line.item_id for line in lines} - set(skus)
    if missing:
        skus.update(Item.objects.filter(pk__in=missing).values_list("pk", "sku"))
    if SalesOrder.customer.is_cached(order):
        customer_code = order.customer.code
    else:
        customer_code = Customer.objects.filter(pk=order.customer_id).values_list("code", flat=True).first() or ""
    emit(
        event_type,
        site=order.site,
        document_type="sales_order",
        document_id=order.pk,
        number=order.number,
        data=order_data(order, lines, skus, customer_code, **extra),
    )


def transfer_data(transfer, lines: list, skus: dict[int, str], from_code: str, to_code: str) -> dict:
    """Pure: a transfer event's data."""
    return {
        "status": transfer.status,
        "from_site": from_code,
        "to_site": to_code,
        "shipped_at": _iso(transfer.shipped_at),
        "received_at": _iso(transfer.received_at),
        "lines": [
            {
                "line_number": line.line_number,
                "item": skus.get(line.item_id, ""),
                "quantity": line.quantity,
                "shipped_quantity": line.shipped_quantity,
                "received_quantity": line.received_quantity,
            }
            for line in sorted(lines, key=lambda x: x.line_number)
        ],
    }


def emit_transfer_event(event_type: str, transfer, *, site) -> None:
    """The transfer's event, named for ``site`` (the source when shipped, the destination when received)."""
    from governance.models import Site
    from inventory.models import Item
    from orders.models import TransferOrderLine

    lines = list(TransferOrderLine.objects.filter(transfer_id=transfer.pk))
    skus = dict(Item.objects.filter(pk__in={line.item_id for line in lines}).values_list("pk", "sku"))
    codes = dict(Site.objects.filter(pk__in=[transfer.from_site_id, transfer.to_site_id]).values_list("pk", "code"))
    emit(
        event_type,
        site=site,
        document_type="transfer_order",
        document_id=transfer.pk,
        number=transfer.number,
        data=transfer_data(transfer, lines, skus, codes[transfer.from_site_id], codes[transfer.to_site_id]),
    )
