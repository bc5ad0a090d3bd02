"""SSCCs of shipped packages: extension digit + GS1 company prefix (site rules) + serial from a sequence +
check digit (inventory.policy.barcodes.sscc).

A package gets its SSCC when it is packed (``warehouse.services.outbound.pack_wave`` calls :func:`new_ssccs` in
its transaction), so printing a packing slip or labels only reads. Packages packed before that rule (older data)
get theirs when the shipment is confirmed (:func:`assign_package_ssccs`)."""

from __future__ import annotations

from core.db import atomic_with_retry
from core.errors import NotFound, StateConflict
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


def new_ssccs(site_id: int, count: int) -> list[str]:
    """``count`` new SSCCs for packages of ``site_id``: serials from one gap-free sequence (its row lock lasts
    until the caller's transaction ends, so no SSCC is given twice). Must run in the transaction that saves
    the packages."""
    if count <= 0:
        return []
    prefix = company_prefix(site_id)
    extension = get_rule("shipping.sscc_extension_digit", site_id)
    codes = []
    for _ in range(count):
        serial = int(next_document_number(SEQUENCE, width=1).rsplit("-", 1)[1])
        try:
            codes.append(make_sscc(extension_digit=extension, company_prefix=prefix, serial=serial))
        except ValueError as exc:
            raise StateConflict(f"No SSCC left for this company prefix: {exc}.")
    return codes


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
    for package, code in zip(missing, new_ssccs(locked.site_id, len(missing)), strict=True):
        package.sscc = code
        package.save(update_fields=["sscc"])
    return packages
