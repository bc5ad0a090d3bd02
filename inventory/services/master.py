"""Master data of the inventory app: items with units and substitutes, zones, locations."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.errors import StateConflict
from core.validation import field_error, full_clean_or_raise
from governance import permissions
from governance.models import Site
from governance.services.history import set_history_user
from inventory.models import Item, ItemSubstitute, ItemUnit, Location, Zone
from inventory.services.barcodes import set_item_barcodes

VIRTUAL_CODES = {
    Location.Kind.SUPPLIER: "V-SUPPLIER",
    Location.Kind.CUSTOMER: "V-CUSTOMER",
    Location.Kind.IN_TRANSIT: "V-IN-TRANSIT",
    Location.Kind.ADJUSTMENT: "V-ADJUSTMENT",
    Location.Kind.SCRAP: "V-SCRAP",
}
ITEM_FIELDS = (
    "description",
    "base_unit",
    "category",
    "storage_type",
    "standard_cost",
    "currency",
    "lot_tracked",
    "shelf_life_days",
    "abc_class",
    "requires_inspection",
    "weight_grams",
    "active",
)


def ensure_virtual_locations(site: Site) -> list[Location]:
    """Create the site's virtual locations (idempotent)."""
    out = []
    for kind, code in VIRTUAL_CODES.items():
        location, _ = Location.objects.get_or_create(site=site, code=code, defaults={"kind": kind})
        out.append(location)
    return out


def _set_units(item: Item, units: list[dict]) -> None:
    seen = {}
    for index, unit in enumerate(units):
        code = str(unit.get("code", "")).strip().upper()
        factor = unit.get("factor")
        if not code:
            raise field_error(f"units[{index}].code", "Every unit needs a code.", "required")
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise field_error(
                f"units[{index}].factor", "A unit factor is a whole number of base units, 1 or more.", "invalid"
            )
        if code in seen:
            raise field_error(f"units[{index}].code", f"Unit {code} is listed twice.", "duplicate")
        if code == item.base_unit and factor != 1:
            raise field_error(f"units[{index}].factor", f"The base unit {code} has factor 1.", "invalid")
        seen[code] = factor
    seen.setdefault(item.base_unit, 1)
    existing = {u.code: u for u in item.units.all()}
    for code, factor in seen.items():
        if code in existing:
            if existing[code].factor != factor:
                existing[code].factor = factor
                existing[code].save(update_fields=["factor"])
        else:
            ItemUnit.objects.create(item=item, code=code, factor=factor)
    for code, unit in existing.items():
        if code not in seen:
            unit.delete()


def _set_substitutes(item: Item, skus: list[str]) -> None:
    subs = []
    for index, sku in enumerate(skus):
        sub = Item.objects.filter(sku=sku).first()
        if sub is None:
            raise field_error(f"substitutes[{index}]", f"No item {sku!r}.", "does_not_exist")
        if sub.pk == item.pk:
            raise field_error(f"substitutes[{index}]", "An item cannot substitute itself.", "self")
        if sub.base_unit != item.base_unit:
            raise field_error(
                f"substitutes[{index}]", f"{sku} is counted in {sub.base_unit}, not {item.base_unit}.", "unit_mismatch"
            )
        subs.append(sub)
    if len({s.pk for s in subs}) != len(subs):
        raise field_error("substitutes", "A substitute is listed twice.", "duplicate")
    ItemSubstitute.objects.filter(item=item).delete()
    ItemSubstitute.objects.bulk_create(
        [ItemSubstitute(item=item, substitute=s, preference=i + 1) for i, s in enumerate(subs)]
    )


@transaction.atomic
def create_item(
    *,
    user,
    sku: str,
    description: str,
    units: list[dict] | None = None,
    substitutes: list[str] | None = None,
    barcodes: list[dict] | None = None,
    **fields,
) -> Item:
    if user is not None:
        permissions.require_master_data(user)
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "Unknown field.", "unknown")
    item = Item(sku=sku, description=description, **fields)
    full_clean_or_raise(item)
    set_history_user(item, user)
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        raise field_error("sku", f"An item with SKU {sku} exists already.", "unique")
    _set_units(item, units or [])
    if substitutes:
        _set_substitutes(item, substitutes)
    if barcodes:
        set_item_barcodes(user=user, item=item, barcodes=barcodes)
    return item


@transaction.atomic
def update_item(
    *,
    user,
    item: Item,
    units: list[dict] | None = None,
    substitutes: list[str] | None = None,
    barcodes: list[dict] | None = None,
    **changes,
) -> Item:
    permissions.require_master_data(user)
    locked = Item.objects.select_for_update(no_key=True).get(pk=item.pk)
    for field, value in changes.items():
        if field not in ITEM_FIELDS:
            raise field_error(field, "This field cannot be changed.", "read_only")
        if field == "lot_tracked" and value != locked.lot_tracked and locked.quants.filter(quantity__gt=0).exists():
            raise StateConflict(f"{locked.sku} has stock; lot tracking cannot change while stock is on hand.")
        if field == "base_unit" and value != locked.base_unit and locked.moves.exists():
            raise StateConflict(f"{locked.sku} has ledger moves; its base unit cannot change.")
        setattr(locked, field, value)
    full_clean_or_raise(locked)
    set_history_user(locked, user)
    locked.save()
    if units is not None:
        _set_units(locked, units)
    if substitutes is not None:
        _set_substitutes(locked, substitutes)
    if barcodes is not None:
        set_item_barcodes(user=user, item=locked, barcodes=barcodes)
    return locked


@transaction.atomic
def create_zone(*, user, site: Site, code: str, name: str) -> Zone:
    if user is not None:
        permissions.require(user, "location.manage", site, what="site")
    zone = Zone(site=site, code=code, name=name)
    full_clean_or_raise(zone)
    set_history_user(zone, user)
    zone.save()
    return zone


@transaction.atomic
def create_location(
    *,
    user,
    site: Site,
    code: str,
    kind: str,
    zone: Zone | None = None,
    capacity: int | None = None,
    aisle: str = "",
    active: bool = True,
) -> Location:
    if user is not None:
        permissions.require(user, "location.manage", site, what="site")
    if kind in Location.VIRTUAL_KINDS:
        raise field_error("kind", "Virtual locations are created with the site.", "virtual_kind")
    if zone is not None and zone.site_id != site.pk:
        raise field_error("zone", f"Zone {zone.code} belongs to another site.", "other_site")
    location = Location(site=site, code=code, kind=kind, zone=zone, capacity=capacity, aisle=aisle, active=active)
    full_clean_or_raise(location)
    set_history_user(location, user)
    try:
        with transaction.atomic():
            location.save()
    except IntegrityError:
        # another request created the code since the check above (it has committed now): the check's answer
        full_clean_or_raise(location)
        raise field_error("code", f"{site.code} already has a location {code}.", "unique")
    return location


#: what update_location may change (the site and the code are the location's natural key)
LOCATION_FIELDS = ("kind", "zone", "aisle", "capacity", "active")


@transaction.atomic
def update_location(*, user, location: Location, **changes) -> Location:
    """Change a physical location's kind, zone, aisle, capacity or active flag (site admins and supervisors, as
    :func:`create_location`); virtual locations belong to the site and are not changed. Every change is in
    history."""
    locked = Location.objects.select_for_update(no_key=True).select_related("site").get(pk=location.pk)
    if user is not None:
        permissions.require(user, "location.manage", locked.site, what="site")
    if locked.is_virtual:
        raise StateConflict(f"{locked} is a virtual location of the site; it cannot be changed.")
    for name, value in changes.items():
        if name not in LOCATION_FIELDS:
            raise field_error(name, "This field cannot be changed.", "read_only")
        if name == "kind" and value in Location.VIRTUAL_KINDS:
            raise field_error("kind", "A location cannot become a virtual one.", "virtual_kind")
        if name == "zone" and value is not None and value.site_id != locked.site_id:
            raise field_error("zone", f"Zone {value.code} belongs to another site.", "other_site")
        setattr(locked, name, value)
    full_clean_or_raise(locked)
    set_history_user(locked, user)
    locked.save()
    return locked


# --- bulk loading (demo data, data migration) -------------------------------------------------------------------


def _history_user(user):
    return user if getattr(user, "is_authenticated", False) else None


@transaction.atomic
def bulk_add_locations(locations: list[Location], *, user) -> int:
    """Create many new locations at once, with history: each is validated (fields, not uniqueness, which the
    table's constraints enforce). For loaders of many rows (the demo, a cutover); pages and the API use
    :func:`create_location`. Returns how many were created."""
    from simple_history.utils import bulk_create_with_history

    for location in locations:
        location.full_clean(exclude=["site", "zone"], validate_unique=False, validate_constraints=False)
    if locations:
        bulk_create_with_history(locations, Location, batch_size=1000, default_user=_history_user(user))
    return len(locations)


@transaction.atomic
def bulk_add_items(items: list[Item], *, user, units=(), substitutes=(), lots=()) -> dict[str, int]:
    """Create many new items at once with history, then units (``ItemUnit`` with ``item_id`` set), substitutes
    and lots, each list possibly about existing items. Validated like :func:`bulk_add_locations`."""
    from simple_history.utils import bulk_create_with_history

    from inventory.models import Lot

    who = _history_user(user)
    for item in items:
        item.full_clean(validate_unique=False, validate_constraints=False)
    if items:
        bulk_create_with_history(items, Item, batch_size=1000, default_user=who)
    units = list(units)
    if units:
        bulk_create_with_history(units, ItemUnit, batch_size=2000, default_user=who)
    substitutes = list(substitutes)
    ItemSubstitute.objects.bulk_create(substitutes)
    lots = list(lots)
    for lot in lots:
        if not isinstance(lot, Lot):
            raise TypeError("lots must be Lot instances")
    Lot.objects.bulk_create(lots)
    return {"items": len(items), "units": len(units), "substitutes": len(substitutes), "lots": len(lots)}
