"""Item and unit barcodes through inventory services and the items/ API: validated GTINs, unique across items
(an EAN-13 and its UPC-A form are one code), bad or duplicate codes are field errors that change nothing."""

import pytest

from core.errors import ValidationFailed
from inventory.models import Item, ItemBarcode
from inventory.services import add_item_barcode, create_item, remove_item_barcode, update_item

pytestmark = pytest.mark.django_db

EAN = "4006381333931"
UPC = "036000291452"
CASE_GTIN = "14006381333938"  # indicator digit 1 + the EAN's first 12 digits + check digit


@pytest.fixture
def planner(make_user, site):
    return make_user("planner", site, username="planner1")


@pytest.fixture
def widget(planner):
    return create_item(
        user=planner,
        sku="WIDGET",
        description="Widget",
        units=[{"code": "CASE", "factor": 12}],
        barcodes=[{"gtin": EAN}, {"gtin": CASE_GTIN, "unit": "CASE"}],
    )


def test_item_is_created_with_item_and_case_barcodes_as_gtin_14(widget):
    rows = {b.gtin: (b.unit.code if b.unit_id else None) for b in widget.barcodes.all()}
    assert rows == {"0" + EAN: None, CASE_GTIN: "CASE"}
    assert ItemBarcode.history.count() == 2


def test_a_gtin_of_another_item_is_refused_and_nothing_is_written(widget, planner):
    with pytest.raises(ValidationFailed) as exc:
        create_item(user=planner, sku="OTHER", description="Other", barcodes=[{"gtin": "0" + EAN}])
    assert exc.value.errors[0]["field"] == "barcodes[0].gtin" and exc.value.errors[0]["code"] == "unique"
    assert "WIDGET" in exc.value.message
    assert not Item.objects.filter(sku="OTHER").exists()


def test_the_upc_and_its_ean_13_form_are_one_code(planner):
    create_item(user=planner, sku="CAN", description="Can", barcodes=[{"gtin": UPC}])
    with pytest.raises(ValidationFailed) as exc:
        create_item(user=planner, sku="CAN2", description="Can 2", barcodes=[{"gtin": "0" + UPC}])
    assert exc.value.errors[0]["code"] == "unique"


def test_update_replaces_the_list_and_a_bad_code_changes_nothing(widget, planner):
    with pytest.raises(ValidationFailed) as exc:
        update_item(user=planner, item=widget, barcodes=[{"gtin": EAN}, {"gtin": "14006381333939", "unit": "CASE"}])
    assert exc.value.errors[0]["field"] == "barcodes[1].gtin" and exc.value.errors[0]["code"] == "bad_check_digit"
    assert widget.barcodes.count() == 2
    update_item(user=planner, item=widget, barcodes=[{"gtin": CASE_GTIN, "unit": "CASE"}])
    assert list(widget.barcodes.values_list("gtin", flat=True)) == [CASE_GTIN]


def test_unknown_unit_and_duplicates_in_one_request_are_field_errors(widget, planner):
    with pytest.raises(ValidationFailed) as exc:
        update_item(user=planner, item=widget, barcodes=[{"gtin": EAN, "unit": "PALLET"}])
    assert exc.value.errors[0] == {
        "field": "barcodes[0].unit",
        "code": "unknown_unit",
        "message": "WIDGET has no unit PALLET; known units: CASE, EA.",
    }
    with pytest.raises(ValidationFailed) as exc:
        update_item(user=planner, item=widget, barcodes=[{"gtin": EAN}, {"gtin": "0" + EAN}])
    assert exc.value.errors[0]["code"] == "duplicate"
    assert widget.barcodes.count() == 2


def test_add_and_remove_one_barcode(widget, planner, supervisor):
    added = add_item_barcode(user=planner, item=widget, gtin="96385074")
    assert added.gtin == "00000096385074"
    with pytest.raises(ValidationFailed) as exc:
        add_item_barcode(user=planner, item=widget, gtin="96385074")
    assert exc.value.errors[0]["field"] == "gtin"
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        add_item_barcode(user=supervisor, item=widget, gtin="036000291452")
    remove_item_barcode(user=planner, barcode=added)
    assert widget.barcodes.count() == 2


def test_removing_a_unit_drops_its_barcodes(widget, planner):
    update_item(user=planner, item=widget, units=[])
    assert list(widget.barcodes.values_list("gtin", flat=True)) == ["0" + EAN]


# --- API -----------------------------------------------------------------------------------------------------


def test_items_api_reads_and_writes_barcodes(api, planner):
    client = api(planner)
    created = client.post(
        "/api/v1/items/",
        {
            "sku": "BOLT",
            "description": "Bolt",
            "units": [{"code": "CASE", "factor": 100}],
            "barcodes": [{"gtin": UPC}, {"gtin": "10036000291459", "unit": "case"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["barcodes"] == [
        {"gtin": "00036000291452", "unit": "EA"},
        {"gtin": "10036000291459", "unit": "CASE"},
    ]
    item = client.get("/api/v1/items/BOLT/")
    changed = client.patch(
        "/api/v1/items/BOLT/", {"barcodes": [{"gtin": UPC}]}, format="json", HTTP_IF_MATCH=item["ETag"]
    )
    assert changed.status_code == 200 and changed.json()["barcodes"] == [{"gtin": "00036000291452", "unit": "EA"}]


def test_items_api_refuses_bad_and_duplicate_codes_with_field_errors(api, planner, widget):
    client = api(planner)
    bad = client.post(
        "/api/v1/items/", {"sku": "NEW", "description": "New", "barcodes": [{"gtin": "4006381333932"}]}, format="json"
    )
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "barcodes[0].gtin"
    assert bad.json()["errors"][0]["code"] == "bad_check_digit"
    duplicate = client.patch("/api/v1/items/WIDGET/", {"barcodes": [{"gtin": "036000291452"}]}, format="json")
    assert duplicate.status_code == 200  # a free code
    taken = client.post(
        "/api/v1/items/", {"sku": "NEW", "description": "New", "barcodes": [{"gtin": UPC}]}, format="json"
    )
    assert taken.status_code == 400 and taken.json()["errors"][0]["code"] == "unique"
    assert not Item.objects.filter(sku="NEW").exists()
    assert list(widget.barcodes.values_list("gtin", flat=True)) == ["00036000291452"]
