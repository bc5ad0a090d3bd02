"""items/: enterprise master data by SKU, readable by everyone, maintained by admins and planners, with ETags."""

import pytest

from inventory.models import Item, ItemSubstitute
from tests.factories import ItemFactory

from .helpers import field_errors, history_user, problem

pytestmark = pytest.mark.django_db

NEW = {
    "sku": "NEW-1",
    "description": "New",
    "standard_cost": "2.50",
    "units": [{"code": "case", "factor": 6}],
    "abc_class": "A",
}


@pytest.fixture
def planner(make_user, site):
    return make_user("planner", site, username="planner1")


def test_admins_and_planners_create_items_with_units_substitutes_and_history(api, planner):
    ItemFactory(sku="OLD-1")
    response = api(planner).post("/api/v1/items/", {**NEW, "substitutes": ["OLD-1"]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {"code": "CASE", "factor": 6} in body["units"] and {"code": "EA", "factor": 1} in body["units"]
    assert body["substitutes"] == ["OLD-1"] and body["standard_cost"] == "2.50" and response["ETag"]
    item = Item.objects.get(sku="NEW-1")
    assert history_user(item) == planner
    assert ItemSubstitute.objects.get(item=item).substitute.sku == "OLD-1"


def test_every_signed_in_user_reads_items(api, outsider, operator):
    ItemFactory(sku="SHARED", abc_class="A")
    ItemFactory(sku="OTHER", abc_class="C")
    detail = api(outsider).get("/api/v1/items/SHARED/")
    assert detail.status_code == 200 and detail["ETag"] and detail.json()["sku"] == "SHARED"
    assert [i["sku"] for i in api(operator).get("/api/v1/items/?abc_class=A").json()["results"]] == ["SHARED"]
    assert [i["sku"] for i in api(operator).get("/api/v1/items/?search=oth").json()["results"]] == ["OTHER"]
    problem(api(operator).get("/api/v1/items/NOPE/"), 404)


def test_users_without_a_master_data_role_cannot_create_or_change_items(api, supervisor, item):
    problem(api(supervisor).post("/api/v1/items/", NEW, format="json"), 403)
    problem(api(supervisor).patch("/api/v1/items/WIDGET/", {"description": "x"}, format="json"), 403)
    assert not Item.objects.filter(sku="NEW-1").exists()
    assert Item.objects.get(sku="WIDGET").description != "x"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"standard_cost": "-1"}, "standard_cost"),
        ({"standard_cost": "abc"}, "standard_cost"),
        ({"standard_cost": "1.234"}, "standard_cost"),
        ({"units": [{"code": "CASE", "factor": 0}]}, "units[0].factor"),
        ({"units": [{"code": "CASE", "factor": 1.5}]}, "units[0].factor"),
        ({"units": [{"code": "C A", "factor": 2}]}, "units[0].code"),
        ({"units": [{"code": "EA", "factor": 5}]}, "units[0].factor"),
        ({"sku": "has/slash"}, "sku"),
        ({"sku": ""}, "sku"),
        ({"sku": "WIDGET"}, "sku"),
        ({"substitutes": ["NOPE"]}, "substitutes[0]"),
        ({"base_unit": "KG"}, "base_unit"),
        ({"shelf_life_days": 30, "lot_tracked": False}, "non_field_errors"),
        ({"lot_tracked": "maybe"}, "lot_tracked"),
    ],
)
def test_invalid_items_are_400_and_create_nothing(api, admin_user, item, changes, field):
    before = Item.objects.count()
    errors = field_errors(api(admin_user).post("/api/v1/items/", {**NEW, **changes}, format="json"))
    assert field in errors, errors
    assert Item.objects.count() == before


def test_an_item_is_changed_with_its_current_etag_and_a_stale_one_is_412(api, planner, item):
    client = api(planner)
    etag = client.get("/api/v1/items/WIDGET/")["ETag"]
    changed = client.patch("/api/v1/items/WIDGET/", {"description": "Renamed"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert history_user(Item.objects.get(sku="WIDGET")) == planner
    stale = client.patch("/api/v1/items/WIDGET/", {"description": "Lost update"}, format="json", HTTP_IF_MATCH=etag)
    assert problem(stale, 412)["code"] == "stale_etag"
    assert Item.objects.get(sku="WIDGET").description == "Renamed"
    assert (
        client.patch("/api/v1/items/WIDGET/", {"abc_class": "A"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    )


def test_patch_without_if_match_applies_and_replaces_units(api, planner, item):
    response = api(planner).patch(
        "/api/v1/items/WIDGET/", {"units": [{"code": "PALLET", "factor": 480}]}, format="json"
    )
    assert response.status_code == 200
    assert {u["code"] for u in response.json()["units"]} == {"EA", "PALLET"}


def test_server_owned_and_identifying_fields_are_read_only_on_patch(api, planner, item):
    before = Item.objects.get(sku="WIDGET")
    response = api(planner).patch(
        "/api/v1/items/WIDGET/",
        {"sku": "RENAMED", "id": 999, "created_at": "2000-01-01T00:00:00Z", "description": "d"},
        format="json",
    )
    assert response.status_code == 200
    after = Item.objects.get(pk=before.pk)
    assert (after.sku, after.created_at, after.description) == ("WIDGET", before.created_at, "d")


def test_invalid_patch_is_400_and_changes_nothing(api, planner, item):
    before = Item.objects.get(sku="WIDGET")
    assert "standard_cost" in field_errors(
        api(planner).patch("/api/v1/items/WIDGET/", {"standard_cost": "-5", "description": "x"}, format="json")
    )
    after = Item.objects.get(pk=before.pk)
    assert (after.standard_cost, after.description, after.updated_at) == (
        before.standard_cost,
        before.description,
        before.updated_at,
    )


def test_lot_tracking_cannot_change_while_stock_is_on_hand_409(api, planner, item, storage, stock):
    stock(item, storage, 5)
    problem(api(planner).patch("/api/v1/items/WIDGET/", {"lot_tracked": True}, format="json"), 409)
    assert Item.objects.get(sku="WIDGET").lot_tracked is False
