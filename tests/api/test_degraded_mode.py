"""Degraded mode without Redis (issue 11, "Redis down = the whole API down"): with the cache pointed at a Redis port
nothing listens on, token-authenticated reads and writes still answer 2xx (the cache falls back to this process's
memory), refusals and errors stay problem+json, and an unhandled error under /api/ is a problem+json 500."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone

from core import cache as failsoft
from orders.models import SalesOrder
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _boom(request):
    raise RuntimeError("a bug the handlers do not know")


def _page_ok(request):
    return HttpResponse("ok")


#: a URL configuration for the 500 tests: the project's URLs plus a view that raises, under /api/ and outside it
urlpatterns = [
    path("api/v1/boom/", _boom),
    path("boom/", _boom),
    path("", include("distribution_erp.urls")),
]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_down():
    location = f"redis://127.0.0.1:{closed_port()}/1"
    caches = {
        "default": {
            "BACKEND": "core.cache.FailSoftRedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        yield location
    failsoft._state.pop(location, None)


@pytest.fixture
def coord(make_user, site):
    return make_user("coordinator", site, username="coord-degraded")


def test_token_reads_and_writes_answer_while_redis_is_down(redis_down, api, coord, site, item):
    CustomerFactory(code="ACME", home_site=site, region=site.region)
    client = api(coord)
    started = time.monotonic()
    assert client.get("/api/v1/sales-orders/").status_code == 200
    body = {
        "customer": "ACME",
        "promised_date": str(timezone.localdate() + timedelta(days=3)),
        "lines": [{"item": "WIDGET", "quantity": 2, "unit": "CASE"}],
    }
    created = client.post("/api/v1/sales-orders/", body, format="json")
    assert created.status_code == 201, created.content
    assert SalesOrder.objects.filter(pk=created.json()["id"]).exists()
    for _ in range(20):
        assert client.get(f"/api/v1/sales-orders/{created.json()['id']}/").status_code == 200
    assert time.monotonic() - started < 10
    # a valid token needs no cache (issue 12, finding 4); a bad one is counted there
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get("/api/v1/sales-orders/").status_code == 401
    assert failsoft.redis_down_since(redis_down) is not None  # the outage was noticed (and logged once)


def test_refusals_stay_problem_json_and_the_failed_login_counter_still_counts(redis_down, api, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    anonymous = api()
    missing = anonymous.get("/api/v1/sales-orders/")
    assert missing.status_code == 401 and missing["Content-Type"].startswith(PROBLEM)
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    statuses = [anonymous.get("/api/v1/sales-orders/").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]  # counted in this process's memory while Redis is down
    refused = anonymous.get("/api/v1/sales-orders/")
    assert refused.status_code == 429 and refused["Content-Type"].startswith(PROBLEM)


def test_a_missing_object_is_a_problem_404_while_redis_is_down(redis_down, api, coord):
    response = api(coord).get("/api/v1/sales-orders/999999/")
    assert response.status_code == 404 and response["Content-Type"].startswith(PROBLEM)


def test_the_breaker_skips_redis_for_a_few_seconds_after_a_failure(redis_down):
    from django.core.cache import cache

    assert cache.get("k") is None  # tries Redis, fails, opens the breaker
    state = failsoft._state[redis_down]
    assert state["skip_until"] > time.monotonic() and state["down_since"]
    started = time.monotonic()
    cache.set("k", "v")
    assert cache.add("n", 1) and cache.incr("n") == 2
    assert cache.get("k") == "v" and cache.get_many(["k", "n"]) == {"k": "v", "n": 2}
    assert time.monotonic() - started < 0.1  # no connect attempts while the breaker is open


def test_the_cache_is_redis_again_once_it_is_back():
    """The normal configuration (tests run with REDIS_URL): the fail-soft cache reads and writes Redis itself."""
    from django.conf import settings
    from django.core.cache import cache

    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the cache is local memory")
    cache.set("degraded-probe", 1)
    assert cache.get("degraded-probe") == 1 and failsoft.redis_down_since(settings.REDIS_URL) is None


@override_settings(ROOT_URLCONF=__name__)
def test_an_unhandled_error_under_api_is_a_problem_500(client, caplog):
    response = client.get("/api/v1/boom/")
    assert response.status_code == 500 and response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 500 and body["code"] == "server_error" and "a bug" not in body["detail"]
    assert any("Internal Server Error: /api/v1/boom/" in r.getMessage() for r in caplog.records)


@override_settings(ROOT_URLCONF=__name__)
def test_pages_keep_djangos_own_error_handling(client):
    with pytest.raises(RuntimeError):
        client.get("/boom/")
