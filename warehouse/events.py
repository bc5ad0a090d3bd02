"""Domain events of the warehouse's documents (shipments, receipts): small pure payload builders and the calls
its services make in their transaction (``governance.events.emit`` writes the outbox row)."""

from __future__ import annotations

from governance.events import emit


def shipment_data(shipment, rows: list[dict]) -> dict:
    """Pure: a confirmed shipment: carrier, tracking and what left, per order line. ``rows``: dicts with
    order, line_number, item, lot, quantity."""
    return {
        "status": shipment.status,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "customer": shipment.customer_code,
        "shipped_at": shipment.shipped_at.isoformat() if shipment.shipped_at else None,
        "orders": sorted({row["order"] for row in rows}),
        "lines": rows,
    }


def receipt_data(receipt, rows: list[dict], discrepancies: list[dict], source: dict) -> dict:
    """Pure: a confirmed receipt with its discrepancies (code, item, expected, actual, detail)."""
    return {
        **source,
        "final": receipt.final,
        "received_at": receipt.received_at.isoformat() if receipt.received_at else None,
        "lines": rows,
        "discrepancies": discrepancies,
    }


def emit_shipment_confirmed(shipment) -> None:
    from warehouse.models import ShipmentLine

    rows = [
        {"order": order, "line_number": line_number, "item": sku, "lot": lot or None, "quantity": quantity}
        for order, line_number, sku, lot, quantity in ShipmentLine.objects.filter(shipment_id=shipment.pk)
        .order_by("order__number", "order_line__line_number", "id")
        .values_list("order__number", "order_line__line_number", "item__sku", "lot__number", "quantity")
    ]
    emit(
        "shipment.confirmed",
        site=shipment.site,
        document_type="shipment",
        document_id=shipment.pk,
        number=shipment.number,
        data=shipment_data(shipment, rows),
    )


def tracking_correction_data(shipment, *, previous_carrier: str, previous_tracking_number: str) -> dict:
    """Pure: a shipped shipment's tracking as it is now and as it was before the correction."""
    return {
        "status": shipment.status,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "previous_carrier": previous_carrier,
        "previous_tracking_number": previous_tracking_number,
        "customer": shipment.customer_code,
        "shipped_at": shipment.shipped_at.isoformat() if shipment.shipped_at else None,
    }


def emit_tracking_corrected(shipment, *, previous_carrier: str, previous_tracking_number: str) -> None:
    emit(
        "shipment.tracking_corrected",
        site=shipment.site,
        document_type="shipment",
        document_id=shipment.pk,
        number=shipment.number,
        data=tracking_correction_data(
            shipment, previous_carrier=previous_carrier, previous_tracking_number=previous_tracking_number
        ),
    )


def emit_receipt_confirmed(receipt, discrepancies: list) -> None:
    """``discrepancies``: the receipt's Discrepancy rows (saved or not)."""
    from inventory.models import Item
    from warehouse.models import ReceiptLine

    rows = [
        {"item": sku, "lot": lot or None, "quantity": quantity, "damaged_quantity": damaged, "status": status}
        for sku, lot, quantity, damaged, status in ReceiptLine.objects.filter(receipt_id=receipt.pk)
        .order_by("id")
        .values_list("item__sku", "lot__number", "quantity", "damaged_quantity", "landed_status")
    ]
    skus = dict(Item.objects.filter(pk__in={d.item_id for d in discrepancies if d.item_id}).values_list("pk", "sku"))
    found = [
        {
            "code": d.code,
            "item": skus.get(d.item_id),
            "expected": d.expected,
            "actual": d.actual,
            "detail": d.detail,
        }
        for d in discrepancies
    ]
    if receipt.purchase_order_id:
        source = {"purchase_order": receipt.purchase_order.number}
    else:
        source = {"transfer_order": receipt.transfer_order.number if receipt.transfer_order_id else None}
    emit(
        "receipt.confirmed",
        site=receipt.site,
        document_type="receipt",
        document_id=receipt.pk,
        number=receipt.number,
        data=receipt_data(receipt, rows, found, source),
    )
