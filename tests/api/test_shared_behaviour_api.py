"""API.md "Shared behaviour": problem+json errors, JSON bodies, pagination caps, Idempotency-Key."""

import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from core.api.idempotency import purge_expired_keys, request_fingerprint
from governance.models import IdempotencyRecord, Site
from inventory.models import Adjustment, Item, Location, StockLevel, StockMove

from .helpers import field_errors, problem

pytestmark = pytest.mark.django_db


def adjustment(**changes):
    body = {
        "site": "DC1",
        "location": "A-01-01",
        "item": "WIDGET",
        "quantity_delta": -3,
        "reason_code": "LOST",
        "note": "cycle check",
    }
    body.update(changes)
    return body


# --- errors -----------------------------------------------------------------------------------------------


def test_invalid_input_is_a_problem_listing_every_field_error(api, operator, site):
    response = api(operator).post("/api/v1/adjustments/", {"quantity_delta": "x"}, format="json")
    errors = field_errors(response)
    assert {"site", "location", "item", "quantity_delta", "reason_code"} <= set(errors)
    assert errors["site"] == "required" and errors["quantity_delta"] == "invalid"


def test_unknown_api_path_is_a_problem_404(api, operator):
    problem(api(operator).get("/api/v1/no-such-thing/"), 404)
    problem(api().get("/api/v1/items/a/b/c/"), 404)


def test_malformed_json_is_a_400_problem_and_changes_nothing(api, admin_user):
    response = api(admin_user).post("/api/v1/sites/", '{"code": "X1",', content_type="application/json")
    problem(response, 400)
    assert not Site.objects.filter(code="X1").exists()


def test_bodies_other_than_json_are_415(api, admin_user):
    response = api(admin_user).post("/api/v1/sites/", {"code": "X1", "name": "x", "region": "r"})  # multipart
    problem(response, 415)
    assert not Site.objects.filter(code="X1").exists()


def test_a_body_that_is_not_an_object_is_400(api, admin_user):
    problem(api(admin_user).post("/api/v1/sites/", ["DC9"], format="json"), 400)
    problem(api(admin_user).post("/api/v1/items/", "WIDGET", format="json"), 400)


def test_nul_characters_in_query_or_path_are_refused_not_a_server_error(api, operator, site):
    client = api(operator)
    problem(client.get("/api/v1/locations/?" + urlencode({"site": "DC\x001"})), 400)
    problem(client.get("/api/v1/items/?" + urlencode({"search": "\x00"})), 400)
    problem(client.get("/api/v1/sites/DC%001/"), 404)


def test_request_body_over_the_limit_is_413_and_creates_nothing(api, admin_user):
    with override_settings(API_MAX_BODY_BYTES=100):
        response = api(admin_user).post("/api/v1/items/", {"sku": "X", "description": "y" * 500}, format="json")
    problem(response, 413)
    assert not Item.objects.filter(sku="X").exists()


# --- pagination ---------------------------------------------------------------------------------------------


def test_page_size_is_capped_at_the_configured_maximum(api, supervisor, site):
    cap = settings.API_MAX_PAGE_SIZE
    Location.objects.bulk_create([Location(site=site, code=f"P-{n:04d}", kind="STORAGE") for n in range(cap + 5)])
    response = api(supervisor).get("/api/v1/locations/?page_size=100000")
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == cap and body["count"] > cap and body["next"]
    assert len(api(supervisor).get("/api/v1/locations/").json()["results"]) == settings.REST_FRAMEWORK["PAGE_SIZE"]


def test_a_page_past_the_end_is_404(api, supervisor, site):
    problem(api(supervisor).get("/api/v1/locations/?page=999"), 404)
    problem(api(supervisor).get("/api/v1/locations/?page=abc"), 404)


def test_a_forged_ledger_cursor_is_404_not_a_server_error(api, supervisor, site):
    forged = base64.b64encode(b"p=not-a-time&r=0").decode()
    problem(api(supervisor).get("/api/v1/stock-moves/", {"cursor": forged}), 404)
    problem(api(supervisor).get("/api/v1/stock-moves/", {"cursor": "a"}), 404)


# --- Idempotency-Key -----------------------------------------------------------------------------------------


@pytest.fixture
def ready(item, storage, stock):
    stock(item, storage, 10)


def test_same_idempotency_key_and_body_replays_the_first_response_and_creates_nothing_more(api, operator, ready):
    client = api(operator)
    first = client.post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Adjustment.objects.count() == 1 and StockLevel.objects.get().available == 7
    assert IdempotencyRecord.objects.get().completed_at is not None


def test_same_idempotency_key_with_a_different_body_is_422_and_creates_nothing(api, operator, ready):
    client = api(operator)
    client.post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    moves = StockMove.objects.count()
    response = client.post(
        "/api/v1/adjustments/", adjustment(quantity_delta=-4), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert problem(response, 422)["code"] == "idempotency_key_reused"
    assert Adjustment.objects.count() == 1 and StockMove.objects.count() == moves


def test_repeat_while_the_first_request_still_runs_is_409_and_creates_nothing(api, operator, ready):
    import psycopg
    from django.db import connection

    from core.api.idempotency import lock_key

    # another process is running the first request: it holds the key's advisory lock until it commits
    dsn = connection.get_connection_params()
    with psycopg.connect(
        dbname=dsn["dbname"], host=dsn.get("host"), port=dsn.get("port"), user=dsn.get("user"), autocommit=False
    ) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(operator.pk, "k-3")])
        response = api(operator).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert problem(response, 409)["code"] == "idempotency_in_progress"
    assert Adjustment.objects.count() == 0 and StockLevel.objects.get().available == 10
    assert not IdempotencyRecord.objects.exists()


def test_the_record_is_written_in_the_documents_transaction_so_a_crash_leaves_nothing(
    api, operator, ready, monkeypatch
):
    """The process dies after the document is written and before the answer: the transaction never commits,
    so there is no adjustment and no claim, and the retry with the same key runs once."""

    original = IdempotencyRecord.objects.create

    def crash(**kwargs):
        assert Adjustment.objects.count() == 1  # the document is written, in the same transaction
        raise SystemExit("killed")  # a BaseException, as close to a SIGKILL as a test gets

    monkeypatch.setattr(IdempotencyRecord.objects, "create", crash)
    with pytest.raises(SystemExit):
        api(operator).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert Adjustment.objects.count() == 0 and StockLevel.objects.get().available == 10
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(IdempotencyRecord.objects, "create", original)
    response = api(operator).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    again = api(operator).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert response.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Adjustment.objects.count() == 1 and StockLevel.objects.get().available == 7


def test_a_claim_left_by_the_old_two_transaction_scheme_does_not_block_the_key(api, operator, ready, rf):
    raw = rf.post("/api/v1/adjustments/", adjustment(), content_type="application/json")
    digest = request_fingerprint(Request(raw, parsers=[JSONParser()]))
    IdempotencyRecord.objects.create(
        user=operator, key="k-6", method="POST", path="/api/v1/adjustments/", request_hash=digest
    )
    response = api(operator).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    assert response.status_code == 201 and Adjustment.objects.count() == 1
    assert IdempotencyRecord.objects.get(key="k-6").completed_at is not None


def test_a_refused_request_releases_its_key_for_the_corrected_request(api, operator, ready):
    client = api(operator)
    refused = client.post(
        "/api/v1/adjustments/", adjustment(quantity_delta=-50), format="json", HTTP_IDEMPOTENCY_KEY="k-5"
    )
    problem(refused, 422)  # only 10 in stock
    assert not IdempotencyRecord.objects.exists()
    fixed = client.post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert fixed.status_code == 201 and Adjustment.objects.count() == 1


def test_idempotency_keys_belong_to_their_user(api, operator, make_user, site, ready):
    colleague = make_user("operator", site)
    api(operator).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = api(colleague).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Adjustment.objects.count() == 2


def test_an_unusable_idempotency_key_is_400_and_creates_nothing(api, operator, ready):
    response = api(operator).post("/api/v1/adjustments/", adjustment(), format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    problem(response, 400)
    assert Adjustment.objects.count() == 0 and not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/sites/", {"code": "BR7", "name": "Branch 7", "region": "WEST", "kind": "BRANCH"}),
        ("/api/v1/items/", {"sku": "NEW-7", "description": "New"}),
        ("/api/v1/locations/", {"site": "DC1", "code": "N-7", "kind": "STORAGE"}),
    ],
)
def test_master_data_creates_honour_idempotency_keys_too(api, admin_user, site, path, body):
    client = api(admin_user)
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="md-1")
    again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="md-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"


def test_purge_removes_only_keys_older_than_the_retention(operator):
    old = IdempotencyRecord.objects.create(user=operator, key="old", method="POST", path="/x/", request_hash="h")
    IdempotencyRecord.objects.create(user=operator, key="new", method="POST", path="/x/", request_hash="h")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(minutes=1)
    )
    assert settings.IDEMPOTENCY_KEY_TTL >= timedelta(hours=24)
    assert purge_expired_keys() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
