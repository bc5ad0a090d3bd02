"""The columns of each import kind and the conversion of a cell's text to a value. Pure: no database.

A column has a type; an empty cell is "not given" (``None``). A cell that does not convert is an error naming
the column; the row's other cells are still checked, so every problem of a file is reported at once.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}
MAX_INT = 1_000_000_000


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text, int, decimal, bool, date, units, barcodes
    description: str
    required: bool = False
    max_length: int | None = None


@dataclass
class CellError(Exception):
    """A problem of one cell (raised by the converters, collected by :func:`convert_row`)."""

    column: str
    code: str
    message: str


def _text(col: Column, raw: str):
    if col.max_length and len(raw) > col.max_length:
        raise CellError(col.name, "too_long", f"At most {col.max_length} characters.")
    return raw


def _int(col: Column, raw: str):
    text = raw.replace(",", "") if raw.count(",") and raw.replace(",", "").isdigit() else raw
    if not text.lstrip("-").isdigit():
        raise CellError(col.name, "invalid", f"{raw!r} is not a whole number.")
    value = int(text)
    if value < 0 or value > MAX_INT:
        raise CellError(col.name, "out_of_range", f"Must be between 0 and {MAX_INT:,}.")
    return value


def _decimal(col: Column, raw: str):
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise CellError(col.name, "invalid", f"{raw!r} is not a number.")
    if not value.is_finite() or value < 0 or value > MAX_INT:
        raise CellError(col.name, "out_of_range", f"Must be a number between 0 and {MAX_INT:,}.")
    return value


def _bool(col: Column, raw: str):
    low = raw.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise CellError(col.name, "invalid", f"{raw!r} is not yes/no (true, false, yes, no, 1, 0).")


def _date(col: Column, raw: str):
    try:
        return date.fromisoformat(raw[:10] if len(raw) >= 10 and raw[10:11] in ("", "T", " ") else raw)
    except ValueError:
        raise CellError(col.name, "invalid", f"{raw!r} is not a date (YYYY-MM-DD).")


def _units(col: Column, raw: str):
    """``CASE=12;PALLET=480`` -> [{code, factor}]"""
    out = []
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        code, sep, factor = part.partition("=")
        if not sep or not code.strip() or not factor.strip().isdigit() or int(factor) < 1:
            raise CellError(col.name, "invalid", f"{part!r} is not CODE=FACTOR (e.g. CASE=12).")
        out.append({"code": code.strip().upper(), "factor": int(factor)})
    return out


def _barcodes(col: Column, raw: str):
    """``05012345678900;CASE:15012345678907`` -> [{gtin, unit}]"""
    out = []
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        unit, sep, gtin = part.rpartition(":")
        out.append({"gtin": gtin.strip(), "unit": unit.strip().upper() if sep else ""})
    return out


CONVERT = {
    "text": _text,
    "int": _int,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date,
    "units": _units,
    "barcodes": _barcodes,
}

C = Column
KINDS: dict[str, tuple[Column, ...]] = {
    "ITEMS": (
        C("sku", "text", "Item number, unique across the enterprise", True, 40),
        C("description", "text", "What the item is", True, 200),
        C("base_unit", "text", "Unit stock is counted in: EA (default), G or ML", max_length=4),
        C("category", "text", "Product category", max_length=60),
        C("storage_type", "text", "e.g. AMBIENT, CHILLED, HAZMAT, BULKY", max_length=30),
        C("standard_cost", "decimal", "Cost of one base unit (values stock and differences)"),
        C("currency", "text", "ISO currency of the cost (default USD)", max_length=3),
        C("lot_tracked", "bool", "yes: every unit carries a lot number"),
        C("shelf_life_days", "int", "Shelf life in days (lot-tracked items only): lots then need an expiry date"),
        C("abc_class", "text", "A, B or C (default C)", max_length=1),
        C("requires_inspection", "bool", "yes: receipts land on HOLD"),
        C("weight_grams", "int", "Weight of one base unit in grams"),
        C("units", "units", "Other units with their factor in base units: CASE=12;PALLET=480"),
        C("barcodes", "barcodes", "GTINs, the unit before a colon (none: base unit): 05012345678900;CASE:150123..."),
    ),
    "LOCATIONS": (
        C("code", "text", "Location code, unique within the site", True, 40),
        C("kind", "text", "RECEIVING, STORAGE, PICK, STAGING, QUALITY or DAMAGED", True, 12),
        C("zone", "text", "Zone code at the site (created when new)", max_length=20),
        C("zone_name", "text", "Name of a new zone (default: its code)", max_length=100),
        C("aisle", "text", "Aisle", max_length=10),
        C("capacity", "int", "Units the location holds; empty: no limit"),
        C("active", "bool", "no: the location is created inactive (default yes)"),
    ),
    "CUSTOMERS": (
        C("code", "text", "Customer code (letters, digits, - and _), unique", True, 30),
        C("name", "text", "Customer name", True, 200),
        C("email", "text", "Contact e-mail", max_length=254),
        C("ship_to_address", "text", "Ship-to address"),
        C("region", "text", "Region (orders prefer sites of the same region)", max_length=60),
        C("home_site", "text", "Site code of the customer's home site", max_length=20),
        C("credit_limit", "decimal", "Credit limit (needs a credit controller or an admin of the home site)"),
        C("currency", "text", "ISO currency (default USD)", max_length=3),
        C("payment_terms_days", "int", "Payment terms in days (default 30)"),
        C("priority", "int", "Priority tier, 1 (highest) to 5 (default 3)"),
        C("allow_partial_shipment", "bool", "Ship what is available (default yes)"),
        C("allow_backorders", "bool", "Backorder what is not available (default yes)"),
        C("allow_substitution", "bool", "Accept substitute items (default no)"),
        C("min_shelf_life_days", "int", "Minimum remaining shelf life of picked lots, in days"),
    ),
    "SUPPLIERS": (
        C("code", "text", "Supplier code (letters, digits, - and _), unique", True, 30),
        C("name", "text", "Supplier name", True, 200),
        C("email", "text", "Contact e-mail", max_length=254),
        C("lead_time_days", "int", "Lead time in days (default 7)"),
        C("requires_inspection", "bool", "yes: everything received lands on HOLD"),
        C("over_receipt_tolerance_percent", "decimal", "Overrides the site's over-receipt tolerance"),
        C("currency", "text", "ISO currency (default USD)", max_length=3),
    ),
    "OPENING_BALANCES": (
        C("site", "text", "Site code (empty: the batch's site; another site is refused)", max_length=20),
        C("location", "text", "Location code at the site (a stock location, active, with room)", True, 40),
        C("sku", "text", "Item number", True, 40),
        C("quantity", "decimal", "Quantity on hand, whole in base units after conversion", True),
        C("unit", "text", "Unit of the quantity (an item unit such as CASE; default: base unit)", max_length=12),
        C("lot", "text", "Lot number (required exactly for lot-tracked items)", max_length=60),
        C("expiry_date", "date", "Expiry of the lot, YYYY-MM-DD (required for a new lot of an item with shelf life)"),
        C("status", "text", "AVAILABLE (default), RECEIVED, HOLD or DAMAGED", max_length=12),
        C("unit_cost", "decimal", "Cost of one base unit (default: the item's standard cost)"),
    ),
    "SITE_RULES": (
        C("key", "text", "Rule key, e.g. picking.min_shelf_life_days (GET /api/v1/site-rules/ lists them)", True, 100),
        C("value", "text", "The site's value, of the rule's type and within its bounds", True, 60),
        C("reason", "text", "Why the site differs (default: the batch number)", max_length=300),
    ),
    "PUTAWAY_RULES": (
        C("priority", "int", "Lower is tried first (default 100)"),
        C("sku", "text", "The rule is for this item (empty: the items that match the other columns)", max_length=40),
        C("category", "text", "Items of this category", max_length=60),
        C("storage_type", "text", "Items of this storage type, e.g. CHILLED", max_length=30),
        C("abc_class", "text", "Items of this ABC class: A, B or C", max_length=1),
        C("zone", "text", "Zone code at the site the stock goes to (empty: any zone)", max_length=20),
        C(
            "location_kinds",
            "text",
            "Location kinds in order of preference, separated by ; or , (default PICK;STORAGE)",
            max_length=60,
        ),
        C("allow_mixed_lots", "bool", "yes: a location may hold several lots of the item (default no)"),
        C("active", "bool", "no: the rule is created inactive (default yes)"),
    ),
    "REPLENISHMENT_POLICIES": (
        C("sku", "text", "Item number", True, 40),
        C(
            "location",
            "text",
            "A PICK location of the site: the row is that pick face's min/max; empty: the item's policy at the site",
            max_length=40,
        ),
        C("min_quantity", "int", "Reorder (pick face: refill) at or below this, in base units (default 0)"),
        C(
            "max_quantity",
            "int",
            "Order (pick face: refill) up to this, in base units; a pick face's is above its min",
            True,
        ),
        C("method", "text", "Item policy: MIN_MAX (default) or REORDER_POINT (computed from demand)", max_length=14),
        C("service_level", "decimal", "Item policy, REORDER_POINT: 0.5 to 0.9999 (default 0.95)"),
        C("review_days", "int", "Item policy: days between reviews (default 7)"),
        C("lead_time_days", "int", "Item policy: lead time in days (empty: the supplier's)"),
        C("pack_multiple", "int", "Item policy: order in multiples of this (default 1)"),
        C("min_order_quantity", "int", "Item policy: smallest order (default 0)"),
        C("supplier", "text", "Item policy: supplier code to buy from", max_length=30),
        C("active", "bool", "no: the policy is created inactive (default yes)"),
    ),
    "OPEN_PURCHASE_ORDERS": (
        C("po_number", "text", "The legacy purchase order number: the rows of one number are its lines", True, 40),
        C("supplier", "text", "Supplier code (the same on every line of the order)", True, 30),
        C("expected_date", "date", "Expected delivery, YYYY-MM-DD (the same on every line)", True),
        C("supplier_reference", "text", "The supplier's reference (the same on every line)", max_length=60),
        C("sku", "text", "Item number of the line", True, 40),
        C("quantity", "decimal", "Ordered on the line, whole in base units after conversion", True),
        C("unit", "text", "Unit of quantity and received_quantity (default: base unit)", max_length=12),
        C(
            "received_quantity",
            "decimal",
            "Already received in the legacy system (default 0): recorded on the line only; those units are in the "
            "opening balances, receiving books only the rest",
        ),
        C("unit_cost", "decimal", "Cost of one base unit (default: the item's standard cost)"),
    ),
    "OPEN_SALES_ORDERS": (
        C("order_number", "text", "The legacy order number: the rows of one number are its lines", True, 40),
        C("customer", "text", "Customer code (the same on every line of the order)", True, 30),
        C("promised_date", "date", "Promised date, YYYY-MM-DD, today or later (the same on every line)", True),
        C("priority", "int", "1 (highest) to 5 (default: the customer's), the same on every line"),
        C(
            "customer_reference",
            "text",
            "The customer's reference, e.g. their PO (the same on every line)",
            max_length=60,
        ),
        C("ship_to_address", "text", "Ship-to address (default: the customer's), the same on every line"),
        C("carrier", "text", "Carrier code, e.g. UPS (the same on every line)", max_length=20),
        C("route", "text", "Delivery route code (the same on every line)", max_length=20),
        C("sku", "text", "Item number of the line", True, 40),
        C("quantity", "decimal", "Ordered and not yet shipped, whole in base units after conversion", True),
        C("unit", "text", "Unit of quantity and allocated_quantity (default: base unit)", max_length=12),
        C("unit_price", "decimal", "Price per unit of the line (default: the item's standard cost)"),
        C(
            "allocated_quantity",
            "decimal",
            "Allocated in the legacy system (default 0): recreated against the site's posted opening balances; "
            "refused when the site has fewer units free",
        ),
    ),
    "TRANSFERS_IN_TRANSIT": (
        C("transfer_number", "text", "The legacy transfer number: the rows of one number are its lines", True, 40),
        C("from_site", "text", "Site code the transfer left (the same on every line)", True, 20),
        C(
            "to_site",
            "text",
            "Site code it goes to (the same on every line); one of the two is the batch's site",
            True,
            20,
        ),
        C("shipped_date", "date", "When it shipped, YYYY-MM-DD (default: now), the same on every line"),
        C("reason", "text", "Why it was sent (the same on every line)", max_length=300),
        C("sku", "text", "Item number", True, 40),
        C("quantity", "decimal", "Shipped and not yet received, whole in base units after conversion", True),
        C("unit", "text", "Unit of the quantity (default: base unit)", max_length=12),
        C("lot", "text", "Lot number (required exactly for lot-tracked items; a row per lot)", max_length=60),
        C("expiry_date", "date", "Expiry of the lot, YYYY-MM-DD (required for a new lot of an item with shelf life)"),
    ),
    # not an import kind: the legacy control totals a posted opening-balance batch is reconciled against
    "CONTROL_TOTALS": (
        C("sku", "text", "Item number", True, 40),
        C("site", "text", "Site code (empty: the batch's site)", max_length=20),
        C("units", "int", "Units on hand in the legacy system, in base units", True),
        C("value", "decimal", "Value of those units in the legacy system"),
        C(
            "lines",
            "int",
            "Open orders and transfers: the item's open lines in the legacy system (units: their open units, "
            "in transit: shipped, not received)",
        ),
    ),
}
IMPORT_KINDS = (
    "ITEMS",
    "LOCATIONS",
    "CUSTOMERS",
    "SUPPLIERS",
    "OPENING_BALANCES",
    "SITE_RULES",
    "PUTAWAY_RULES",
    "REPLENISHMENT_POLICIES",
    "OPEN_PURCHASE_ORDERS",
    "OPEN_SALES_ORDERS",
    "TRANSFERS_IN_TRANSIT",
)
#: the in-flight document kinds: one row per line, the rows of a document grouped by its number column
DOCUMENT_KINDS: dict[str, str] = {
    "OPEN_PURCHASE_ORDERS": "po_number",
    "OPEN_SALES_ORDERS": "order_number",
    "TRANSFERS_IN_TRANSIT": "transfer_number",
}
#: the columns of a document kind that belong to the document (the same on each of its rows), not to a line
DOCUMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "OPEN_PURCHASE_ORDERS": ("supplier", "expected_date", "supplier_reference"),
    "OPEN_SALES_ORDERS": (
        "customer",
        "promised_date",
        "priority",
        "customer_reference",
        "ship_to_address",
        "carrier",
        "route",
    ),
    "TRANSFERS_IN_TRANSIT": ("from_site", "to_site", "shipped_date", "reason"),
}
#: the columns that identify a row: no two rows of one file may share them
KEYS: dict[str, tuple[str, ...]] = {
    "ITEMS": ("sku",),
    "LOCATIONS": ("code",),
    "CUSTOMERS": ("code",),
    "SUPPLIERS": ("code",),
    "OPENING_BALANCES": ("location", "sku", "lot", "status"),
    "SITE_RULES": ("key",),
    "PUTAWAY_RULES": (),  # rules have no natural key: a site may hold several for the same items
    "REPLENISHMENT_POLICIES": ("sku", "location"),
    "OPEN_PURCHASE_ORDERS": ("po_number", "sku"),
    "OPEN_SALES_ORDERS": ("order_number", "sku", "unit"),
    "TRANSFERS_IN_TRANSIT": ("transfer_number", "sku", "lot"),
    "CONTROL_TOTALS": ("sku", "site"),
}


def columns(kind: str) -> tuple[Column, ...]:
    return KINDS[kind]


def check_header(kind: str, header: list[str]) -> list[CellError]:
    """Problems of a header row: unknown, repeated or missing required columns."""
    known = {c.name for c in KINDS[kind]}
    errors = []
    seen = set()
    for name in header:
        if name in seen:
            errors.append(CellError(name, "duplicate_column", f"Column {name!r} appears twice."))
        seen.add(name)
        if name and name not in known:
            errors.append(
                CellError(
                    name, "unknown_column", f"Unknown column {name!r}; the columns are: {', '.join(sorted(known))}."
                )
            )
    for col in KINDS[kind]:
        if col.required and col.name not in seen:
            errors.append(CellError(col.name, "missing_column", f"The required column {col.name!r} is missing."))
    return errors


def convert_row(kind: str, raw: dict[str, object]) -> tuple[dict, list[CellError]]:
    """The row's values by column (only the cells given) and the problems of its cells."""
    values: dict = {}
    errors: list[CellError] = []
    if raw.get("__extra_cells__"):
        errors.append(CellError("", "extra_cells", "The row has more cells than the header has columns."))
    for col in KINDS[kind]:
        cell = raw.get(col.name)
        text = "" if cell is None else str(cell).strip()
        if not text:
            if col.required:
                errors.append(CellError(col.name, "required", f"{col.name} is required."))
            continue
        if "\x00" in text:
            errors.append(CellError(col.name, "invalid", "NUL characters are not allowed."))
            continue
        try:
            values[col.name] = CONVERT[col.type](col, text)
        except CellError as exc:
            errors.append(exc)
    return values, errors


def template_csv(kind: str) -> str:
    """The template of ``kind``: the header row, then a comment row (its first cell starts with ``#``; readers skip
    such rows) with each column's description under it, so the template uploads as an empty file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    cols = KINDS[kind]
    writer.writerow([c.name for c in cols])
    writer.writerow(
        [
            ("# " if i == 0 else "") + ("required. " if c.required else "") + f"{c.type}: {c.description}"
            for i, c in enumerate(cols)
        ]
    )
    return out.getvalue()


def describe(kind: str) -> list[dict]:
    return [{"name": c.name, "type": c.type, "required": c.required, "description": c.description} for c in KINDS[kind]]
