"""inventory.policy.scanning.item_scan: what an item scan gives a confirmation (the SKU, a GTIN of the item or a
unit, a GS1-128 label) or why it is refused. Pure: no database. GTINs are GS1's published examples."""

import datetime as dt

from inventory.policy import gs1
from inventory.policy.scanning import item_scan

GTINS = {"09506000134352": 1, "19506000134359": 12}  # each, and the case of 12 (as tests/warehouse/test_scan_gs1)


def scan(scanned, **kw):
    return item_scan(scanned, sku="WIDGET", gtins=GTINS, **kw)


def test_nothing_scanned_and_the_sku_are_not_barcodes():
    assert scan("") == item_scan("  ", sku="WIDGET", gtins=GTINS) and not scan("").problem
    sku = scan("WIDGET")
    assert (sku.sku, sku.factor, sku.barcode, sku.problem) == ("WIDGET", 1, False, False)


def test_a_case_gtin_names_the_item_with_its_factor():
    case = scan("19506000134359")
    assert (case.sku, case.factor, case.quantity, case.barcode) == ("WIDGET", 12, None, True)
    assert scan("9506000134352").factor == 1  # the EAN-13 form of the each's GTIN-14


def test_a_gs1_label_gives_lot_expiry_and_its_count_in_base_units():
    label = scan("]C1" + "0119506000134359" + "17270131" + "10L1" + gs1.GS + "373\r", task_lot="L1")
    assert (label.sku, label.lot, label.expiry, label.quantity) == ("WIDGET", "L1", dt.date(2027, 1, 31), 36)
    assert scan("(01)19506000134359(10)L1").quantity == 12  # no count: one case


def test_refusals_name_what_was_scanned():
    other = scan("4006381333931", owner_of={"04006381333931": "OTHER"})
    assert (other.code, other.field) == ("wrong_item", "item") and "4006381333931" in other.message
    assert "the barcode of OTHER" in other.message and "WIDGET" in other.message
    bad = scan("(01)09506000134353(10)L1")
    assert bad.code == "bad_label" and "check digit" in bad.message and "09506000134353" in bad.message
    lot = scan("(01)09506000134352(10)L2", task_lot="L1")
    assert (lot.code, lot.field) == ("wrong_lot", "item") and "lot L2" in lot.message
    given = scan("(01)09506000134352(10)L2", lot="L3")
    assert (given.code, given.field) == ("lot_mismatch", "lot")
    assert scan("(00)106141412345678908").code == "not_an_item_label"
    text = scan("GADGET")
    assert (text.code, text.barcode, text.sku) == ("wrong_item", False, "GADGET")
