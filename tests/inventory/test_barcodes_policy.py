"""GTIN / SSCC check digits and GS1-128 parsing (inventory.policy.barcodes, inventory.policy.gs1): pure, no database.

The published numbers are GS1's and Wikipedia's worked examples; every check digit is also computed here by the
GS1 algorithm written out independently (General Specifications 7.9.1: weights 3 and 1 from the right)."""

import datetime as dt

import pytest

from inventory.policy import gs1
from inventory.policy.barcodes import check_digit, clean_gtin, display_gtin, has_valid_check_digit, sscc

#: GTIN-14 of GS1's Digital Link and General Specifications examples, EAN-13, UPC-A and EAN-8 examples
PUBLISHED = ["09506000134352", "95012345678903", "4006381333931", "036000291452", "96385074"]
#: the SSCC of GS1's examples: extension 1, company prefix 0614141, serial reference 234567890
PUBLISHED_SSCC = "106141412345678908"


def gs1_check_digit(body: str) -> int:
    """The standard's table written out: position 1 is the rightmost digit of the body, odd positions x3."""
    odd = sum(int(d) for d in body[::-1][0::2])
    even = sum(int(d) for d in body[::-1][1::2])
    total = odd * 3 + even
    return (10 - total % 10) % 10


@pytest.mark.parametrize("number", [*PUBLISHED, PUBLISHED_SSCC])
def test_published_numbers_have_the_check_digit_the_algorithm_computes(number):
    assert int(number[-1]) == gs1_check_digit(number[:-1]) == check_digit(number[:-1])
    assert has_valid_check_digit(number)


@pytest.mark.parametrize("body", ["950600013435", "1234567", "0000000000001", "9999999999999", "61414112345678901"])
def test_check_digit_matches_the_written_out_algorithm(body):
    assert check_digit(body) == gs1_check_digit(body)


@pytest.mark.parametrize("number", PUBLISHED)
def test_every_wrong_last_digit_is_refused(number):
    for digit in "0123456789":
        if digit == number[-1]:
            continue
        result = clean_gtin(number[:-1] + digit)
        assert not result.ok and result.code == "bad_check_digit"
        assert f"should be {number[-1]}" in result.error


def test_gtins_of_every_length_normalise_to_gtin_14():
    assert clean_gtin("4006381333931").gtin14 == "04006381333931"
    assert clean_gtin("036000291452").gtin14 == "00036000291452"
    assert clean_gtin("96385074").gtin14 == "00000096385074"
    assert clean_gtin(" 0950 6000 134352 ").gtin14 == "09506000134352"
    # a UPC-A and the EAN-13 with a leading zero are one GTIN
    assert clean_gtin("0036000291452").gtin14 == clean_gtin("036000291452").gtin14
    assert display_gtin("00036000291452") == "036000291452" and display_gtin("00000096385074") == "96385074"


@pytest.mark.parametrize(
    "raw, code",
    [
        ("", "required"),
        ("12345", "invalid_length"),
        ("40063813339311", "bad_check_digit"),
        ("4006381A33931", "not_digits"),
    ],
)
def test_malformed_gtins_say_what_is_wrong(raw, code):
    result = clean_gtin(raw)
    assert not result.ok and result.code == code and result.error


def test_sscc_is_extension_prefix_serial_and_check_digit():
    assert sscc(extension_digit=1, company_prefix="0614141", serial=234567890) == PUBLISHED_SSCC
    made = sscc(extension_digit=0, company_prefix="0614141", serial=7)
    assert made[:17] == "00614141000000007" and int(made[-1]) == gs1_check_digit(made[:17]) and len(made) == 18
    with pytest.raises(ValueError):
        sscc(extension_digit=0, company_prefix="0614141", serial=10**9)  # 9 digits of serial with a 7-digit prefix
    with pytest.raises(ValueError):
        sscc(extension_digit=0, company_prefix="12345", serial=1)


# --- GS1-128 ---------------------------------------------------------------------------------------------------

TODAY = dt.date(2026, 12, 3)


def test_bracketed_label_with_gtin_expiry_lot_and_count():
    label = gs1.parse("(01)09506000134352(17)270131(10)ABC123(37)12", today=TODAY)
    assert label.gtin == "09506000134352" and label.lot == "ABC123"
    assert label.expiry == dt.date(2027, 1, 31) and label.count == 12
    assert label.human_readable() == "(01)09506000134352(17)270131(10)ABC123(37)12"


def test_scanner_data_with_fnc1_separators_reads_the_same():
    data = "]C1" + "0109506000134352" + "10ABC123" + gs1.GS + "37" + "12" + gs1.GS + "17270131"
    label = gs1.parse(data, today=TODAY)
    assert (label.gtin, label.lot, label.count, label.expiry) == ("09506000134352", "ABC123", 12, dt.date(2027, 1, 31))


def test_element_string_round_trips_with_separators_only_after_variable_fields():
    elements = [("01", "09506000134352"), ("10", "LOT7"), ("17", "270131"), ("37", "4")]
    encoded = gs1.element_string(elements)
    assert encoded == "0109506000134352" + "10LOT7" + gs1.GS + "17270131" + "374"
    assert gs1.parse(encoded, today=TODAY).elements == tuple(elements)


def test_sscc_and_contents_of_a_logistic_unit():
    label = gs1.parse(f"(00){PUBLISHED_SSCC}(02)09506000134352(37)24(15)270600", today=TODAY)
    assert label.sscc == PUBLISHED_SSCC and label.content_gtin == "09506000134352" and label.count == 24
    assert label.item_gtin == "09506000134352"
    assert label.best_before == dt.date(2027, 6, 30)  # day 00: the last day of the month


@pytest.mark.parametrize(
    "raw, words",
    [
        ("(01)09506000134353(10)A", "check digit"),
        ("(01)0950600013435(10)A", "14 characters"),
        ("(17)271332", "month 13"),
        ("(17)270230", "does not exist"),
        ("(99)ABC", "not supported"),
        ("(10)" + "A" * 21, "at most 20"),
        ("(10)ABC 1", "does not allow"),
        ("(01)09506000134352(01)09506000134352", "twice"),
        ("(01)09506000134352(10", "Brackets"),
        ("0109506000134352" + "99X", "Unknown"),
    ],
)
def test_bad_labels_are_refused_with_the_reason(raw, words):
    with pytest.raises(gs1.GS1Error) as exc:
        gs1.parse(raw, today=TODAY)
    assert words in str(exc.value)


def test_century_of_two_digit_years_follows_the_gs1_window():
    assert gs1.gs1_date("991231", today=TODAY) == dt.date(1999, 12, 31)  # more than 50 years ahead: last century
    assert gs1.gs1_date("760101", today=TODAY) == dt.date(2076, 1, 1)
    assert gs1.gs1_date("280229", today=TODAY) == dt.date(2028, 2, 29)


def test_what_looks_like_a_gs1_label():
    assert gs1.looks_like_gs1("(01)09506000134352")
    assert gs1.looks_like_gs1("]C10109506000134352")
    assert gs1.looks_like_gs1("010950600013435210ABC")
    assert not gs1.looks_like_gs1("09506000134352")  # a GTIN alone
    assert not gs1.looks_like_gs1("A-01-02") and not gs1.looks_like_gs1("0112345678901234567")  # bad check digit
