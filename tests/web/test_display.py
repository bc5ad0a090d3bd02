"""web.display: what codes read as on the pages (issue 15)."""

from __future__ import annotations

from django.template import Context, Template

from orders.models import SalesOrder
from web import display


def test_field_paths_of_service_errors_read_as_words():
    assert display.field_path_label("lines[1].item") == "Line 2: item"
    assert display.field_path_label("lines[0].unit_price") == "Line 1: unit price"
    assert display.field_path_label("lines[3]") == "Line 4"
    assert display.field_path_label("promised_date") == "Promised date"
    assert display.field_path_label("") == ""


def test_choices_rules_kinds_and_reasons_read_as_their_labels():
    assert display.choice_label(SalesOrder, "status", "PARTIALLY_ALLOCATED") == "Partially allocated"
    assert display.choice_label(SalesOrder, "status", "NOT_A_STATUS") == "NOT_A_STATUS"
    assert display.history_value(SalesOrder, "status", "ON_HOLD") == "On hold"
    assert display.history_value(SalesOrder, "customer_reference", "ON_HOLD") == "ON_HOLD"  # not a choice field
    assert display.rule_label("SHIP_FROM") == "Ship-from site"
    assert display.rule_label("SOMETHING_NEW") == "Something new"
    assert display.approval_kind_label("ORDER_HOLD") == "Order hold release"
    assert display.approval_kind_label("ADJUSTMENT") == "Stock adjustment"
    assert display.approval_kind_label("NEVER_DECLARED") == "Never declared"
    assert display.override_reason_label("LOCATION_FULL") == "Suggested location full"
    assert display.reason_code_label("QUALITY") == "Quality check"  # a hold reason
    assert display.reason_code_label("OPENING_BALANCE") == "Opening balance"  # an adjustment reason
    assert display.reason_code_label("SHORT_PICK") == "Short pick"
    assert display.reason_code_label("typed by hand") == "typed by hand"
    assert display.job_label("allocation_sweep") == "Allocation sweep"


def test_json_values_read_as_text():
    assert display.detail_value(True) == "yes" and display.detail_value(None) == "—"
    assert display.detail_value(["A-1", "A-2"]) == "A-1, A-2"
    assert display.detail_value("LOCATION_FULL") == "Location full"
    assert display.detail_value({"short": 1, "site": "DC1"}) == "short: 1; site: DC1"
    assert display.detail_rows({"purchase_order": "PO-1", "expected_date": "2026-11-25"}) == [
        ("Expected date", "2026-11-25"),
        ("Purchase order", "PO-1"),
    ]
    assert display.counts_text({"announced": 15, "by_site": {"DC1": 2}}) == "announced 15, by site · DC1 2"


def test_the_filters_are_builtins_of_every_template():
    text = Template(
        "{{ s|choice_label:'orders.SalesOrder.status' }}|{{ r|rule_label }}|{{ k|approval_kind }}|{{ p|field_path }}"
        "|{{ j|job_kind }}|{{ c|counts_text }}"
    ).render(
        Context(
            {
                "s": "ON_HOLD",
                "r": "BACKORDER",
                "k": "TRANSFER",
                "p": "lines[0].quantity",
                "j": "outbox_purge",
                "c": {"announced": 3},
            }
        )
    )
    assert text == "On hold|Backordered|Transfer|Line 1: quantity|Outbox purge|announced 3"
