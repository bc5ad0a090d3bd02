"""Barcodes of items and their units (GTIN-8/12/13/14), validated by :mod:`inventory.policy.barcodes`."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.validation import field_error
from governance import permissions
from governance.services.history import set_history_user
from inventory.models import Item, ItemBarcode, ItemUnit
from inventory.policy.barcodes import clean_gtin, display_gtin


def _clean_entries(item: Item, barcodes: list[dict], *, field: str = "barcodes") -> list[tuple[str, ItemUnit | None]]:
    """Each ``{gtin, unit}`` as (GTIN-14, unit or None for the base unit), or a field error naming the entry
    (``barcodes[2].gtin``; with ``field=""`` a single entry's ``gtin`` / ``unit``)."""

    def name(index: int, part: str) -> str:
        return f"{field}[{index}].{part}" if field else part

    units = {u.code: u for u in ItemUnit.objects.filter(item=item)}
    out: list[tuple[str, ItemUnit | None]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(barcodes):
        result = clean_gtin(str(entry.get("gtin") or ""))
        if not result.ok:
            raise field_error(name(index, "gtin"), result.error, result.code)
        if result.gtin14 in seen:
            raise field_error(name(index, "gtin"), f"{display_gtin(result.gtin14)} is listed twice.", "duplicate")
        seen[result.gtin14] = index
        code = str(entry.get("unit") or "").strip().upper()
        unit = None
        if code and code != item.base_unit:
            unit = units.get(code)
            if unit is None:
                known = ", ".join(sorted({item.base_unit, *units}))
                raise field_error(
                    name(index, "unit"), f"{item.sku} has no unit {code}; known units: {known}.", "unknown_unit"
                )
        out.append((result.gtin14, unit))
    taken = dict(ItemBarcode.objects.filter(gtin__in=seen).exclude(item=item).values_list("gtin", "item__sku"))
    for gtin, sku in taken.items():
        raise field_error(
            name(seen[gtin], "gtin"), f"{display_gtin(gtin)} is already the barcode of item {sku}.", "unique"
        )
    return out


def set_item_barcodes(*, user, item: Item, barcodes: list[dict]) -> list[ItemBarcode]:
    """Replace ``item``'s barcodes with ``barcodes`` (``[{gtin, unit}]``, unit empty for the base unit).
    Runs inside the caller's transaction (create_item / update_item lock the item first)."""
    entries = _clean_entries(item, barcodes)
    existing = {b.gtin: b for b in ItemBarcode.objects.filter(item=item)}
    wanted = {gtin: unit for gtin, unit in entries}
    for gtin, barcode in existing.items():
        if gtin not in wanted:
            set_history_user(barcode, user)
            barcode.delete()
    out = []
    for gtin, unit in entries:
        barcode = existing.get(gtin)
        if barcode is None:
            barcode = ItemBarcode(item=item, unit=unit, gtin=gtin)
        elif barcode.unit_id == (unit.pk if unit else None):
            out.append(barcode)
            continue
        barcode.unit = unit
        set_history_user(barcode, user)
        try:
            with transaction.atomic():
                barcode.save()
        except IntegrityError:  # another item took the code since the check above
            raise field_error("barcodes", f"{display_gtin(gtin)} is already the barcode of another item.", "unique")
        out.append(barcode)
    return out


@transaction.atomic
def add_item_barcode(*, user, item: Item, gtin: str, unit: str = "") -> ItemBarcode:
    """Give ``item`` (or its ``unit``) one more barcode."""
    permissions.require_master_data(user)
    locked = Item.objects.select_for_update(no_key=True).get(pk=item.pk)
    ((gtin14, unit_row),) = _clean_entries(locked, [{"gtin": gtin, "unit": unit}], field="")
    if ItemBarcode.objects.filter(item=locked, gtin=gtin14).exists():
        raise field_error("gtin", f"{display_gtin(gtin14)} is already a barcode of {locked.sku}.", "unique")
    barcode = ItemBarcode(item=locked, unit=unit_row, gtin=gtin14)
    set_history_user(barcode, user)
    try:
        with transaction.atomic():
            barcode.save()
    except IntegrityError:
        raise field_error("gtin", f"{display_gtin(gtin14)} is already the barcode of another item.", "unique")
    return barcode


@transaction.atomic
def remove_item_barcode(*, user, barcode: ItemBarcode) -> None:
    permissions.require_master_data(user)
    Item.objects.select_for_update(no_key=True).get(pk=barcode.item_id)
    set_history_user(barcode, user)
    ItemBarcode.objects.filter(pk=barcode.pk).delete()
