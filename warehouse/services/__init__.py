"""Every write of the warehouse app."""

from .outbound import (
    confirm_pick,
    confirm_shipment,
    pack_wave,
    plan_wave,
    release_wave,
    sweep_late_shipment_risk,
)
from .putaway import confirm_putaway, create_putaway_task, suggest_location
from .receiving import inspect_receipt_line, receive

__all__ = [
    "confirm_pick",
    "confirm_shipment",
    "pack_wave",
    "plan_wave",
    "release_wave",
    "sweep_late_shipment_risk",
    "confirm_putaway",
    "create_putaway_task",
    "inspect_receipt_line",
    "receive",
    "suggest_location",
]
