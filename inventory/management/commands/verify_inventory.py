"""Recompute every balance from the ledger and report each mismatch (exit status 1 if any)."""

from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError

from governance.models import Site
from inventory.models import Item, Location
from inventory.selectors import find_inventory_drift
from inventory.tasks import drift_site_ids

_ITEM = re.compile(r"\bitem=(\d+)")
_LOCATION = re.compile(r"\blocation=(\d+)")
_SITE = re.compile(r"\bsite=(\d+)")


class Command(BaseCommand):
    help = (
        "Check the inventory invariants: every quant equals the sum of its ledger moves, every stock level the "
        "sum of its site's quants, allocated the sum of open allocations, nothing negative. Prints each mismatch "
        "and exits with status 1 if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", metavar="CODE", help="only report mismatches of this site")

    def handle(self, *args, site=None, **options):
        only = None
        if site:
            only = Site.objects.filter(code=site).first()
            if only is None:
                raise CommandError(f"No site with code {site!r}.")
        drifts = find_inventory_drift()
        sites = drift_site_ids(drifts)
        if only is not None:
            pairs = [(d, s) for d, s in zip(drifts, sites, strict=True) if s == only.pk]
        else:
            pairs = list(zip(drifts, sites, strict=True))
        scope = f"site {only.code}" if only else "all sites"
        if not pairs:
            self.stdout.write(self.style.SUCCESS(f"Inventory consistent ({scope}): every balance equals the ledger."))
            return
        names = _names([d for d, _ in pairs])
        site_codes = dict(Site.objects.values_list("pk", "code"))
        for drift, site_id in pairs:
            where = site_codes.get(site_id, "?") if site_id else "no site"
            self.stdout.write(f"MISMATCH [{where}] {drift}{names(drift)}")
        raise CommandError(f"{len(pairs)} inventory mismatch(es) found ({scope}).", returncode=1)


def _names(drifts):
    """A function that adds readable SKU and location codes to a drift's numeric key."""
    keys = [d.key for d in drifts]
    item_ids = {int(m.group(1)) for k in keys if (m := _ITEM.search(k))}
    location_ids = {int(m.group(1)) for k in keys if (m := _LOCATION.search(k))}
    skus = dict(Item.objects.filter(pk__in=item_ids).values_list("pk", "sku"))
    locations = {loc.pk: str(loc) for loc in Location.objects.filter(pk__in=location_ids).select_related("site")}
    sites = dict(Site.objects.values_list("pk", "code"))

    def describe(drift) -> str:
        parts = []
        if m := _ITEM.search(drift.key):
            parts.append(skus.get(int(m.group(1)), f"item {m.group(1)}"))
        if m := _LOCATION.search(drift.key):
            parts.append(f"at {locations.get(int(m.group(1)), m.group(1))}")
        elif m := _SITE.search(drift.key):
            parts.append(f"at {sites.get(int(m.group(1)), m.group(1))}")
        return f"  ({' '.join(parts)})" if parts else ""

    return describe
