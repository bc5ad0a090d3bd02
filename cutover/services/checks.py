"""The checks and writes of each import kind, used by the dry run and the post alike.

Master data (items, locations and zones, customers, suppliers, site rules, putaway rules, replenishment policies
and pick-face min/max) goes row by row through the owner's own create service (inventory.services.create_item/
create_zone/create_location, orders.services create_customer/create_supplier/create_policy/
create_pick_face_policy, warehouse.services.putaway.create_putaway_rule), each row in a savepoint: the dry run
rolls everything back, the post keeps it. Opening balances are checked set-wise (100,000 rows in seconds) with the
ledger's rules: a stock location of the site, active, with room; units converted by
inventory.units.to_base_quantity; lots as inventory.services.resolve_lot decides them (lot exactly for lot-tracked
items, an existing lot's expiry must match, a new lot of an item with shelf life needs an expiry); then posted as
OPENING moves through inventory.services.post_moves. In-flight documents: see :mod:`cutover.services.documents`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from core.errors import DomainError, ValidationFailed
from governance.models import Site
from governance.services.rules import set_rule_value
from inventory.models import InventoryStatus, Item, Location, Lot, StockMove, StockQuant, Zone
from inventory.services import MoveLine, create_item, create_location, create_zone, post_moves, virtual_location
from inventory.services.master import bulk_add_items
from inventory.units import to_base_quantity
from orders.models import Supplier
from orders.services.customers import create_customer
from orders.services.purchasing import create_supplier
from orders.services.replenishment import create_pick_face_policy, create_policy
from warehouse.services.putaway import create_putaway_rule

from ..columns import KEYS, CellError, convert_row


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    code: str
    message: str


@dataclass
class Outcome:
    errors: list[RowError] = field(default_factory=list)
    valid_rows: int = 0
    posted_rows: int = 0


class _Rollback(Exception):
    pass


Progress = Callable[[int], None]
FIELD_ROOT = re.compile(r"^([a-z_]+)")


def errors_of(row: int, exc: DomainError, rename: dict[str, str] | None = None) -> list[RowError]:
    """A service's refusal as row errors, its field names turned into the file's column names."""
    found = exc.errors or [{"field": exc.field or "", "code": exc.code, "message": exc.message}]
    out = []
    for err in found:
        name = str(err.get("field") or "")
        match = FIELD_ROOT.match(name)
        column = match.group(1) if match and name != "non_field_errors" else ""
        column = (rename or {}).get(column, column)
        out.append(
            RowError(row, column, str(err.get("code") or exc.code), str(err.get("message") or exc.message)[:500])
        )
    return out


def _cell_errors(row: int, errors: Iterable[CellError]) -> list[RowError]:
    return [RowError(row, e.column, e.code, e.message) for e in errors]


# --- master data: through the owners' services, row by row ------------------------------------------------------


def _item_row(*, user, site: Site, values: dict) -> None:
    fields = {k: v for k, v in values.items() if k not in ("sku", "description", "units", "barcodes")}
    if "base_unit" in fields:
        fields["base_unit"] = fields["base_unit"].upper()
    if "abc_class" in fields:
        fields["abc_class"] = fields["abc_class"].upper()
    create_item(
        user=user,
        sku=values["sku"],
        description=values["description"],
        units=values.get("units") or [],
        barcodes=values.get("barcodes") or None,
        **fields,
    )


def _location_row(*, user, site: Site, values: dict) -> None:
    zone = None
    if values.get("zone"):
        zone = Zone.objects.filter(site=site, code=values["zone"]).first()
        if zone is None:
            zone = create_zone(
                user=user, site=site, code=values["zone"], name=values.get("zone_name") or values["zone"]
            )
    create_location(
        user=user,
        site=site,
        code=values["code"],
        kind=values["kind"].upper(),
        zone=zone,
        capacity=values.get("capacity"),
        aisle=values.get("aisle", ""),
        active=values.get("active", True),
    )


def _customer_row(*, user, site: Site, values: dict) -> None:
    fields = {k: v for k, v in values.items() if k not in ("code", "name")}
    if "home_site" in fields:
        home = Site.objects.filter(code=fields["home_site"]).first()
        if home is None:
            raise ValidationFailed(
                "unknown site",
                errors=[
                    {"field": "home_site", "code": "does_not_exist", "message": f"No site {fields['home_site']!r}."}
                ],
            )
        fields["home_site"] = home
    create_customer(user=user, code=values["code"], name=values["name"], **fields)


def _supplier_row(*, user, site: Site, values: dict) -> None:
    fields = {k: v for k, v in values.items() if k not in ("code", "name")}
    create_supplier(user=user, code=values["code"], name=values["name"], **fields)


def _rule_row(*, user, site: Site, values: dict) -> None:
    """A local override through set_rule_value: refused for enterprise-standardized rules and values out of
    bounds; an override of a control rule becomes a pending RULE_CHANGE that a second person approves."""
    set_rule_value(
        user=user, key=values["key"], value=values["value"], reason=values.get("reason") or "Cutover import", site=site
    )


def _putaway_rule_row(*, user, site: Site, values: dict) -> None:
    """A putaway rule through warehouse.services.putaway.create_putaway_rule (zone and item resolved here)."""
    errors = []
    zone = item = None
    if values.get("zone"):
        zone = Zone.objects.filter(site=site, code=values["zone"]).first()
        if zone is None:
            errors.append(
                {
                    "field": "zone",
                    "code": "does_not_exist",
                    "message": f"Site {site.code} has no zone {values['zone']!r}.",
                }
            )
    if values.get("sku"):
        item = Item.objects.filter(sku=values["sku"]).first()
        if item is None:
            errors.append({"field": "sku", "code": "does_not_exist", "message": f"No item {values['sku']!r}."})
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    create_putaway_rule(
        user=user,
        site=site,
        priority=values.get("priority", 100),
        item=item,
        category=values.get("category", ""),
        storage_type=values.get("storage_type", ""),
        abc_class=values.get("abc_class", ""),
        zone=zone,
        location_kinds=(values.get("location_kinds") or "PICK;STORAGE").replace(";", ","),
        allow_mixed_lots=values.get("allow_mixed_lots", False),
        active=values.get("active", True),
    )


#: the columns of an item's replenishment policy that a pick face's min/max does not have
ITEM_POLICY_ONLY = ("method", "service_level", "review_days", "lead_time_days", "pack_multiple", "min_order_quantity")


def _replenishment_row(*, user, site: Site, values: dict) -> None:
    """A pick face's min/max (``location`` given) through orders' create_pick_face_policy, else the item's policy
    at the site through create_policy (one per item and site)."""
    errors = []
    item = Item.objects.filter(sku=values["sku"]).first()
    if item is None:
        errors.append({"field": "sku", "code": "does_not_exist", "message": f"No item {values['sku']!r}."})
    elif not item.active:
        errors.append({"field": "sku", "code": "inactive", "message": f"{item.sku} is inactive."})
    if values.get("location"):
        location = Location.objects.filter(site=site, code=values["location"]).first()
        if location is None:
            errors.append(
                {
                    "field": "location",
                    "code": "does_not_exist",
                    "message": f"Site {site.code} has no location {values['location']!r}.",
                }
            )
        for name in [*ITEM_POLICY_ONLY, "supplier"]:
            if name in values:
                errors.append(
                    {
                        "field": name,
                        "code": "not_for_pick_face",
                        "message": f"{name} is for an item's policy; a pick face has min and max only.",
                    }
                )
        if errors:
            raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
        create_pick_face_policy(
            user=user,
            location=location,
            item=item,
            min_quantity=values.get("min_quantity", 0),
            max_quantity=values["max_quantity"],
            active=values.get("active", True),
        )
        return
    fields = {
        name: values[name] for name in (*ITEM_POLICY_ONLY, "min_quantity", "max_quantity", "active") if name in values
    }
    if "method" in fields:
        fields["method"] = fields["method"].upper()
    if values.get("supplier"):
        supplier = Supplier.objects.filter(code=values["supplier"]).first()
        if supplier is None:
            errors.append(
                {"field": "supplier", "code": "does_not_exist", "message": f"No supplier {values['supplier']!r}."}
            )
        fields["supplier"] = supplier
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    create_policy(user=user, site=site, item=item, **fields)


MASTER = {
    "ITEMS": _item_row,
    "LOCATIONS": _location_row,
    "CUSTOMERS": _customer_row,
    "SUPPLIERS": _supplier_row,
    "SITE_RULES": _rule_row,
    "PUTAWAY_RULES": _putaway_rule_row,
    "REPLENISHMENT_POLICIES": _replenishment_row,
}
#: a service's field name -> the file's column, per kind (a rule override refused for its site: the key's fault)
RENAME = {
    "SITE_RULES": {"site": "key"},
    "PUTAWAY_RULES": {"item": "sku"},
    "REPLENISHMENT_POLICIES": {"item": "sku"},
}
CHUNK = 500


def run_master(*, kind: str, site: Site, user, rows, post: bool, progress: Progress | None = None) -> Outcome:
    """Every row through the kind's service in a savepoint. Dry run (``post`` False): in chunks that are rolled
    back, with the progress stored between chunks. Post: inside the caller's transaction, which the caller rolls
    back when the outcome has errors."""
    outcome = Outcome()
    apply_row = MASTER[kind]
    key_columns = KEYS[kind]
    seen: dict[tuple, int] = {}
    done = 0

    def one(number: int, raw: dict) -> None:
        values, cell_errors = convert_row(kind, raw)
        errors = _cell_errors(number, cell_errors)
        # the first key column identifies the row; the others (e.g. a pick face's location) may be empty
        key = tuple(str(values.get(c, "")).upper() for c in key_columns)
        if key and key[0] and key in seen:
            errors.append(
                RowError(
                    number,
                    key_columns[0],
                    "duplicate",
                    f"{'/'.join(filter(None, key))} is also on row {seen[key]} of this file.",
                )
            )
        elif key and key[0]:
            seen[key] = number
        if not errors:
            try:
                with transaction.atomic():
                    apply_row(user=user, site=site, values=values)
            except DomainError as exc:
                errors = errors_of(number, exc, RENAME.get(kind))
        outcome.errors.extend(errors)
        if not errors:
            outcome.valid_rows += 1

    if post:
        for number, raw in rows:
            one(number, raw)
        outcome.posted_rows = outcome.valid_rows if not outcome.errors else 0
        return outcome
    iterator = iter(rows)
    while True:
        chunk = [r for _, r in zip(range(CHUNK), iterator, strict=False)]
        if not chunk:
            break
        try:
            with transaction.atomic():
                for number, raw in chunk:
                    one(number, raw)
                raise _Rollback
        except _Rollback:
            pass
        done += len(chunk)
        if progress:
            progress(done)
    return outcome


# --- opening balances: set-wise checks, one ledger post ----------------------------------------------------------

STOCK_STATUSES = (InventoryStatus.AVAILABLE, InventoryStatus.RECEIVED, InventoryStatus.HOLD, InventoryStatus.DAMAGED)


@dataclass(frozen=True)
class Balance:
    row: int
    item: Item
    location: Location
    lot_number: str
    expiry_date: object
    status: str
    quantity: int
    unit_cost: Decimal | None


def check_balances(*, site: Site, rows, progress: Progress | None = None, every: int = 10_000):
    """(balances, outcome) of an opening-balance file. Reads only; every row's problems are reported."""
    outcome = Outcome()
    parsed: list[tuple[int, dict, list[RowError]]] = []
    skus: set[str] = set()
    done = 0
    for number, raw in rows:
        values, cell_errors = convert_row("OPENING_BALANCES", raw)
        parsed.append((number, values, _cell_errors(number, cell_errors)))
        if values.get("sku"):
            skus.add(values["sku"])
        done += 1
        if progress and done % every == 0:
            progress(done // 2)  # reading is about half of the work
    items: dict[str, Item] = {}
    sku_list = sorted(skus)
    for start in range(0, len(sku_list), 5000):
        for item in Item.objects.filter(sku__in=sku_list[start : start + 5000]).prefetch_related("units"):
            items[item.sku] = item
    locations = {loc.code: loc for loc in Location.objects.filter(site=site)}
    item_ids = [i.pk for i in items.values()]
    lots: dict[tuple[int, str], Lot] = {}
    held_at: dict[int, int] = defaultdict(int)
    stocked: set[tuple] = set()
    for start in range(0, len(item_ids), 5000):
        chunk = item_ids[start : start + 5000]
        for lot in Lot.objects.filter(item_id__in=chunk):
            lots[(lot.item_id, lot.number)] = lot
        for item_id, location_id, lot_id, status in StockQuant.objects.filter(
            site=site, item_id__in=chunk, quantity__gt=0
        ).values_list("item_id", "location_id", "lot_id", "status"):
            stocked.add((item_id, location_id, lot_id, status))
    for location_id, quantity in StockQuant.objects.filter(site=site).values_list("location_id", "quantity"):
        held_at[location_id] += quantity

    balances: list[Balance] = []
    seen: dict[tuple, int] = {}
    new_lots: dict[tuple[int, str], tuple[object, int]] = {}
    room_reported: set[int] = set()
    for index, (number, values, errors) in enumerate(parsed):
        if values.get("site") and values["site"] != site.code:
            errors.append(
                RowError(number, "site", "other_site", f"This batch is for site {site.code}, not {values['site']}.")
            )
        location = locations.get(values.get("location", ""))
        if values.get("location") and location is None:
            errors.append(
                RowError(
                    number, "location", "does_not_exist", f"Site {site.code} has no location {values['location']!r}."
                )
            )
        elif location is not None:
            if not location.holds_stock or location.is_virtual:
                errors.append(
                    RowError(
                        number, "location", "virtual_location", f"{location} is a virtual location and holds no stock."
                    )
                )
            elif not location.active:
                errors.append(RowError(number, "location", "inactive", f"{location} is inactive."))
        item = items.get(values.get("sku", ""))
        if values.get("sku") and item is None:
            errors.append(RowError(number, "sku", "does_not_exist", f"No item {values['sku']!r}."))
        elif item is not None and not item.active:
            errors.append(RowError(number, "sku", "inactive", f"{item.sku} is inactive."))
        status = (values.get("status") or InventoryStatus.AVAILABLE).upper()
        if status not in STOCK_STATUSES:
            errors.append(
                RowError(
                    number, "status", "invalid_status", f"{status!r} is not a status: {', '.join(STOCK_STATUSES)}."
                )
            )
        quantity = None
        if item is not None and "quantity" in values:
            try:
                quantity = to_base_quantity(item, values["quantity"], values.get("unit") or None)
            except ValidationFailed as exc:
                errors.extend(errors_of(number, exc))
        elif item is None and values.get("unit"):
            pass  # reported with the item
        lot_number = values.get("lot", "")
        expiry = values.get("expiry_date")
        lot_id = None
        if item is not None:
            if not item.lot_tracked:
                if lot_number:
                    errors.append(
                        RowError(number, "lot", "lot_not_tracked", f"{item.sku} is not lot tracked; do not give a lot.")
                    )
                if expiry:
                    errors.append(
                        RowError(
                            number,
                            "expiry_date",
                            "lot_not_tracked",
                            f"{item.sku} has no lots; do not give an expiry date.",
                        )
                    )
            elif not lot_number:
                errors.append(
                    RowError(number, "lot", "required", f"{item.sku} is lot tracked; a lot number is required.")
                )
            else:
                lot = lots.get((item.pk, lot_number))
                if lot is not None:
                    lot_id = lot.pk
                    if expiry and lot.expiry_date and lot.expiry_date != expiry:
                        errors.append(
                            RowError(
                                number,
                                "expiry_date",
                                "expiry_mismatch",
                                f"Lot {lot_number} of {item.sku} expires on {lot.expiry_date}, not {expiry}.",
                            )
                        )
                else:
                    if item.shelf_life_days and not expiry:
                        errors.append(
                            RowError(
                                number,
                                "expiry_date",
                                "required",
                                f"{item.sku} has a shelf life; an expiry date is required.",
                            )
                        )
                    first = new_lots.setdefault((item.pk, lot_number), (expiry, number))
                    if first[0] != expiry and expiry is not None and first[0] is not None:
                        errors.append(
                            RowError(
                                number,
                                "expiry_date",
                                "expiry_mismatch",
                                f"Lot {lot_number} of {item.sku} expires on {first[0]} on row {first[1]}, "
                                f"not {expiry}.",
                            )
                        )
        if item is not None and location is not None:
            key = (item.pk, location.pk, lot_number, status)
            if key in seen:
                errors.append(
                    RowError(
                        number,
                        "location",
                        "duplicate",
                        f"{item.sku} {lot_number or ''} {status.lower()} at {location.code} is also on row "
                        f"{seen[key]} of this file.",
                    )
                )
            else:
                seen[key] = number
            if lot_id is not None or not item.lot_tracked:
                if (item.pk, location.pk, lot_id, status) in stocked:
                    errors.append(
                        RowError(
                            number,
                            "location",
                            "has_stock",
                            f"{location.code} already holds {item.sku} {lot_number} ({status.lower()}); "
                            "an opening balance is for empty stock.",
                        )
                    )
            if quantity is not None and location.capacity is not None:
                held_at[location.pk] += quantity
                if held_at[location.pk] > location.capacity and location.pk not in room_reported:
                    room_reported.add(location.pk)
                    errors.append(
                        RowError(
                            number,
                            "quantity",
                            "over_capacity",
                            f"{location.code} holds at most {location.capacity} units; with this row it would "
                            f"hold {held_at[location.pk]}.",
                        )
                    )
        if errors:
            outcome.errors.extend(errors)
        else:
            outcome.valid_rows += 1
            balances.append(
                Balance(number, item, location, lot_number, expiry, status, quantity, values.get("unit_cost"))
            )
        if progress and (index + 1) % every == 0:
            progress(len(parsed) // 2 + (index + 1) // 2)
    if progress:
        progress(len(parsed))
    return balances, outcome


def post_balances(*, site: Site, batch, user, balances: list[Balance]) -> int:
    """Create the new lots (inventory's bulk loader) and post every balance as one OPENING ledger post from the
    site's ADJUSTMENT virtual location. Runs in the caller's transaction."""
    wanted: dict[tuple[int, str], object] = {}
    for b in balances:
        if b.item.lot_tracked:
            wanted.setdefault((b.item.pk, b.lot_number), b.expiry_date)
    lot_ids: dict[tuple[int, str], int] = {}
    item_ids = sorted({k[0] for k in wanted})
    for start in range(0, len(item_ids), 5000):
        for lot_id, item_id, number in Lot.objects.filter(item_id__in=item_ids[start : start + 5000]).values_list(
            "pk", "item_id", "number"
        ):
            lot_ids[(item_id, number)] = lot_id
    missing = [Lot(item_id=i, number=n, expiry_date=wanted[(i, n)]) for (i, n) in wanted if (i, n) not in lot_ids]
    if missing:
        bulk_add_items([], user=user, lots=missing)
        for lot in missing:
            lot_ids[(lot.item_id, lot.number)] = lot.pk
    source = virtual_location(site.pk, Location.Kind.ADJUSTMENT)
    lines = [
        MoveLine(
            b.item.pk,
            lot_ids[(b.item.pk, b.lot_number)] if b.item.lot_tracked else None,
            b.quantity,
            source,
            "",
            b.location,
            b.status,
            unit_cost=b.unit_cost if b.unit_cost is not None else b.item.standard_cost,
        )
        for b in balances
    ]
    post_moves(
        lines=lines,
        kind=StockMove.Kind.OPENING,
        user=user,
        reference=batch.number,
        document=batch,
        reason_code="OPENING_BALANCE",
    )
    return len(lines)
