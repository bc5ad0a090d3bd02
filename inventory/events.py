"""Domain events of the stock ledger: ``stock.level_changed`` for the items some webhook subscription watches
(``WebhookSubscription.items``). The ledger calls :func:`emit_level_changes` in its transaction with the stock
levels it wrote, so the event commits (or rolls back) with the moves; items nobody watches cost no query."""

from __future__ import annotations

from governance.events import emit


def level_data(level, sku: str) -> dict:
    """Pure: the level after the change (absolute figures, so a receiver may apply events at least once)."""
    on_hand = level.received + level.available + level.hold + level.damaged
    return {
        "item": sku,
        "on_hand": on_hand,
        "received": level.received,
        "available": level.available,
        "allocated": level.allocated,
        "atp": level.available - level.allocated,
        "hold": level.hold,
        "damaged": level.damaged,
        "in_transit": level.in_transit,
    }


def emit_level_changes(levels) -> int:
    """One ``stock.level_changed`` event per written level of a watched item; returns how many."""
    from governance.models import Site
    from governance.services.webhooks import watched_skus
    from inventory.models import Item

    watched = watched_skus()
    if not watched or not levels:
        return 0
    skus = dict(Item.objects.filter(pk__in={lv.item_id for lv in levels}, sku__in=watched).values_list("pk", "sku"))
    mine = [lv for lv in levels if lv.item_id in skus]
    if not mine:
        return 0
    sites = Site.objects.in_bulk({lv.site_id for lv in mine})
    for level in sorted(mine, key=lambda lv: lv.pk):
        site = sites[level.site_id]
        emit(
            "stock.level_changed",
            site=site,
            document_type="stock_level",
            document_id=level.pk,
            number=f"{skus[level.item_id]}@{site.code}",
            data=level_data(level, skus[level.item_id]),
        )
    return len(mine)
