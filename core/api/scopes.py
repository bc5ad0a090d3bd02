"""API token scopes: which scope an endpoint and method need (issue 12, finding 7). Pure: no database, no request.

A token carries a list of scopes:

- ``read``: the safe methods (GET, HEAD, OPTIONS) on every endpoint;
- ``orders``, ``inventory``, ``warehouse``, ``purchasing``, ``governance``: read *and* write that area's
  endpoints (``AREAS`` below says which endpoints belong to which area).

A write (POST, PUT, PATCH, DELETE) needs the endpoint's area scope; a read needs ``read`` or the area scope.
Read-only endpoints (``READ_ONLY``: KPIs, the schema) take reads only. An endpoint whose area is unknown is
closed to tokens. Scopes only narrow what a token's user may do: the user's roles at each site still decide.
A browser session is not limited by scopes (``governance.api.permissions.TokenScopePermission``).
"""

from __future__ import annotations

from collections.abc import Iterable

READ = "read"
#: scope -> what it allows (shown on the tokens page and in the README)
SCOPES: dict[str, str] = {
    READ: "Read everything the user may see (GET, HEAD, OPTIONS) on every endpoint",
    "orders": "Customers, sales orders, ATP and returns: read and write",
    "inventory": "Items, locations, stock, adjustments and cycle counts: read and write",
    "warehouse": "Receipts, putaway, waves, picking, shipments, transfers, pick-face refills: read and write",
    "purchasing": "Suppliers, purchase orders, replenishment policies, runs and suggestions: read and write",
    "governance": "Sites, memberships, site rules, approvals, exceptions, job runs, notifications: read and write",
}
ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)
WRITE_SCOPES = frozenset(ALL_SCOPES) - {READ}


def all_token_scopes() -> list[str]:
    """Every scope: the default of ApiToken.scopes, so tokens made before scopes existed (and callers that give
    none, such as ``generate_token``) keep full scope. The tokens page and create_api_token always choose."""
    return list(ALL_SCOPES)


#: the area of endpoints that only answer reads (a token may never write there)
READ_ONLY = "read"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

#: module prefix of a view -> its area; the longest matching prefix wins. A view may declare ``api_scope``.
AREAS: dict[str, str] = {
    "orders.api.purchasing": "purchasing",
    "orders.api.replenishment": "purchasing",
    "orders.api": "orders",
    "inventory.api": "inventory",
    "warehouse.api": "warehouse",
    "cutover.api": "inventory",  # cutover imports: master data and opening stock
    "governance.api": "governance",
    "reporting.api": READ_ONLY,
    "core.api.docs": READ_ONLY,
    "drf_spectacular": READ_ONLY,
    "rest_framework.routers": READ_ONLY,  # the API root's list of endpoints
}


def area_for_module(module: str) -> str | None:
    best = None
    for prefix, area in AREAS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, area)
    return best[1] if best else None


def view_area(view_cls) -> str | None:
    """The area of a view class: its declared ``api_scope``, else by its module; None when unknown."""
    declared = getattr(view_cls, "api_scope", None)
    if declared is not None:
        return declared if declared in WRITE_SCOPES or declared == READ_ONLY else None
    return area_for_module(getattr(view_cls, "__module__", "") or "")


def scopes_needed(area: str | None, method: str) -> frozenset[str]:
    """The scopes any one of which lets a token use ``method`` on an endpoint of ``area`` (empty: none does)."""
    method = method.upper()
    if area is None:
        return frozenset()
    if method in SAFE_METHODS:
        return frozenset({READ, area}) if area in WRITE_SCOPES else frozenset({READ})
    return frozenset({area}) if area in WRITE_SCOPES else frozenset()


def token_allows(token_scopes: Iterable[str], area: str | None, method: str) -> bool:
    return bool(set(token_scopes or ()) & scopes_needed(area, method))


def parse_scopes(value: str | Iterable[str]) -> list[str]:
    """'read, inventory' or ['read', 'inventory'] -> ['read', 'inventory'] in the given order, without repeats;
    ValueError naming an unknown scope, or when none is given."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for raw in items:
        name = str(raw).strip().lower()
        if not name:
            continue
        if name not in SCOPES:
            raise ValueError(f"Unknown scope {name!r}; choose from {', '.join(ALL_SCOPES)}.")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError(f"Give at least one scope: {', '.join(ALL_SCOPES)}.")
    return out
