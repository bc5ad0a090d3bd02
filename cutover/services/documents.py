"""In-flight documents at cutover: open purchase orders (with what the legacy system received already), open sales
orders (with the allocations to recreate) and transfers in transit. One row per line; the rows of a document are
grouped by its number column (``columns.DOCUMENT_KINDS``), and the document's own columns
(``columns.DOCUMENT_COLUMNS``) must be the same on each of its rows.

Each document goes through the owning app's services, as live work makes it, in a savepoint:

- **Open purchase orders**: ``orders.services.purchasing.create_purchase_order`` at the batch's site, then the
  legacy received quantities through ``record_receipt`` (``final`` False): the line's received counter only, no
  receipt and no stock move. *Decision*: the units already received are on hand in the legacy system, so they are in
  the site's opening balances; the PO import does not bring them in again. Receiving later books the open rest, and
  the over-receipt tolerance counts the legacy part.
- **Open sales orders**: ``orders.services.orders.create_order`` (ship-from: the batch's site, so it stays the
  site's order), ``release_order`` (the live credit check: an order that goes on credit hold is imported on hold, and
  refused if it has allocations to recreate), then ``orders.services.allocation.recreate_allocations`` claims the
  legacy allocated units at the site against its posted opening balances (refused, naming the item and what is free,
  when they are short). Import opening balances first.
- **Transfers in transit**: ``warehouse.services.transfers.open_transfer_in_transit``: the transfer SHIPPED and its
  units IN_TRANSIT at the destination (OPENING moves), as shipping leaves them; the destination receives it as any
  transfer. One of its sites is the batch's site.

The dry run runs every document in one transaction that is rolled back at the end, so what one document takes (the
free stock its allocations claim) is seen by the next, as in the post; its progress is stored when it ends. The post
runs in the batch's transaction. Each created document is recorded (``ImportedDocument``, once per legacy number and
kind) for reconciliation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError, ValidationFailed
from governance.models import Site
from inventory.models import Item
from inventory.units import to_base_quantity
from orders.models import SalesOrder
from orders.services.allocation import recreate_allocations
from orders.services.orders import create_order, release_order
from orders.services.purchasing import create_purchase_order, record_receipt
from warehouse.services.transfers import open_transfer_in_transit

from ..columns import DOCUMENT_COLUMNS, DOCUMENT_KINDS, KEYS, convert_row
from ..models import ImportedDocument
from .checks import FIELD_ROOT, Outcome, RowError, _cell_errors, _Rollback

LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.?([a-z_]*)")
#: a service's field name -> the file's column
RENAME = {
    "item": "sku",
    "ship_from": "",
    "quantities_by_line": "received_quantity",
    "lot_number": "lot",
    "shipped_at": "shipped_date",
    "non_field_errors": "",
}


@dataclass
class Document:
    number: str
    rows: list[tuple[int, dict]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return self.rows[0][0]

    @property
    def head(self) -> dict:
        return self.rows[0][1]


def _errors_of(doc: Document, exc: DomainError) -> list[RowError]:
    """A service's refusal as row errors: ``lines[i].x`` is the document's i-th row, anything else its first."""
    found = exc.errors or [{"field": exc.field or "", "code": exc.code, "message": exc.message}]
    out = []
    for err in found:
        name = str(err.get("field") or "")
        row, column = doc.first_row, ""
        match = LINE_FIELD.match(name)
        if match:
            index = int(match.group(1))
            row = doc.rows[index][0] if index < len(doc.rows) else doc.first_row
            column = match.group(2)
        else:
            root = FIELD_ROOT.match(name)
            column = root.group(1) if root else ""
        column = RENAME.get(column, column)
        out.append(
            RowError(row, column, str(err.get("code") or exc.code), str(err.get("message") or exc.message)[:500])
        )
    return out


def _line_error(exc: ValidationFailed, index: int) -> list[dict]:
    """Errors of one line's conversion, each field under ``lines[index]``."""
    return [
        {**e, "field": e["field"] if str(e["field"]).startswith("lines[") else f"lines[{index}].{e['field']}"}
        for e in (exc.errors or [{"field": exc.field or "quantity", "code": exc.code, "message": exc.message}])
    ]


def _refuse(errors: list[dict]) -> None:
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors[:10]), errors=errors)


def _through(service, own: list[dict], **kwargs):
    """Call the owner's ``service`` even when this layer found problems of its own, so that every problem of the
    document is reported at once: the service's refusal and ours together (a unit refused without its line is
    ours to place), else ours, else the service's result."""
    try:
        result = service(**kwargs)
    except ValidationFailed as exc:
        seen = {(e["field"], e["code"]) for e in own}
        theirs = [e for e in exc.errors if (e["field"], e["code"]) not in seen and e["field"] != "unit"]
        _refuse(own + theirs or exc.errors)
        raise
    _refuse(own)
    return result


def _items(doc: Document) -> dict[str, Item]:
    return {
        i.sku: i
        for i in Item.objects.filter(sku__in=[v["sku"] for _, v in doc.rows if v.get("sku")]).prefetch_related("units")
    }


def _base(item: Item, values: dict, name: str, index: int, errors: list, *, allow_zero: bool = False) -> int | None:
    try:
        return to_base_quantity(
            item, values.get(name, 0), values.get("unit") or None, field=f"lines[{index}].{name}", allow_zero=allow_zero
        )
    except ValidationFailed as exc:
        errors.extend(_line_error(exc, index))
        return None


# --- the three kinds ------------------------------------------------------------------------------------------


def _purchase_order(*, user, batch, site: Site, doc: Document):
    head = doc.head
    items = _items(doc)
    errors: list[dict] = []
    lines, received = [], []
    still_open, converted = False, True
    for index, (_number, values) in enumerate(doc.rows):
        lines.append(
            {
                "item": values.get("sku"),
                "quantity": str(values.get("quantity", "")),
                "unit": values.get("unit") or None,
                "unit_cost": values.get("unit_cost"),
            }
        )
        item = items.get(values.get("sku", ""))
        if item is None:  # create_purchase_order reports it
            received.append(0)
            converted = False
            continue
        ordered = _base(item, values, "quantity", index, [])
        got = _base(item, values, "received_quantity", index, errors, allow_zero=True)
        if ordered is not None and got is not None and got > ordered:
            errors.append(
                {
                    "field": f"lines[{index}].received_quantity",
                    "code": "above_ordered",
                    "message": f"{item.sku}: {got} received is more than the {ordered} ordered.",
                }
            )
        received.append(got or 0)
        converted = converted and ordered is not None and got is not None
        still_open = still_open or (converted and got < ordered)
    if converted and not still_open and not errors:
        errors.append(
            {
                "field": "lines[0].received_quantity",
                "code": "not_open",
                "message": f"Every line of {doc.number} is received in full: it is not open; leave it out.",
            }
        )
    po = _through(
        create_purchase_order,
        errors,
        user=user,
        supplier=head.get("supplier", ""),
        site=site,
        expected_date=head.get("expected_date"),
        lines=lines,
        supplier_reference=head.get("supplier_reference", ""),
        note=f"Legacy purchase order {doc.number}, cutover import {batch.number}.",
    )
    po_lines = list(po.lines.order_by("line_number"))
    done = {line.pk: (got, 0) for line, got in zip(po_lines, received, strict=True) if got}
    if done:
        po = record_receipt(po=po, quantities_by_line=done, user=user, final=False)
    return po, len(po_lines)


def _sales_order(*, user, batch, site: Site, doc: Document):
    head = doc.head
    items = _items(doc)
    errors: list[dict] = []
    lines, allocated = [], []
    for index, (_number, values) in enumerate(doc.rows):
        lines.append(
            {
                "item": values.get("sku"),
                "quantity": str(values.get("quantity", "")),
                "unit": values.get("unit") or None,
                "unit_price": values.get("unit_price"),
            }
        )
        item = items.get(values.get("sku", ""))
        if item is None:  # check_order reports it
            allocated.append(0)
            continue
        ordered = _base(item, values, "quantity", index, [])  # create_order reports it
        claim = _base(item, values, "allocated_quantity", index, errors, allow_zero=True)
        if ordered is not None and claim is not None and claim > ordered:
            errors.append(
                {
                    "field": f"lines[{index}].allocated_quantity",
                    "code": "above_ordered",
                    "message": f"{item.sku}: {claim} allocated is more than the {ordered} ordered.",
                }
            )
        allocated.append(claim or 0)
    order = _through(
        create_order,
        errors,
        user=user,
        customer=head.get("customer", ""),
        promised_date=head.get("promised_date"),
        lines=lines,
        priority=head.get("priority"),
        ship_from=site,
        customer_reference=head.get("customer_reference", ""),
        ship_to_address=head.get("ship_to_address", ""),
        carrier=head.get("carrier", ""),
        route=head.get("route", ""),
    )
    order = release_order(user=user, order=order)
    if any(allocated):
        if order.status != SalesOrder.Status.RELEASED:
            first = next(i for i, units in enumerate(allocated) if units)
            raise ValidationFailed(
                "held",
                errors=[
                    {
                        "field": f"lines[{first}].allocated_quantity",
                        "code": "order_on_hold",
                        "message": f"The order goes on hold ({order.hold_reason}); its allocations cannot be "
                        "recreated. Import it without allocated_quantity, or settle the customer's credit first.",
                    }
                ],
            )
        order_lines = list(order.lines.order_by("line_number"))
        recreate_allocations(
            order=order,
            quantities={line.pk: units for line, units in zip(order_lines, allocated, strict=True) if units},
            site=site,
            note=f"Allocation of legacy order {doc.number} recreated at cutover ({batch.number}).",
        )
    return order, len(lines)


def _transfer(*, user, batch, site: Site, doc: Document):
    head = doc.head
    codes = {name: head.get(name, "") for name in ("from_site", "to_site")}
    sites = {s.code: s for s in Site.objects.filter(code__in=list(codes.values()), active=True)}
    errors = []
    for name, code in codes.items():
        if code and code not in sites:
            errors.append({"field": name, "code": "does_not_exist", "message": f"No active site {code!r}."})
    if not errors and site.code not in codes.values():
        errors.append(
            {
                "field": "to_site",
                "code": "other_site",
                "message": f"This batch is for site {site.code}: a transfer from it or to it.",
            }
        )
    if not all(codes.values()):
        errors.append({"field": "", "code": "required", "message": "A transfer needs its two sites."})
    _refuse(errors)
    shipped = head.get("shipped_date")
    transfer = open_transfer_in_transit(
        user=user,
        from_site=sites[codes["from_site"]],
        to_site=sites[codes["to_site"]],
        lines=[
            {
                "item": values.get("sku"),
                "quantity": str(values.get("quantity", "")),
                "unit": values.get("unit") or None,
                "lot": values.get("lot", ""),
                "expiry_date": values.get("expiry_date"),
            }
            for _, values in doc.rows
        ],
        reason=head.get("reason") or f"Legacy transfer {doc.number}, cutover import {batch.number}.",
        shipped_at=timezone.make_aware(datetime.combine(shipped, time(12))) if shipped else None,
    )
    return transfer, transfer.lines.count()


APPLY: dict[str, Callable] = {
    "OPEN_PURCHASE_ORDERS": _purchase_order,
    "OPEN_SALES_ORDERS": _sales_order,
    "TRANSFERS_IN_TRANSIT": _transfer,
}


# --- grouping, checks, and the run ----------------------------------------------------------------------------


def group_documents(kind: str, rows) -> tuple[list[Document], list[RowError], int]:
    """(documents, errors of rows that belong to none, rows read). Pure but for reading ``rows``: every cell
    converted, rows grouped by the number column, the document's columns compared across its rows and the line
    keys checked for repeats."""
    number_column = DOCUMENT_KINDS[kind]
    shared = DOCUMENT_COLUMNS[kind]
    key_columns = KEYS[kind]
    docs: dict[str, Document] = {}
    loose: list[RowError] = []
    keys: dict[tuple, int] = {}
    count = 0
    for number, raw in rows:
        count += 1
        values, cell_errors = convert_row(kind, raw)
        errors = _cell_errors(number, cell_errors)
        legacy = values.get(number_column)
        if not legacy:
            loose.extend(errors)
            continue
        doc = docs.setdefault(legacy, Document(legacy))
        if doc.rows:
            first_row, head = doc.rows[0]
            for name in shared:
                if values.get(name) != head.get(name) and not any(e.column == name for e in errors):
                    errors.append(
                        RowError(
                            number,
                            name,
                            "differs",
                            f"{name} of {legacy} is {head.get(name) or 'empty'!s} on row {first_row}, "
                            f"not {values.get(name) or 'empty'!s}: it is the same on every line of a document.",
                        )
                    )
        key = tuple(str(values.get(c) or "").upper() for c in key_columns)
        if values.get("sku"):
            if key in keys:
                errors.append(
                    RowError(
                        number,
                        "sku",
                        "duplicate",
                        f"{'/'.join(filter(None, key))} is also on row {keys[key]} of this file: one row per line.",
                    )
                )
            else:
                keys[key] = number
        doc.rows.append((number, values))
        doc.errors.extend(errors)
    return list(docs.values()), loose, count


def _record(*, batch, kind: str, doc: Document, created, lines: int) -> None:
    try:
        with transaction.atomic():
            ImportedDocument.objects.create(
                batch=batch,
                kind=kind,
                legacy_number=doc.number,
                content_type=ContentType.objects.get_for_model(created),
                object_id=created.pk,
                number=created.number,
                lines=lines,
            )
    except IntegrityError:
        raise ValidationFailed(
            "imported",
            errors=[
                {
                    "field": DOCUMENT_KINDS[kind],
                    "code": "already_imported",
                    "message": f"{doc.number} was imported by another batch meanwhile.",
                }
            ],
        )


def run_documents(*, kind: str, batch, user, rows, post: bool, progress: Callable[[int], None] | None = None):
    """Every document of the file through its owner's services (see the module). Dry run (``post`` False): in one
    transaction rolled back at the end. Post: inside the caller's transaction, which the caller rolls back when
    the outcome has errors."""
    outcome = Outcome()
    docs, loose, count = group_documents(kind, rows)
    outcome.errors.extend(loose)
    number_column = DOCUMENT_KINDS[kind]
    earlier = {
        d.legacy_number: d
        for d in ImportedDocument.objects.filter(kind=kind, legacy_number__in=[d.number for d in docs]).select_related(
            "batch"
        )
    }
    site = batch.site
    apply = APPLY[kind]

    def one(doc: Document) -> None:
        errors = list(doc.errors)
        if doc.number in earlier:  # the document is refused; its other problems are still looked for
            prior = earlier[doc.number]
            errors.append(
                RowError(
                    doc.first_row,
                    number_column,
                    "already_imported",
                    f"{doc.number} was imported by {prior.batch.number} as {prior.number}.",
                )
            )
        # a document with problems of its own still goes through the services (rolled back), so that the file's
        # other problems (a line's units, an unknown customer) are reported with them
        try:
            with transaction.atomic():
                created, lines = apply(user=user, batch=batch, site=site, doc=doc)
                _record(batch=batch, kind=kind, doc=doc, created=created, lines=lines)
                if errors:
                    raise _Rollback
        except _Rollback:
            pass
        except DomainError as exc:
            seen = {(e.row, e.column, e.code) for e in errors}
            errors += [e for e in _errors_of(doc, exc) if (e.row, e.column, e.code) not in seen]
        outcome.errors.extend(errors)
        if not errors:
            outcome.valid_rows += len(doc.rows)

    if post:
        for doc in docs:
            one(doc)
        outcome.posted_rows = outcome.valid_rows if not outcome.errors else 0
    else:
        try:
            with transaction.atomic():
                for doc in docs:
                    one(doc)
                raise _Rollback
        except _Rollback:
            pass
        if progress:
            progress(count)
    outcome.errors.sort(key=lambda e: e.row)
    return outcome
