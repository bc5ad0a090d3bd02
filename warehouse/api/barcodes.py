"""``barcodes/lookup/?code=``: what a scanned code is. Items by GTIN (of the item or of a unit: case, pallet)
or SKU, locations of the caller's sites by code, lots by number, packages of the caller's sites by SSCC, and a
GS1-128 label (bracketed, or with FNC1/GS separators) parsed into its application identifiers."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.validation import field_error
from governance import permissions
from inventory.policy.barcodes import display_gtin
from inventory.selectors import resolve_code
from warehouse.models import Package


def _gs1(label) -> dict | None:
    if label is None:
        return None
    return {
        "human_readable": label.human_readable(),
        "elements": [{"ai": ai, "value": value} for ai, value in label.elements],
        "gtin": label.gtin or None,
        "content_gtin": label.content_gtin or None,
        "sscc": label.sscc or None,
        "lot": label.lot or None,
        "serial": label.serial or None,
        "expiry_date": label.expiry.isoformat() if label.expiry else None,
        "best_before_date": label.best_before.isoformat() if label.best_before else None,
        "production_date": label.production_date.isoformat() if label.production_date else None,
        "count": label.count,
    }


def lookup(user, code: str) -> dict:
    """The lookup's answer; a field error for a malformed GS1 label, NotFound when nothing has the code."""
    found = resolve_code(user, code)
    if found.error:
        raise field_error("code", found.error, "invalid")
    matches = []
    for item, unit, gtin in found.items:
        matches.append(
            {
                "type": "item",
                "sku": item.sku,
                "description": item.description,
                "unit": unit.code if unit else item.base_unit,
                "factor": unit.factor if unit else 1,
                "gtin": gtin or None,
                "gtin_display": display_gtin(gtin) if gtin else None,
                "matched_by": "gtin" if gtin else "sku",
            }
        )
    for location in found.locations:
        matches.append(
            {
                "type": "location",
                "site": location.site.code,
                "code": location.code,
                "kind": location.kind,
                "zone": location.zone.code if location.zone_id else None,
            }
        )
    for lot in found.lots:
        matches.append(
            {
                "type": "lot",
                "item": lot.item.sku,
                "number": lot.number,
                "expiry_date": lot.expiry_date.isoformat() if lot.expiry_date else None,
            }
        )
    sscc = found.gs1.sscc if found.gs1 is not None else (code if len(code) == 18 and code.isdigit() else "")
    if sscc:
        packages = permissions.restrict(
            Package.objects.filter(sscc=sscc).select_related("shipment__site"), user, site_field="shipment__site"
        )
        for package in packages:
            matches.append(
                {
                    "type": "package",
                    "sscc": package.sscc,
                    "shipment": package.shipment.number,
                    "shipment_id": package.shipment_id,
                    "site": package.shipment.site.code,
                    "number": package.number,
                    "status": package.shipment.status,
                }
            )
    if not matches and found.gs1 is None:
        raise NotFound(f"Nothing you can see has the code {found.code!r}.")
    return {"code": found.code, "gs1": _gs1(found.gs1), "matches": matches}


LookupAnswer = inline_serializer(
    "BarcodeLookup",
    {
        "code": serializers.CharField(),
        "gs1": serializers.DictField(allow_null=True, help_text="The parsed GS1 label, when the code is one"),
        "matches": serializers.ListField(
            child=serializers.DictField(), help_text="type item, location, lot or package, with its keys"
        ),
    },
)


class BarcodeLookupView(APIView):
    """Resolve a scanned code. Another site's location or package is never found."""

    api_scope = "warehouse"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "code", str, required=True, description="The scanned text: GTIN, SKU, location, lot, SSCC, GS1-128"
            )
        ],
        responses={200: LookupAnswer},
        operation_id="barcodes_lookup",
    )
    def get(self, request):
        code = request.query_params.get("code", "")
        if len(code) > 200:
            raise field_error("code", "At most 200 characters.", "too_long")
        return Response(lookup(request.user, code))
