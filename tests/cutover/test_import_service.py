"""Cutover import batches: dry run, post after approval, once, and what each kind refuses."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from core.errors import SegregationOfDuties, StateConflict, ValidationFailed
from cutover.columns import template_csv
from cutover.models import ImportBatch, ImportRowError
from cutover.services import create_batch, post_batch, reconcile_batch, request_post, validate_batch
from governance.models import ApprovalRequest
from governance.services import decide_approval
from inventory.models import Item, ItemBarcode, Location, Lot, StockLevel, StockMove, StockQuant, Zone
from inventory.selectors import find_inventory_drift
from orders.models import Customer, Supplier
from tests.factories import set_rule_now

from .conftest import csv_of

pytestmark = pytest.mark.django_db
OB = "location,sku,quantity,unit,lot,expiry_date,status"


def errors_of(batch):
    return {(e.row, e.column, e.code) for e in ImportRowError.objects.filter(batch=batch)}


def approve(batch, lead, approver):
    batch, approval = request_post(user=lead, batch=batch)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()
    return batch


def test_opening_balances_dry_run_writes_nothing_then_post_goes_through_the_ledger_once(
    site, lead, approver, bins, goods
):
    content = csv_of(
        OB,
        "A-1,WIDGET,2,CASE,,,AVAILABLE",
        "A-1,WIDGET,5,,,,HOLD",
        "A-2,MILK,40,,L1,2027-01-31,",
        bom=True,
    )
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content, file_name="ob.csv")
    assert batch.total_rows == 3 and batch.status == "DRAFT"
    batch = validate_batch(user=lead, batch=batch)
    assert batch.status == "VALIDATED" and batch.valid_rows == 3 and batch.error_count == 0
    assert batch.rows_done == 3
    assert not StockMove.objects.exists() and not Lot.objects.exists()

    batch, approval = request_post(user=lead, batch=batch)
    assert batch.status == "AWAITING_APPROVAL" and approval.kind == "CUTOVER_BATCH"
    assert not StockMove.objects.exists()
    with pytest.raises(SegregationOfDuties):
        decide_approval(approval=approval, user=lead, approve=True)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()
    assert batch.status == "POSTED" and batch.posted_rows == 3 and batch.posted_by == approver

    moves = StockMove.objects.filter(kind=StockMove.Kind.OPENING, reference=batch.number)
    assert moves.count() == 3
    assert sorted(moves.values_list("quantity", flat=True)) == [5, 24, 40]
    level = StockLevel.objects.get(item=goods["WIDGET"], site=site)
    assert (level.available, level.hold) == (24, 5)
    lot = Lot.objects.get(item=goods["MILK"], number="L1")
    assert str(lot.expiry_date) == "2027-01-31"
    assert StockQuant.objects.get(item=goods["MILK"], lot=lot).quantity == 40
    assert find_inventory_drift() == []

    # a batch posted twice posts once
    assert post_batch(user=approver, batch=batch).status == "POSTED"
    again, approval_again = request_post(user=lead, batch=batch)
    assert again.status == "POSTED" and approval_again == approval
    assert StockMove.objects.filter(kind=StockMove.Kind.OPENING).count() == 3
    with pytest.raises(StateConflict):
        validate_batch(user=lead, batch=batch)


def test_every_opening_balance_error_is_reported_at_once_and_nothing_is_written(site, lead, bins, goods, stock):
    stock(goods["WIDGET"], bins["A-1"], 3)
    before = StockMove.objects.count()
    content = csv_of(
        OB + ",site",
        "A-1,WIDGET,1,,,,AVAILABLE,",  # A-1 already holds WIDGET available
        "NOPE,WIDGET,1,,,,,",  # unknown location
        "OLD,WIDGET,1,,,,,",  # inactive
        "V-SUPPLIER,WIDGET,1,,,,,",  # virtual
        "A-2,GHOST,1,,,,,",  # unknown item
        "A-2,WIDGET,1.5,,,,,",  # not whole
        "A-2,WIDGET,1,PALLET,,,HOLD,",  # unknown unit
        "A-2,WIDGET,1,,L9,,DAMAGED,",  # lot on an item without lots
        "A-2,MILK,1,,,,,",  # lot missing
        "A-2,MILK,1,,L2,,,",  # new lot of an item with shelf life needs expiry
        "A-2,WIDGET,1,,,,LOST,",  # unknown status
        "A-2,WIDGET,2,,,,RECEIVED,",
        "A-2,WIDGET,2,,,,RECEIVED,",  # duplicate key in the file
        "A-2,WIDGET,-1,,,,,",  # negative
        "A-2,WIDGET,99,,,,AVAILABLE,",  # over capacity (100 with the rows before)
        "A-2,WIDGET,1,,,2027-13-01,HOLD,DC2",  # bad date, other site
    )
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content)
    batch = validate_batch(user=lead, batch=batch)
    assert batch.status == "INVALID"
    found = errors_of(batch)
    expected = {
        (2, "location", "has_stock"),
        (3, "location", "does_not_exist"),
        (4, "location", "inactive"),
        (5, "location", "virtual_location"),
        (6, "sku", "does_not_exist"),
        (7, "quantity", "not_whole"),
        (8, "unit", "unknown_unit"),
        (9, "lot", "lot_not_tracked"),
        (10, "lot", "required"),
        (11, "expiry_date", "required"),
        (12, "status", "invalid_status"),
        (14, "location", "duplicate"),
        (15, "quantity", "out_of_range"),
        (16, "quantity", "over_capacity"),
        (17, "expiry_date", "invalid"),
        (17, "site", "other_site"),
    }
    assert expected <= found, expected - found
    assert batch.valid_rows == 1  # row 13 alone (row 14 repeats its key)
    assert StockMove.objects.count() == before and not Lot.objects.exists()
    with pytest.raises(StateConflict):
        request_post(user=lead, batch=batch)


def test_an_existing_lot_must_keep_its_expiry_and_one_new_lot_has_one_expiry(site, lead, bins, goods):
    Lot.objects.create(item=goods["MILK"], number="OLD1", expiry_date="2027-02-01")
    content = csv_of(
        OB,
        "A-1,MILK,1,,OLD1,2027-03-01,",
        "A-1,MILK,1,,NEW1,2027-04-01,AVAILABLE",
        "A-1,MILK,1,,NEW1,2027-05-01,HOLD",
    )
    batch = validate_batch(
        user=lead, batch=create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content)
    )
    assert errors_of(batch) == {(2, "expiry_date", "expiry_mismatch"), (4, "expiry_date", "expiry_mismatch")}


def test_a_post_that_no_longer_passes_is_refused_writes_nothing_and_keeps_the_batch_unposted(
    site, lead, approver, bins, goods, stock
):
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A-1,WIDGET,4,,,,"))
    batch = validate_batch(user=lead, batch=batch)
    batch, approval = request_post(user=lead, batch=batch)
    stock(goods["WIDGET"], bins["A-1"], 1)  # live work put stock there since the dry run
    moves = StockMove.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        decide_approval(approval=approval, user=approver, approve=True)
    assert refused.value.errors[0]["code"] == "has_stock"
    batch.refresh_from_db()
    approval.refresh_from_db()
    assert batch.status == "AWAITING_APPROVAL" and approval.status == "PENDING"
    assert StockMove.objects.count() == moves
    decide_approval(approval=approval, user=approver, approve=False)
    batch.refresh_from_db()
    assert batch.status == "REJECTED"


def test_post_needs_the_approval(site, lead, bins, goods):
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A-1,WIDGET,4,,,,"))
    batch = validate_batch(user=lead, batch=batch)
    with pytest.raises(StateConflict):
        post_batch(user=lead, batch=batch)
    request_post(user=lead, batch=batch)
    with pytest.raises(StateConflict):
        post_batch(user=lead, batch=batch)
    assert not StockMove.objects.exists()


def test_items_with_units_and_barcodes_go_through_create_item(site, lead, approver):
    content = csv_of(
        "sku,description,base_unit,standard_cost,lot_tracked,shelf_life_days,units,barcodes",
        "NEW-1,Bolt,EA,0.20,no,,CASE=12;PALLET=480,4006381333931;CASE:14006381333938",
        "NEW-2,Yoghurt,ea,1.10,yes,21,,",
        "NEW-1,Bolt again,EA,,,,,",  # duplicate in the file
        "NEW-3,Bad,EA,-1,maybe,,CASE=x,12345",  # negative cost, bad bool, bad unit, bad GTIN
        "NEW-4,Shelf without lots,EA,,no,10,,",
    )
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="ITEMS", content=content))
    found = errors_of(batch)
    assert (4, "sku", "duplicate") in found
    assert {(5, "standard_cost", "out_of_range"), (5, "lot_tracked", "invalid"), (5, "units", "invalid")} <= found
    assert any(row == 6 for row, _, _ in found)
    assert not Item.objects.filter(sku__startswith="NEW-").exists()

    good = create_batch(user=lead, site=site, kind="ITEMS", content=csv_of(*content.decode().splitlines()[:3]))
    good = validate_batch(user=lead, batch=good)
    assert good.status == "VALIDATED", errors_of(good)
    assert not Item.objects.filter(sku__startswith="NEW-").exists()
    good = approve(good, lead, approver)
    assert good.status == "POSTED" and good.posted_rows == 2
    bolt = Item.objects.get(sku="NEW-1")
    assert {u.code: u.factor for u in bolt.units.all()} == {"EA": 1, "CASE": 12, "PALLET": 480}
    assert ItemBarcode.objects.filter(item=bolt).count() == 2
    assert Item.objects.get(sku="NEW-2").lot_tracked
    # the same SKUs again: duplicates against the database
    again = validate_batch(
        user=lead,
        batch=create_batch(user=lead, site=site, kind="ITEMS", content=csv_of(*content.decode().splitlines()[:2])),
    )
    assert errors_of(again) == {(2, "sku", "unique")}


def test_locations_zones_customers_suppliers(site, lead, approver, other_site):
    locations = csv_of("code,kind,zone,zone_name,capacity", "B-1,STORAGE,Z1,Bulk,500", "B-2,PICK,Z1,,", "B-3,ORBIT,,,")
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="LOCATIONS", content=locations))
    assert errors_of(batch) == {(4, "kind", "invalid_choice")}
    assert not Zone.objects.filter(code="Z1").exists()
    batch = create_batch(user=lead, site=site, kind="LOCATIONS", content=csv_of(*locations.decode().splitlines()[:3]))
    batch = approve(validate_batch(user=lead, batch=batch), lead, approver)
    assert batch.status == "POSTED"
    assert Location.objects.get(site=site, code="B-1").zone.name == "Bulk"
    assert Location.objects.get(site=site, code="B-2").zone.code == "Z1"

    customers = csv_of("code,name,home_site,priority,allow_backorders", "C-1,Acme,DC1,2,no", "C-2,Beta,NOWHERE,9,")
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="CUSTOMERS", content=customers))
    assert {(3, "home_site", "does_not_exist")} <= errors_of(batch)
    suppliers = csv_of("code,name,lead_time_days", "S-1,Parts Inc,5", "S-1,Parts Co,3", "bad code!,X,1")
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="SUPPLIERS", content=suppliers))
    assert (3, "code", "duplicate") in errors_of(batch) and any(r == 4 for r, _, _ in errors_of(batch))
    assert not Customer.objects.exists() and not Supplier.objects.exists()


def test_upload_refusals(site, lead, operator, outsider):
    with pytest.raises(ValidationFailed) as missing:
        create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of("sku,quantity", "X,1"))
    assert {e["code"] for e in missing.value.errors} == {"missing_column"}
    with pytest.raises(ValidationFailed):
        create_batch(
            user=lead, site=site, kind="OPENING_BALANCES", content=csv_of("sku,location,quantity,colour", "X,A,1,red")
        )
    with pytest.raises(ValidationFailed):
        create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB))
    with pytest.raises(ValidationFailed):
        create_batch(
            user=lead, site=site, kind="OPENING_BALANCES", content=b"location,sku,quantity\r\n\xff\xfe,1,1\r\n"
        )
    with pytest.raises(ValidationFailed):
        create_batch(user=lead, site=site, kind="PRICES", content=csv_of("a", "b"))
    with pytest.raises(ValidationFailed):
        create_batch(user=lead, site=site, kind="ITEMS", content=b"PK\x03\x04garbage", file_name="items.xlsx")
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        create_batch(user=operator, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A,B,1,,,,"))
    with pytest.raises(ValidationFailed):
        create_batch(user=outsider, site=site, kind="OPENING_BALANCES", content=csv_of(OB, "A,B,1,,,,"))
    assert not ImportBatch.objects.exists()


def test_xlsx_and_json_rows_and_the_template(site, lead, bins, goods):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["location", "sku", "quantity", "lot", "expiry_date"])
    sheet.append(["A-1", "WIDGET", 7, None, None])
    sheet.append(["A-1", "MILK", 3.0, "L5", __import__("datetime").datetime(2027, 6, 1)])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=buffer.getvalue(), file_name="ob.xlsx")
    assert batch.file_format == "XLSX" and batch.total_rows == 2
    assert validate_batch(user=lead, batch=batch).status == "VALIDATED", errors_of(batch)

    rows = [{"location": "A-1", "sku": "WIDGET", "quantity": 1}, {"location": "A-1", "sku": "WIDGET", "quantity": 1}]
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="OPENING_BALANCES", rows=rows))
    assert errors_of(batch) == {(2, "location", "duplicate")}

    template = template_csv("OPENING_BALANCES").encode()
    header = template.decode().splitlines()[0]
    assert header == "site,location,sku,quantity,unit,lot,expiry_date,status,unit_cost"
    # the template's description row is a comment: the template itself uploads as a file without rows
    with pytest.raises(ValidationFailed) as empty:
        create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=template)
    assert empty.value.errors[0]["code"] == "empty"


def test_reconciliation_against_control_totals_with_the_site_tolerance(site, lead, approver, bins, goods, admin_user):
    set_rule_now(key="cutover.reconciliation_tolerance_percent", value="5", site=site)
    content = csv_of(OB + ",unit_cost", "A-1,WIDGET,100,,,,,3.00", "A-1,MILK,10,,L1,2027-01-01,,")
    batch = approve(
        validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content)),
        lead,
        approver,
    )
    assert batch.status == "POSTED"
    totals = csv_of("sku,site,units,value", "WIDGET,DC1,104,312.00", "MILK,,12,", "GHOST,DC1,5,")
    rec = reconcile_batch(user=lead, batch=batch, content=totals, file_name="totals.csv")
    lines = {line.sku: line for line in rec.lines.all()}
    assert rec.tolerance_percent == Decimal("5.00")
    assert lines["WIDGET"].difference_units == -4 and lines["WIDGET"].within_tolerance
    assert lines["WIDGET"].value_difference == Decimal("-12.00")
    assert lines["MILK"].difference_units == -2 and not lines["MILK"].within_tolerance
    assert lines["MILK"].value_difference == Decimal("-2.00")
    assert lines["GHOST"].system_units == 0 and not lines["GHOST"].within_tolerance
    assert rec.lines_outside == 2 and not rec.within_tolerance

    with pytest.raises(ValidationFailed) as bad:
        reconcile_batch(
            user=lead, batch=batch, rows=[{"sku": "WIDGET", "units": "x"}, {"sku": "MILK", "site": "DC2", "units": 1}]
        )
    assert {e["code"] for e in bad.value.errors} == {"invalid", "other_site"}
    assert batch.reconciliations.count() == 1
    draft = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content)
    with pytest.raises(StateConflict):
        reconcile_batch(user=lead, batch=draft, rows=[{"sku": "WIDGET", "units": 1}])
    assert ApprovalRequest.objects.filter(kind="CUTOVER_BATCH").count() == 1


def test_the_dry_run_stores_its_progress_as_it_goes(site, lead, bins, goods, monkeypatch):
    from cutover.services import checks

    seen = []
    original = checks.check_balances

    def spy(**kwargs):
        progress = kwargs["progress"]

        def record(done):
            progress(done)
            seen.append(ImportBatch.objects.get().rows_done)

        return original(**{**kwargs, "progress": record, "every": 2})

    monkeypatch.setattr("cutover.services.batches.check_balances", spy)
    rows = [f"A-1,WIDGET,1,,,,{status}" for status in ("AVAILABLE", "HOLD", "DAMAGED", "RECEIVED")]
    batch = validate_batch(
        user=lead, batch=create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=csv_of(OB, *rows))
    )
    assert batch.status == "VALIDATED"
    assert seen[0] < 4 and seen == sorted(seen) and seen[-1] == 4


def test_site_rule_overrides_go_through_set_rule_value(site, lead, approver):
    from governance.models import RuleChange, SiteRuleValue
    from governance.services import get_rule

    content = csv_of(
        "key,value,reason",
        "shipping.sscc_extension_digit,4,legacy numbering",
        "cutover.reconciliation_tolerance_percent,2,",  # a control rule: waits for a second person
        "shipping.gs1_company_prefix_digits,8,",  # enterprise standard: no site may differ
        "no.such.rule,1,",
        "shipping.sscc_extension_digit,3,",  # twice
        "waves.max_orders,-5,",  # below its minimum
    )
    batch = validate_batch(user=lead, batch=create_batch(user=lead, site=site, kind="SITE_RULES", content=content))
    found = errors_of(batch)
    assert {(4, "key", "enterprise_rule"), (5, "key", "unknown_rule"), (6, "key", "duplicate")} <= found
    assert any(row == 7 and column == "value" for row, column, _ in found)
    assert not SiteRuleValue.objects.filter(site=site).exists() and not RuleChange.objects.exists()

    good = create_batch(user=lead, site=site, kind="SITE_RULES", content=csv_of(*content.decode().splitlines()[:3]))
    good = approve(validate_batch(user=lead, batch=good), lead, approver)
    assert good.status == "POSTED" and good.posted_rows == 2
    assert get_rule("shipping.sscc_extension_digit", site) == 4
    assert RuleChange.objects.get().status == "PENDING"  # the control rule's override waits for its own approval
    assert get_rule("cutover.reconciliation_tolerance_percent", site) == Decimal("0.5")
