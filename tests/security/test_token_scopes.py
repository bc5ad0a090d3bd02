"""Issue 12, finding 7: API token scopes and expiry.

A token carries scopes (core/api/scopes.py): ``read`` lets it use the safe methods (GET, HEAD,
OPTIONS) everywhere; ``orders``, ``inventory``, ``warehouse``, ``purchasing`` and ``governance`` let it read and
write that area's endpoints. A write outside the token's scopes is a 403 problem and changes nothing; a browser
session is never limited by scopes. New tokens expire after API_TOKEN_DEFAULT_DAYS unless told otherwise; an
expired or revoked token is a 401. Every API endpoint maps to a scope (walked through the URL resolver).
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from core.api import scopes
from governance.api.authentication import generate_token, hash_key
from governance.api.permissions import TokenScopePermission
from governance.models import ApiToken
from governance.services.api_tokens import issue_token, revoke_token
from inventory.models import Adjustment, StockLevel
from orders.models import SalesOrder
from tests.api.helpers import problem

pytestmark = pytest.mark.django_db

ADJUSTMENT = {
    "site": "DC1",
    "location": "A-01-01",
    "item": "WIDGET",
    "quantity_delta": -2,
    "reason_code": "LOST",
    "note": "scope test",
}


@pytest.fixture
def integrator(make_user, site):
    return make_user(["integrator", "supervisor"], site, username="integrator1")


@pytest.fixture
def ten(item, storage, stock):
    stock(item, storage, 10)


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def token_client(user, *token_scopes, **kwargs) -> APIClient:
    _, key = issue_token(actor=user, owner=user, name="test", scopes=list(token_scopes), **kwargs)
    return client_for(key)


# --- the pure scope decision ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_scopes", "area", "method", "allowed"),
    [
        (["read"], "inventory", "GET", True),
        (["read"], "inventory", "HEAD", True),
        (["read"], "inventory", "OPTIONS", True),
        (["read"], "inventory", "POST", False),
        (["read"], "orders", "PATCH", False),
        (["read"], "governance", "DELETE", False),
        (["read"], "inventory", "PUT", False),
        (["inventory"], "inventory", "POST", True),
        (["inventory"], "inventory", "GET", True),
        (["inventory"], "orders", "GET", False),  # an area scope reads its own area only; 'read' reads the rest
        (["orders"], "inventory", "POST", False),
        (["read", "orders"], "inventory", "POST", False),
        (["read", "orders"], "orders", "POST", True),
        (list(scopes.ALL_SCOPES), "read", "POST", False),  # read-only endpoints take no token writes at all
        (list(scopes.ALL_SCOPES), "read", "GET", True),
        (["orders"], "read", "GET", False),
        ([], "inventory", "GET", False),
        (["read"], None, "GET", False),  # an endpoint without a scope: closed to tokens
        (["made-up"], "inventory", "GET", False),
    ],
)
def test_token_allows_is_a_pure_decision_on_scopes_area_and_method(token_scopes, area, method, allowed):
    assert scopes.token_allows(token_scopes, area, method) is allowed


def test_views_map_to_areas_by_module_or_a_declared_attribute():
    from inventory.api.views import AdjustmentViewSet
    from orders.api.purchasing import PurchaseOrderViewSet
    from orders.api.views import SalesOrderViewSet
    from reporting.api.views import KpiView
    from warehouse.api.outbound import WaveViewSet

    assert scopes.view_area(AdjustmentViewSet) == "inventory"
    assert scopes.view_area(SalesOrderViewSet) == "orders"
    assert scopes.view_area(PurchaseOrderViewSet) == "purchasing"
    assert scopes.view_area(WaveViewSet) == "warehouse"
    assert scopes.view_area(KpiView) == scopes.READ_ONLY

    class Declared(APIView):
        api_scope = "warehouse"

    class Unknown(APIView):
        pass

    Unknown.__module__ = "somewhere.else"
    assert scopes.view_area(Declared) == "warehouse"
    assert scopes.view_area(Unknown) is None
    assert scopes.parse_scopes("read, inventory,read") == ["read", "inventory"]
    with pytest.raises(ValueError, match="made-up"):
        scopes.parse_scopes("read,made-up")
    with pytest.raises(ValueError):
        scopes.parse_scopes(" , ")


def _drf_views(patterns=None, prefix=""):
    """(route, view class) of every DRF view in the URL configuration."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _drf_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            cls = getattr(entry.callback, "cls", None) or getattr(entry.callback, "view_class", None)
            if cls is not None and isinstance(cls, type) and issubclass(cls, APIView):
                yield prefix + str(entry.pattern), cls, getattr(entry.callback, "actions", None)


def test_every_api_endpoint_maps_to_a_scope_and_is_checked_by_the_scope_permission():
    found = list(_drf_views())
    api_routes = [route for route, _, _ in found if route.startswith("api/v1/")]
    assert len(api_routes) > 40, api_routes  # the walk really reached the routers
    unmapped, unchecked = [], []
    for route, cls, actions in found:
        if scopes.view_area(cls) is None:
            unmapped.append(f"{route} ({cls.__module__}.{cls.__name__})")
        checked = any(issubclass(p, TokenScopePermission) for p in cls.permission_classes)
        methods = {m.upper() for m in (actions or {})} or {
            m.upper() for m in cls.http_method_names if hasattr(cls, m) and m != "options"
        }
        if not checked and methods - set(scopes.SAFE_METHODS):
            unchecked.append(f"{route} {sorted(methods)}")
    assert not unmapped, "endpoints without a scope: " + "; ".join(unmapped)
    assert not unchecked, "writable endpoints not checked by TokenScopePermission: " + "; ".join(unchecked)


# --- refused writes outside the token's scopes ------------------------------------------------------------


def test_a_token_without_the_inventory_scope_cannot_adjust_stock(integrator, ten):
    for token_scopes in (["read"], ["read", "orders", "warehouse", "purchasing", "governance"]):
        response = token_client(integrator, *token_scopes).post("/api/v1/adjustments/", ADJUSTMENT, format="json")
        body = problem(response, 403)
        assert body["code"] == "insufficient_scope" and "inventory" in body["detail"], body
    assert Adjustment.objects.count() == 0
    assert StockLevel.objects.get().available == 10
    # the same user with a token that has the scope adjusts
    response = token_client(integrator, "inventory").post("/api/v1/adjustments/", ADJUSTMENT, format="json")
    assert response.status_code == 201, response.json()
    assert StockLevel.objects.get().available == 8


def test_a_read_only_token_reads_everywhere_and_writes_nowhere(integrator, ten, site):
    client = token_client(integrator, "read")
    for path in ("/api/v1/stock-levels/", "/api/v1/sales-orders/", "/api/v1/waves/", "/api/v1/purchase-orders/"):
        assert client.get(path).status_code == 200, path
    assert client.head("/api/v1/stock-levels/").status_code == 200
    assert client.options("/api/v1/sites/").status_code == 200
    writes = [
        ("post", "/api/v1/adjustments/"),
        ("post", "/api/v1/sales-orders/"),
        ("patch", "/api/v1/items/WIDGET/"),
        ("patch", "/api/v1/customers/NOBODY/"),  # refused before the lookup: no 404 either
        ("delete", "/api/v1/site-memberships/1/"),
        ("post", "/api/v1/waves/"),
        ("post", "/api/v1/suppliers/"),
        ("put", "/api/v1/site-rules/inventory.adjustment_approval_value/"),
    ]
    for method, path in writes:
        response = getattr(client, method)(path, {}, format="json")
        problem(response, 403)
    # a method the endpoint does not have stays a 405, whatever the token
    problem(client.patch(f"/api/v1/sites/{site.code}/", {}, format="json"), 405)
    assert Adjustment.objects.count() == 0 and SalesOrder.objects.count() == 0


def test_an_area_scope_reads_its_area_but_not_the_others(integrator, ten):
    client = token_client(integrator, "inventory")
    assert client.get("/api/v1/stock-levels/").status_code == 200
    problem(client.get("/api/v1/sales-orders/"), 403)


def test_a_browser_session_is_not_limited_by_scopes(integrator, ten):
    issue_token(actor=integrator, owner=integrator, scopes=["read"])  # the user's tokens do not limit the session
    client = APIClient()
    client.force_login(integrator)
    response = client.post("/api/v1/adjustments/", ADJUSTMENT, format="json")
    assert response.status_code == 201, response.json()


def test_tokens_from_before_scopes_keep_full_scope(integrator, ten):
    token, key = generate_token(user=integrator)  # the old way: no scopes given
    assert sorted(token.scopes) == sorted(scopes.ALL_SCOPES)
    legacy = ApiToken.objects.create(user=integrator, prefix="legacy00", digest=hash_key("legacy-key"))
    assert sorted(legacy.scopes) == sorted(scopes.ALL_SCOPES)  # the column's default, as the migration gave
    response = client_for(key).post("/api/v1/adjustments/", ADJUSTMENT, format="json")
    assert response.status_code == 201, response.json()


# --- expiry and revocation -----------------------------------------------------------------------------------


@override_settings(API_TOKEN_DEFAULT_DAYS=7)
def test_new_tokens_expire_after_the_default_days_unless_told(integrator):
    token, _ = issue_token(actor=integrator, owner=integrator, scopes=["read"])
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)
    token, _ = issue_token(actor=integrator, owner=integrator, scopes=["read"], days=30)
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)


@override_settings(API_TOKEN_DEFAULT_DAYS=0)
def test_a_default_of_zero_days_means_no_expiry(integrator):
    token, _ = issue_token(actor=integrator, owner=integrator, scopes=["read"])
    assert token.expires_at is None


@override_settings(API_TOKEN_MAX_DAYS=365)
def test_days_outside_one_to_the_maximum_are_refused(integrator):
    from core.errors import ValidationFailed

    for days in (0, -1, 366):
        with pytest.raises(ValidationFailed):
            issue_token(actor=integrator, owner=integrator, scopes=["read"], days=days)
    with pytest.raises(ValidationFailed):
        issue_token(actor=integrator, owner=integrator, scopes=["read", "everything"])
    with pytest.raises(ValidationFailed):
        issue_token(actor=integrator, owner=integrator, scopes=[])
    assert not ApiToken.objects.exists()


def test_an_expired_token_is_refused_with_401(integrator):
    token, key = issue_token(actor=integrator, owner=integrator, scopes=["read"], days=1)
    client = client_for(key)
    assert client.get("/api/v1/sites/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    problem(client.get("/api/v1/sites/"), 401)


def test_a_revoked_token_is_refused_with_401(integrator, ten):
    token, key = issue_token(actor=integrator, owner=integrator, scopes=["inventory"])
    client = client_for(key)
    assert client.get("/api/v1/stock-levels/").status_code == 200
    revoke_token(actor=integrator, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == integrator
    problem(client.get("/api/v1/stock-levels/"), 401)
    problem(client.post("/api/v1/adjustments/", ADJUSTMENT, format="json"), 401)
    assert Adjustment.objects.count() == 0


# --- the command -----------------------------------------------------------------------------------------------


@override_settings(API_TOKEN_DEFAULT_DAYS=90)
def test_create_api_token_takes_scopes_and_days(integrator, ten):
    out = StringIO()
    call_command(
        "create_api_token",
        integrator.username,
        "--scope",
        "read,inventory",
        "--days",
        "3",
        stdout=out,
        stderr=StringIO(),
    )
    key = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(digest=hash_key(key))
    assert token.scopes == ["read", "inventory"]
    assert timedelta(days=2) < token.expires_at - timezone.now() <= timedelta(days=3)
    assert client_for(key).post("/api/v1/adjustments/", ADJUSTMENT, format="json").status_code == 201

    out = StringIO()
    call_command("create_api_token", integrator.username, stdout=out, stderr=StringIO())
    token = ApiToken.objects.get(digest=hash_key(out.getvalue().strip().splitlines()[-1]))
    assert token.scopes == ["read"]  # no --scope: read only
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)


def test_create_api_token_refuses_unknown_scopes(integrator):
    with pytest.raises(CommandError, match="everything"):
        call_command("create_api_token", integrator.username, "--scope", "read,everything", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_the_migration_gives_existing_tokens_every_scope_there_was():
    """governance/0008 gives tokens made before scopes the full scope of its day: each of them is still a scope
    (a scope renamed or removed later would silently narrow those tokens)."""
    from importlib import import_module

    migration = import_module("governance.migrations.0008_api_token_scopes")
    assert migration.FULL_SCOPE == list(scopes.ALL_SCOPES)[: len(migration.FULL_SCOPE)]
    added = next(op for op in migration.Migration.operations if getattr(op, "name", "") == "scopes")
    assert added.field.default == migration.FULL_SCOPE
