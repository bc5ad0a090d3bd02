"""The one scan check (warehouse.policy.scan) accepts an item's barcodes: its GTIN, a unit's GTIN, and a GS1-128
label, which also fills lot, expiry and quantity. Pure: no database."""

from inventory.policy import gs1
from warehouse.policy import scan

GTINS = {"09506000134352": 1, "19506000134359": 12}  # each, and the case of 12 (indicator digit 1)


def test_the_case_gtin_has_a_valid_check_digit():
    from inventory.policy.barcodes import has_valid_check_digit

    assert all(has_valid_check_digit(g) for g in GTINS)


def test_sku_and_lot_labels_still_pass():
    assert scan.check_item(sku="WIDGET", scanned="WIDGET", gtins=GTINS).ok
    assert scan.check_item(sku="WIDGET", lot="L1", scanned="L1", gtins=GTINS).ok


def test_an_ean_13_of_the_item_passes_and_another_gtin_does_not():
    assert scan.check_item(sku="WIDGET", scanned="9506000134352", gtins=GTINS).ok
    wrong = scan.check_item(sku="WIDGET", scanned="4006381333931", gtins=GTINS)
    assert not wrong.ok and "Wrong item" in wrong.message


def test_a_gs1_128_label_of_the_case_fills_lot_expiry_and_quantity():
    check = scan.check_item(sku="WIDGET", scanned="(01)19506000134359(17)270131(10)L1(37)3", gtins=GTINS, task_lot="L1")
    assert check.ok
    assert check.fill == {"lot": "L1", "expiry": "2027-01-31", "quantity": 36}


def test_scanner_data_with_gs_separators_survives_normalise():
    raw = "]C1" + "0109506000134352" + "10L1" + gs1.GS + "375\r"
    assert scan.normalise(raw).endswith("375")
    check = scan.check_item(sku="WIDGET", scanned=raw, gtins=GTINS, task_lot="L1")
    assert check.ok and check.fill["quantity"] == 5


def test_a_label_of_another_lot_is_refused():
    check = scan.check_item(sku="WIDGET", scanned="(01)09506000134352(10)L2", gtins=GTINS, task_lot="L1")
    assert not check.ok and "lot L2" in check.message


def test_a_malformed_label_is_refused_with_the_reason():
    check = scan.check_item(sku="WIDGET", scanned="(01)09506000134353(10)L1", gtins=GTINS)
    assert not check.ok and "check digit" in check.message


def test_lot_field_takes_the_lot_of_a_scanned_label():
    assert scan.lot_from_scan("(01)09506000134352(10)L1") == "L1"
    assert scan.check_lot(expected="L1", scanned="(01)09506000134352(10)L1").ok


def test_scanned_sku_names_the_task_item_for_its_barcodes_only():
    assert scan.scanned_sku(scanned="(01)19506000134359(37)2", sku="WIDGET", gtins=GTINS) == "WIDGET"
    assert scan.scanned_sku(scanned="4006381333931", sku="WIDGET", gtins=GTINS) == "4006381333931"
    # and the confirmation check refuses what is not the task's item
    problems = scan.confirmation_problems(
        quantity=1,
        maximum=5,
        location_code="B-01",
        expected_location="B-01",
        item_sku="4006381333931",
        expected_sku="WIDGET",
    )
    assert problems and problems[0].code == "wrong_item"
