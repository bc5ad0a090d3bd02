"""replenishment/policies/, pick-faces/, runs/, suggestions/ and tasks/ through the API: one test per behaviour,
refusals asserting nothing changed, other sites' objects are 404."""

import pytest

from inventory.models import Location, StockQuant
from orders.models import PickFacePolicy, PurchaseOrder, ReplenishmentPolicy, ReplenishmentRun, ReplenishmentSuggestion
from orders.services import create_supplier
from orders.services.replenishment import create_pick_face_policy, create_policy, execute_run
from tests.api.helpers import field_errors, history_user, problem
from tests.factories import LocationFactory
from warehouse.models import ReplenishmentTask
from warehouse.services.replenishment import sweep_pick_faces

pytestmark = pytest.mark.django_db

POLICIES = "/api/v1/replenishment/policies/"
PICK_FACES = "/api/v1/replenishment/pick-faces/"
RUNS = "/api/v1/replenishment/runs/"
SUGGESTIONS = "/api/v1/replenishment/suggestions/"
TASKS = "/api/v1/replenishment/tasks/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def planner(make_user, site):
    return make_user("planner", site, username="planner1")


@pytest.fixture
def supplier(db):
    return create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=4)


@pytest.fixture
def suggestion(site, item, supplier):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    run = ReplenishmentRun.objects.create(site=site)
    execute_run(run_id=run.pk)
    return ReplenishmentSuggestion.objects.get()


def test_a_planner_creates_a_policy_by_natural_keys_with_history(api, planner, site, item, supplier):
    body = {
        "site": "DC1",
        "item": "WIDGET",
        "method": "REORDER_POINT",
        "service_level": "0.98",
        "review_days": 14,
        "pack_multiple": 12,
        "min_order_quantity": 48,
        "supplier": "SUP1",
    }
    response = api(planner).post(POLICIES, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert {k: data[k] for k in ("site", "item", "method", "service_level", "supplier", "pack_multiple")} == {
        "site": "DC1",
        "item": "WIDGET",
        "method": "REORDER_POINT",
        "service_level": "0.9800",
        "supplier": "SUP1",
        "pack_multiple": 12,
    }
    assert response["ETag"]
    assert history_user(ReplenishmentPolicy.objects.get()) == planner


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"min_quantity": 10, "max_quantity": 5}, "max_quantity"),
        ({"service_level": "1.0"}, "service_level"),
        ({"pack_multiple": 0}, "pack_multiple"),
        ({"method": "GUESS"}, "method"),
        ({"supplier": "NOPE"}, "supplier"),
        ({"item": "NOPE"}, "item"),
        ({"site": "DC2"}, "site"),
    ],
)
def test_an_invalid_policy_is_refused_and_nothing_is_created(
    api, planner, site, other_site, item, supplier, change, field
):
    body = {"site": "DC1", "item": "WIDGET", "method": "MIN_MAX", "min_quantity": 1, "max_quantity": 10, **change}
    assert field in field_errors(api(planner).post(POLICIES, body, format="json"))
    assert ReplenishmentPolicy.objects.count() == 0


def test_only_planners_supervisors_and_admins_write_policies(api, operator, site, item):
    body = {"site": "DC1", "item": "WIDGET", "method": "MIN_MAX", "min_quantity": 1, "max_quantity": 10}
    problem(api(operator).post(POLICIES, body, format="json"), 403)
    assert ReplenishmentPolicy.objects.count() == 0


def test_a_second_policy_for_the_same_item_and_site_is_refused(api, planner, site, item):
    create_policy(user=None, site=site, item=item, min_quantity=1, max_quantity=10)
    body = {"site": "DC1", "item": "WIDGET", "method": "MIN_MAX", "min_quantity": 2, "max_quantity": 20}
    assert field_errors(api(planner).post(POLICIES, body, format="json")) == {"item": "unique"}
    assert ReplenishmentPolicy.objects.get().max_quantity == 10


def test_patching_a_policy_with_a_stale_etag_is_refused(api, planner, site, item):
    policy = create_policy(user=None, site=site, item=item, min_quantity=1, max_quantity=10)
    client = api(planner)
    etag = client.get(f"{POLICIES}{policy.pk}/")["ETag"]
    first = client.patch(f"{POLICIES}{policy.pk}/", {"max_quantity": 30}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first.json()["max_quantity"] == 30
    problem(client.patch(f"{POLICIES}{policy.pk}/", {"max_quantity": 99}, format="json", HTTP_IF_MATCH=etag), 412)
    assert ReplenishmentPolicy.objects.get().max_quantity == 30
    assert history_user(ReplenishmentPolicy.objects.get()) == planner


def test_policies_of_another_site_are_hidden_and_404(api, outsider, site, item):
    policy = create_policy(user=None, site=site, item=item, min_quantity=1, max_quantity=10)
    client = api(outsider)
    assert client.get(POLICIES).json()["results"] == []
    problem(client.get(f"{POLICIES}{policy.pk}/"), 404)
    problem(client.patch(f"{POLICIES}{policy.pk}/", {"max_quantity": 99}, format="json"), 404)
    assert ReplenishmentPolicy.objects.get().max_quantity == 10


def test_pick_face_min_max_is_set_on_a_pick_location(api, planner, site, item):
    LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK)
    LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    client = api(planner)
    body = {"site": "DC1", "location": "P-01", "item": "WIDGET", "min_quantity": 4, "max_quantity": 40}
    response = client.post(PICK_FACES, body, format="json")
    assert response.status_code == 201, response.content
    assert {k: response.json()[k] for k in ("location", "item", "min_quantity", "max_quantity")} == {
        "location": "P-01",
        "item": "WIDGET",
        "min_quantity": 4,
        "max_quantity": 40,
    }
    assert field_errors(client.post(PICK_FACES, {**body, "location": "B-01"}, format="json")) == {
        "location": "not_pick"
    }
    assert field_errors(client.post(PICK_FACES, {**body, "location": "P-99"}, format="json")) == {
        "location": "does_not_exist"
    }
    assert PickFacePolicy.objects.count() == 1


def test_starting_a_run_answers_202_and_the_worker_plans_it(
    api, planner, site, item, supplier, django_capture_on_commit_callbacks
):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(planner).post(RUNS, {"site": "DC1"}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "QUEUED" and response.json()["requested_by"] == "planner1"
    run = api(planner).get(f"{RUNS}{response.json()['id']}/").json()
    assert run["status"] == "SUCCEEDED" and run["counts"]["purchase_suggestions"] == 1
    assert [r["id"] for r in api(planner).get(f"{RUNS}?site=DC1").json()["results"]] == [run["id"]]


def test_runs_are_refused_to_operators_and_other_sites(api, operator, outsider, site):
    problem(api(operator).post(RUNS, {"site": "DC1"}, format="json"), 403)
    assert field_errors(api(outsider).post(RUNS, {"site": "DC1"}, format="json")) == {"site": "does_not_exist"}
    assert ReplenishmentRun.objects.count() == 0


def test_suggestions_show_every_number_and_accepting_creates_the_purchase_order(api, planner, suggestion):
    client = api(planner)
    (row,) = client.get(f"{SUGGESTIONS}?site=DC1&status=OPEN").json()["results"]
    assert (row["kind"], row["item"], row["quantity"], row["supplier"], row["source_site"]) == (
        "PURCHASE",
        "WIDGET",
        50,
        "SUP1",
        None,
    )
    assert row["reason"]["position"]["projected"] == 0 and row["reason"]["order_up_to"] == 50

    response = client.post(f"{SUGGESTIONS}{row['id']}/accept/", {"note": "ok"}, format="json")

    assert response.status_code == 200
    accepted = response.json()
    po = PurchaseOrder.objects.get()
    assert (accepted["status"], accepted["purchase_order"], accepted["decided_by"]) == (
        "ACCEPTED",
        po.number,
        "planner1",
    )
    problem(client.post(f"{SUGGESTIONS}{row['id']}/accept/", {}, format="json"), 409)
    problem(client.post(f"{SUGGESTIONS}{row['id']}/dismiss/", {}, format="json"), 409)
    assert PurchaseOrder.objects.count() == 1


def test_dismissing_a_suggestion(api, planner, suggestion):
    response = api(planner).post(f"{SUGGESTIONS}{suggestion.pk}/dismiss/", {"note": "seasonal"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "DISMISSED"
    assert response.json()["decision_note"] == "seasonal" and PurchaseOrder.objects.count() == 0


def test_suggestions_of_another_site_are_hidden_and_404(api, outsider, suggestion):
    client = api(outsider)
    assert client.get(SUGGESTIONS).json()["results"] == []
    problem(client.get(f"{SUGGESTIONS}{suggestion.pk}/"), 404)
    problem(client.post(f"{SUGGESTIONS}{suggestion.pk}/accept/", {}, format="json"), 404)
    problem(client.post(f"{SUGGESTIONS}{suggestion.pk}/dismiss/", {}, format="json"), 404)
    suggestion.refresh_from_db()
    assert suggestion.status == "OPEN" and PurchaseOrder.objects.count() == 0


def test_an_operator_cannot_accept_a_suggestion(api, operator, suggestion):
    problem(api(operator).post(f"{SUGGESTIONS}{suggestion.pk}/accept/", {}, format="json"), 403)
    suggestion.refresh_from_db()
    assert suggestion.status == "OPEN" and PurchaseOrder.objects.count() == 0


def test_replenishment_tasks_are_confirmed_by_scanning(api, operator, outsider, site, item, stock):
    face = LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK)
    bulk = LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    stock(item, bulk, 100)
    create_pick_face_policy(user=None, location=face, item=item, min_quantity=5, max_quantity=40)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()
    client = api(operator)
    (row,) = client.get(f"{TASKS}?site=DC1&status=OPEN").json()["results"]
    assert (row["from_location"], row["to_location"], row["quantity"], row["trigger"]) == ("B-01", "P-01", 40, "MIN")

    problem(api(outsider).post(f"{TASKS}{task.pk}/confirm/", {"quantity": 40, "location": "B-01"}, format="json"), 404)
    assert field_errors(
        client.post(f"{TASKS}{task.pk}/confirm/", {"quantity": 40, "location": "B-09"}, format="json")
    ) == {"location": "wrong_location"}
    assert not StockQuant.objects.filter(location=face, quantity__gt=0).exists()

    response = client.post(f"{TASKS}{task.pk}/confirm/", {"quantity": 40, "location": "B-01"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "DONE"
    assert StockQuant.objects.get(location=face, item=item).quantity == 40
    assert history_user(ReplenishmentTask.objects.get()) == operator
