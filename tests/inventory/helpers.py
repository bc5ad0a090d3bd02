"""Snapshots of the whole inventory state, to assert that a refused operation changed nothing."""

from __future__ import annotations

from governance.models import ApprovalRequest
from inventory.models import Adjustment, StockLevel, StockMove, StockQuant


def inventory_state() -> dict:
    """Ledger size and every quant and stock level (zero rows included), in a stable order."""
    return {
        "moves": StockMove.objects.count(),
        "quants": sorted(
            (q.item_id, q.location_id, q.lot_id or 0, q.status, q.quantity, q.reserved)
            for q in StockQuant.objects.all()
        ),
        "levels": sorted(
            (v.item_id, v.site_id, v.received, v.available, v.hold, v.damaged, v.in_transit, v.allocated)
            for v in StockLevel.objects.all()
        ),
        "adjustments": sorted(Adjustment.objects.values_list("pk", "status")),
        "approvals": sorted(ApprovalRequest.objects.values_list("pk", "status")),
    }


def quant_of(item, location, status="AVAILABLE", lot=None) -> tuple[int, int]:
    """(quantity, reserved) of one quant, (0, 0) when it does not exist."""
    q = StockQuant.objects.filter(item=item, location=location, status=status, lot=lot).first()
    return (q.quantity, q.reserved) if q else (0, 0)


def level_of(item, site) -> dict[str, int]:
    v = StockLevel.objects.filter(item=item, site=site).first()
    fields = ("received", "available", "hold", "damaged", "in_transit", "allocated")
    return {f: getattr(v, f) if v else 0 for f in fields}
