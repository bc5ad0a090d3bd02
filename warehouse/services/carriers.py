"""Tracking numbers back to shipments through the shipment's carrier adapter (warehouse.carriers)."""

from __future__ import annotations

from core.db import atomic_with_retry
from core.errors import NotFound, StateConflict
from core.validation import field_error
from governance import permissions
from governance.services.history import set_history_user
from warehouse.carriers import adapter_for
from warehouse.events import emit_tracking_corrected
from warehouse.models import Shipment

from .outbound import confirm_shipment


def record_tracking(*, user, shipment: Shipment, tracking_number: str, carrier: str = "", correct: bool = False):
    """Write a typed or scanned tracking number to ``shipment``, cleaned by its carrier's adapter.

    A packed shipment is confirmed (stock leaves, orders record what shipped) with this carrier and number; a
    shipped one keeps its number unless ``correct`` is set, which replaces a mistyped number (history keeps the
    old one) and emits ``shipment.tracking_corrected``. Bad input is a field error and changes nothing."""
    carrier = (carrier or shipment.carrier or "").strip().upper()
    if not carrier:
        raise field_error("carrier", "Give the carrier.", "required")
    if len(carrier) > 40:
        raise field_error("carrier", "At most 40 characters.", "too_long")
    number = adapter_for(carrier).clean_tracking_number(tracking_number)
    current = Shipment.objects.filter(pk=shipment.pk).first()
    if current is None or not permissions.can_see_site(user, current.site_id):
        raise NotFound("No such shipment.")
    if current.status == Shipment.Status.SHIPPED and correct:
        return _correct_tracking(user=user, shipment=current, carrier=carrier, number=number)
    return confirm_shipment(user=user, shipment=current, carrier=carrier, tracking_number=number)


@atomic_with_retry
def _correct_tracking(*, user, shipment: Shipment, carrier: str, number: str) -> Shipment:
    permissions.require(user, "warehouse.execute", shipment.site_id, what="shipment")
    locked = Shipment.objects.select_for_update(no_key=True).get(pk=shipment.pk)
    if locked.status != Shipment.Status.SHIPPED:
        raise StateConflict(f"{locked.number} is {locked.status}: confirm it instead of correcting its tracking.")
    if (locked.carrier, locked.tracking_number) == (carrier, number):
        return locked
    previous_carrier, previous_number = locked.carrier, locked.tracking_number
    locked.carrier, locked.tracking_number = carrier, number
    set_history_user(locked, user)
    locked.save(update_fields=["carrier", "tracking_number", "updated_at"])
    emit_tracking_corrected(locked, previous_carrier=previous_carrier, previous_tracking_number=previous_number)
    return locked
