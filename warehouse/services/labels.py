"""SSCCs of shipped packages: extension digit + GS1 company prefix (site rules) + serial from a sequence +
check digit (inventory.policy.barcodes.sscc)."""

from __future__ import annotations

from distribution_erp.db import atomic_with_retry
from distribution_erp.errors import NotFound, StateConflict
from governance import permissions
from governance.services import get_rule
from governance.services.sequences import next_document_number
from inventory.policy.barcodes import sscc as make_sscc
from warehouse.models import Package, Shipment

SEQUENCE = "SSCC"


def company_prefix(site_id: int) -> str:
    digits = get_rule("shipping.gs1_company_prefix_digits", site_id)
    number = get_rule("shipping.gs1_company_prefix", site_id)
    prefix = str(number).zfill(digits)
    if len(prefix) != digits:
        raise StateConflict(
            f"The GS1 company prefix {number} has more than {digits} digits: fix the site rules "
            "shipping.gs1_company_prefix / shipping.gs1_company_prefix_digits."
        )
    return prefix


@atomic_with_retry
def assign_package_ssccs(*, user, shipment: Shipment) -> list[Package]:
    """Give every package of ``shipment`` without one its SSCC (idempotent: a package keeps its SSCC). Returns
    the shipment's packages in order. Serials come from one gap-free sequence, so no SSCC is printed twice."""
    first = Shipment.objects.filter(pk=shipment.pk).first()
    if first is None or not permissions.can_see_site(user, first.site_id):
        raise NotFound("No such shipment.")
    permissions.require(user, "warehouse.execute", first.site_id, what="shipment")
    locked = Shipment.objects.select_for_update(no_key=True).get(pk=shipment.pk)
    packages = list(Package.objects.filter(shipment=locked).order_by("number").select_for_update(no_key=True))
    missing = [p for p in packages if not p.sscc]
    if missing:
        prefix = company_prefix(locked.site_id)
        extension = get_rule("shipping.sscc_extension_digit", locked.site_id)
        for package in missing:
            serial = int(next_document_number(SEQUENCE, width=1).rsplit("-", 1)[1])
            try:
                package.sscc = make_sscc(extension_digit=extension, company_prefix=prefix, serial=serial)
            except ValueError as exc:
                raise StateConflict(f"No SSCC left for this company prefix: {exc}.")
            package.save(update_fields=["sscc"])
    return packages
