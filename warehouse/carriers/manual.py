"""The manual / LTL carrier: offline. Freight is quoted by the carrier, the paperwork is a printed bill of lading
(pieces, weight, SSCCs, consignee), and the tracking (PRO) number is typed or scanned when the truck leaves."""

from __future__ import annotations

import re

from django.template.loader import render_to_string

from core.validation import field_error

from . import CarrierAdapter, CarrierDocument, Rate, Tracking

TRACKING_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")


class ManualCarrier(CarrierAdapter):
    code = "MANUAL"
    name = "Manual / LTL (bill of lading, tracking typed or scanned)"

    def rate(self, shipment, packages) -> list[Rate]:
        weight = sum(p.weight_grams for p in packages)
        return [
            Rate(
                service="LTL",
                amount=None,
                note=f"Quoted by the carrier: {len(packages)} piece(s), {weight / 1000:.1f} kg.",
            )
        ]

    template = "warehouse/bill_of_lading.html"

    def bill_of_lading_context(self, shipment, packages) -> dict:
        lines = list(shipment.lines.select_related("item", "order", "lot"))
        return {
            "shipment": shipment,
            "packages": packages,
            "lines": lines,
            "weight_kg": sum(p.weight_grams for p in packages) / 1000,
            "units": sum(line.quantity for line in lines),
            "adapter": self,
        }

    def label(self, shipment, packages, *, request=None) -> CarrierDocument:
        """The bill of lading, a print-styled HTML page."""
        html = render_to_string(self.template, self.bill_of_lading_context(shipment, packages), request=request)
        return CarrierDocument(html, "text/html; charset=utf-8", f"bol-{shipment.number}.html")

    def track(self, shipment) -> Tracking:
        return Tracking(
            carrier=shipment.carrier or self.code,
            number=shipment.tracking_number,
            status=shipment.status,
            shipped_at=shipment.shipped_at,
        )

    def clean_tracking_number(self, raw: str) -> str:
        value = "".join(ch for ch in (raw or "") if ch.isprintable()).strip().upper().replace(" ", "")
        if not value:
            raise field_error("tracking_number", "Type or scan the tracking (PRO) number.", "required")
        if not TRACKING_PATTERN.match(value):
            raise field_error(
                "tracking_number",
                f"{value[:40]!r} is not a tracking number: 3 to 40 letters, digits and '-'.",
                "invalid",
            )
        return value
