"""Issue 12, finding 6: bad input gets a clear 4xx, never a 500, and changes nothing.

Replays of the finding (each answered 500, or Django's HTML CSRF page, before the fix):
- deeply nested JSON bodies (RecursionError in the JSON parser, on every endpoint);
- a lone surrogate such as ``"\\ud800"`` in a JSON string (UnicodeEncodeError when it reached the database);
- NUL in a query parameter on the pages (DataError from PostgreSQL);
- KPI dates near year 1 or 9999 (OverflowError in the period arithmetic);
- ``OPTIONS site-rules/{key}/`` (the metadata looked the rule up as a site);
- a path under /api/v1/ that matches no route, written to without a CSRF cookie (Django's HTML CSRF page).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.api.parsers import MAX_JSON_DEPTH
from governance.api.authentication import generate_token
from governance.models import ApprovalRequest, SiteRuleValue
from inventory.models import Adjustment, Location, StockMove
from orders.models import ReplenishmentRun
from tests.api.helpers import problem

pytestmark = pytest.mark.django_db

RULE = "inventory.adjustment_approval_value"


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def _nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def client_of(db):
    """client_of(user) -> a token client that enforces CSRF like a real HTTP client and never raises."""

    def _make(user):
        _, key = generate_token(user=user)
        return Client(enforce_csrf_checks=True, raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {key}")

    return _make


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Adjustment, Location, StockMove, SiteRuleValue, ApprovalRequest, ReplenishmentRun)
    }


WRITES = [
    ("post", "/api/v1/adjustments/"),
    ("post", "/api/v1/locations/"),
    ("post", "/api/v1/sites/"),
    ("post", "/api/v1/sales-orders/"),
    ("post", "/api/v1/replenishment/runs/"),
    ("put", f"/api/v1/site-rules/{RULE}/"),
    ("post", "/api/v1/items/"),
]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 100_000])
@pytest.mark.parametrize(("method", "path"), WRITES)
def test_deeply_nested_json_is_a_400_problem_and_changes_nothing(client_of, admin_user, site, method, path, depth):
    before = _counts()
    for body in (_nested(depth), _nested_object(depth)):
        response = getattr(client_of(admin_user), method)(path, data=body, content_type="application/json")
        body_json = problem(response, 400)
        assert body_json["code"] == "parse_error"
        assert "nested" in body_json["detail"]
    assert _counts() == before


def test_json_nested_within_the_limit_still_reaches_the_serializer(client_of, admin_user, site):
    body = '{"site": "DC1", "code": "X-1", "kind": "STORAGE", "extra": ' + _nested(MAX_JSON_DEPTH - 1) + "}"
    response = client_of(admin_user).post("/api/v1/locations/", data=body, content_type="application/json")
    assert response.status_code == 201, response.content


SURROGATE_BODIES = [
    (
        "post",
        "/api/v1/adjustments/",
        '{"site": "\\ud800", "location": "A-01-01", "item": "WIDGET", '
        '"quantity_delta": 1, "reason_code": "LOST", "note": "x"}',
    ),
    (
        "post",
        "/api/v1/adjustments/",
        '{"site": "DC1", "location": "\\udfff", "item": "\\ud800x", '
        '"quantity_delta": 1, "reason_code": "LOST", "note": "x"}',
    ),
    ("post", "/api/v1/locations/", '{"site": "\\ud800", "code": "A-9", "kind": "STORAGE"}'),
    ("post", "/api/v1/locations/", '{"site": "DC1", "code": "A-9", "kind": "STORAGE", "zone": "\\ud800"}'),
    ("post", "/api/v1/replenishment/runs/", '{"site": "\\ud800"}'),
    ("post", "/api/v1/replenishment/runs/", '{"site": "DC1", "items": ["\\ud800"]}'),
    ("put", f"/api/v1/site-rules/{RULE}/", '{"site": "\\ud800", "value": "10", "reason": "r"}'),
    ("put", f"/api/v1/site-rules/{RULE}/", '{"site": "DC1", "value": "\\ud800", "reason": "r"}'),
    ("put", f"/api/v1/site-rules/{RULE}/", '{"site": "DC1", "value": {"\\ud800": 1}, "reason": "r"}'),
    ("post", "/api/v1/sales-orders/", '{"site": "DC1", "customer": "\\ud83d", "lines": []}'),
]


@pytest.mark.parametrize(("method", "path", "body"), SURROGATE_BODIES)
def test_a_lone_surrogate_in_a_json_string_is_a_400_problem_and_changes_nothing(
    client_of, admin_user, site, storage, item, method, path, body
):
    before = _counts()
    response = getattr(client_of(admin_user), method)(path, data=body, content_type="application/json")
    assert "surrogate" in problem(response, 400)["detail"].lower()
    assert _counts() == before


def test_a_proper_surrogate_pair_is_still_text(client_of, admin_user, site, storage, item):
    body = '{"site": "DC1", "location": "A-01-01", "item": "WIDGET", "quantity_delta": 1, "reason_code": "FOUND", '
    body += '"note": "box \\ud83d\\udce6"}'
    response = client_of(admin_user).post("/api/v1/adjustments/", data=body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Adjustment.objects.get().note == "box \U0001f4e6"


# --- NUL in the query string of pages ----------------------------------------------------------------------------


def _page_paths() -> list[str]:
    """Every page URL of the web app without a path parameter."""
    out = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and "<" not in str(p.pattern):
                out.append("/" + prefix + str(p.pattern))

    resolver = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "web")
    walk(resolver.url_patterns, str(resolver.pattern))
    return sorted(set(out))


PAGE_PATHS = _page_paths()
NUL_QUERIES = ["q=a%00b&status=x%00&site=DC1%00&sort=%00&format=csv%00", "page=1%00", "a%00=1"]


def test_the_walk_sees_the_pages():
    assert len(PAGE_PATHS) >= 25 and "/orders/" in PAGE_PATHS and "/search/" in PAGE_PATHS


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_nul_in_a_page_query_is_a_400_page(make_user, site, path):
    supervisor = make_user(["supervisor", "coordinator", "operator"], site, username="nul-walker")
    before = _counts()
    for user in (supervisor,):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for query in NUL_QUERIES:
            for method in ("get", "post"):
                response = getattr(client, method)(f"{path}?{query}")
                assert response.status_code == 400, (method, path, query, response.status_code)
                assert response["Content-Type"].startswith("text/html")
                assert b"Bad request" in response.content and b"NUL" in response.content
    assert _counts() == before


def test_nul_in_a_page_path_is_a_4xx_page(client, supervisor, site):
    client.force_login(supervisor)
    client.raise_request_exception = False
    for path in ("/orders/A%00B/", "/items/W%00/", "/transfers/T%00/", "/receipts/R%00/"):
        response = client.get(path)
        assert response.status_code == 400, (path, response.status_code)


def test_nul_in_an_api_query_stays_a_400_problem(client_of, admin_user, site):
    # the API's own refusal (ApiViewMixin), which the pages now share
    body = problem(client_of(admin_user).get("/api/v1/locations/?code=A%00"), 400)
    assert body["errors"][0]["field"] == "code"


def test_a_page_without_nul_is_unchanged(client, supervisor, site):
    client.force_login(supervisor)
    assert client.get("/orders/?q=abc").status_code == 200


# --- KPI periods near the ends of the calendar -------------------------------------------------------------------

EXTREME_PERIODS = [
    "date_to=0001-01-01",
    "date_from=0001-01-01",
    "date_from=0001-01-01&date_to=0001-01-05",
    "date_from=9999-12-31",
    "date_to=9999-12-31",
    "date_from=9999-12-25&date_to=9999-12-31",
    "date_from=1899-12-31&date_to=1900-01-02",
    "date_from=3000-01-01&date_to=3000-01-02",
]


@pytest.mark.parametrize("query", EXTREME_PERIODS)
def test_kpi_dates_near_year_1_or_9999_are_a_422_problem(client_of, admin_user, site, query):
    for path in (f"/api/v1/kpis/?site=DC1&{query}", f"/api/v1/kpis/?{query}", f"/api/v1/kpis/?{query}&format=csv"):
        body = problem(client_of(admin_user).get(path), 422)
        assert body["code"] == "invalid_period"
        assert {e["code"] for e in body["errors"]} == {"date_out_of_range"}


@pytest.mark.parametrize("query", EXTREME_PERIODS)
def test_kpi_pages_with_extreme_dates_say_so(client, supervisor, admin_user, site, query):
    client.raise_request_exception = False
    client.force_login(supervisor)
    response = client.get(f"/kpis/?{query}")
    assert response.status_code == 422 and b"Dates must be between" in response.content
    client.force_login(admin_user)
    response = client.get(f"/kpis/network/?{query}")
    assert response.status_code == 422 and b"Dates must be between" in response.content


def test_kpi_dates_within_the_calendar_still_work(client_of, admin_user, site):
    response = client_of(admin_user).get("/api/v1/kpis/?site=DC1&date_from=1900-01-01&date_to=1900-01-31")
    assert response.status_code == 200, response.content
    response = client_of(admin_user).get("/api/v1/kpis/?site=DC1&date_from=2999-12-01&date_to=2999-12-31")
    assert response.status_code == 200, response.content


# --- OPTIONS and the catch-all -----------------------------------------------------------------------------------


def test_options_on_a_site_rule_describes_it(client_of, admin_user, supervisor, site):
    for user in (admin_user, supervisor):
        response = client_of(user).options(f"/api/v1/site-rules/{RULE}/")
        assert response.status_code == 200, response.content
        assert set(response.json()["actions"]["PUT"]) >= {"key", "value"}
    response = client_of(admin_user).options("/api/v1/site-rules/no.such_rule/")
    assert response.status_code == 200 and "PUT" not in response.json().get("actions", {})


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope/",
        "/api/v1/site-rules/NOT-A-KEY/",
        "/api/v1/approvals/1/no-such-action/",
        "/api/v1/sales-orders/SO-1/lines/x/",
        "/api/v1/",
    ],
)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_a_path_that_matches_no_route_is_a_problem_not_a_csrf_page(
    client_of, admin_user, site, path, method
):
    before = _counts()
    response = getattr(client_of(admin_user), method)(path, data="{}", content_type="application/json")
    assert response.status_code in (404, 405), (path, response.status_code, response.content[:200])
    problem(response, response.status_code)
    anonymous = Client(enforce_csrf_checks=True, raise_request_exception=False)
    response = getattr(anonymous, method)(path, data="{}", content_type="application/json")
    assert response["Content-Type"].startswith("application/problem+json"), (path, response.status_code)
    assert _counts() == before
