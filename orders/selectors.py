"""Every non-trivial read of the orders app."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from governance import permissions
from governance.models import Site
from inventory.models import Item, StockLevel
from orders.models import Allocation, Customer, SalesOrder


def orders_for(user) -> QuerySet[SalesOrder]:
    """Orders owned by the user's sites, or allocated at one of them."""
    qs = SalesOrder.objects.select_related("customer", "site", "ship_from")
    ids = permissions.site_ids_for(user)
    if ids is None:
        return qs
    allocated_here = Allocation.objects.filter(line__order=OuterRef("pk"), site_id__in=ids)
    return qs.filter(Q(site_id__in=ids) | Exists(allocated_here))


def customers_for(user) -> QuerySet[Customer]:
    """Customer master data is enterprise-wide: every signed-in user may read it."""
    return Customer.objects.select_related("home_site")


def available_to_promise(*, user, item: Item, quantity: int, site: Site | None = None) -> list[dict]:
    """Per visible site: what can be promised now (available less allocated) and whether ``quantity`` fits."""
    sites = permissions.visible_sites(user).filter(active=True)
    if site is not None:
        sites = sites.filter(pk=site.pk)
    levels = {lv.site_id: lv for lv in StockLevel.objects.filter(item=item, site__in=sites)}
    out = []
    for s in sites.order_by("code"):
        lv = levels.get(s.pk)
        available = lv.available if lv else 0
        allocated = lv.allocated if lv else 0
        atp = max(available - allocated, 0)
        out.append(
            {
                "site": s.code,
                "available": available,
                "allocated": allocated,
                "available_to_promise": atp,
                "can_promise_now": atp >= quantity,
            }
        )
    return out
