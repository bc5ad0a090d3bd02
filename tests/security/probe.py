"""An attacker-style probe of site separation (issue 12): ten single-site users walk every API operation of the
OpenAPI schema and the Django admin, in process (Django's test client, real database, real commits).

    DATABASE_URL=postgres://.../erp_probe .venv/bin/python tests/security/probe.py [--quick] [--no-load]

It migrates DATABASE_URL, loads ``load_demo --scale small``, adds its own users (``probe-*``) with API tokens and
sessions, then counts:

* leaks: list rows (every page) of a site the user cannot see; another site's object answering 200 on GET;
* forbidden writes: PUT/PATCH/DELETE and every POST action on other sites' objects (anything but 403/404/405 is a
  finding; a 2xx or a changed row, history or table fingerprint is a successful forbidden write);
* mass assignment: every read-only field of a writable operation sent with a bogus value on the user's own site;
* the admin: changelists, change pages, ``history/`` and ``history/<id>/`` of other sites' objects (and POSTs to
  them) as one-site staff users;
* every 5xx (with samples) and every 200 body that does not match the schema's response (jsonschema).

Prints the figures and writes them to var/security-probe.json; exit status 1 when a leak, a 5xx or a successful
forbidden write was seen. Use a throwaway database (``make probe``): the probe writes to it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distribution_erp.settings")

APPS = ("governance", "inventory", "orders", "warehouse", "reporting")
#: (username, role, site code, staff): ten users, each with one role at one site
USERS = [
    ("probe-coord-east", "coordinator", "DC-EAST", False),
    ("probe-sup-east", "supervisor", "DC-EAST", True),
    ("probe-op-east", "operator", "DC-EAST", False),
    ("probe-admin-east", "admin", "DC-EAST", True),
    ("probe-integ-east", "integrator", "DC-EAST", False),
    ("probe-sup-west", "supervisor", "DC-WEST", True),
    ("probe-plan-south", "planner", "DC-SOUTH", False),
    ("probe-admin-bos", "admin", "BR-BOS", True),
    ("probe-credit-lax", "credit", "BR-LAX", False),
    ("probe-audit-west", "auditor", "DC-WEST", False),
]
#: where a model's site is when it is not every foreign key to Site (several: visible when any is the user's)
SITE_PATHS = {
    "governance.site": ("pk",),
    "inventory.stockmove": ("from_location__site", "to_location__site"),
    "inventory.cyclecountline": ("count__site",),
    "orders.shipnoticeline": ("po_line__purchase_order__site",),
    "warehouse.discrepancy": ("receipt__site",),
}
#: rows that belong to a user, not a site
USER_PATHS = {"governance.apitoken": "user", "governance.idempotencyrecord": "user", "governance.notification": "user"}
#: master data every site shares
SHARED = {
    "governance.exceptioncode",
    "governance.documentsequence",
    "governance.serviceheartbeat",
    "inventory.item",
    "inventory.itemunit",
    "inventory.itemsubstitute",
    "inventory.lot",
    "orders.customer",
    "orders.supplier",
}
SITE_KEYS = ("site", "from_site", "to_site", "source_site", "ship_from")
OK_REFUSALS = {403, 404, 405}
#: tables whose rows change on reads (a token's last use)
VOLATILE_TABLES = {"governance_apitoken"}


@dataclass
class ProbeUser:
    username: str
    role: str
    site_code: str
    staff: bool
    user: object = None
    site_ids: set = field(default_factory=set)
    token: str = ""
    api: object = None  # APIClient with the token
    web: object = None  # django Client with a session


@dataclass
class Report:
    requests: int = 0
    cross_site_requests: int = 0
    list_rows_checked: int = 0
    leaks: int = 0
    forbidden_writes_tried: int = 0
    forbidden_writes_succeeded: int = 0
    unexpected_refusals: int = 0  # another site's object answered e.g. 400/409/422 instead of 403/404
    mass_assignment_fields_tried: int = 0
    mass_assignment_fields_changed: int = 0
    admin_history_requests: int = 0
    admin_leaks: int = 0
    admin_writes_succeeded: int = 0
    server_errors: int = 0
    schema_checked: int = 0
    schema_violations: int = 0
    schema_violation_kinds: list = field(default_factory=list)  # distinct (operation, field, error)
    table_changes: list = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    samples: dict = field(default_factory=lambda: defaultdict(list))

    def sample(self, kind: str, what) -> None:
        if len(self.samples[kind]) < 15:
            self.samples[kind].append(what)

    def failed(self) -> bool:
        return bool(
            self.leaks
            or self.forbidden_writes_succeeded
            or self.mass_assignment_fields_changed
            or self.admin_leaks
            or self.admin_writes_succeeded
            or self.server_errors
            or self.table_changes
        )

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k not in ("statuses", "samples")}
        out["statuses"] = dict(sorted(self.statuses.items()))
        out["samples"] = dict(self.samples)
        return out


# --- setup ----------------------------------------------------------------------------------------------------


def prepare_database(load: bool = True) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if load:
        call_command("load_demo", scale="small", verbosity=0)


def make_users(specs=USERS) -> list[ProbeUser]:
    """The probe's users (created or reused): one role at one site, an API token and a logged-in session each;
    staff users get view and change permissions on the project's models for the admin walk."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client
    from rest_framework.test import APIClient

    from governance import permissions
    from governance.api.authentication import generate_token
    from governance.models import Site, SiteMembership

    users = []
    perms = [
        p
        for p in Permission.objects.filter(content_type__app_label__in=APPS)
        if p.codename.split("_", 1)[0] in ("view", "change")
    ]
    for username, role, site_code, staff in specs:
        site = Site.objects.get(code=site_code)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = staff
        user.is_superuser = False
        user.save()
        SiteMembership.objects.filter(user=user).exclude(site=site, role=role).delete()
        SiteMembership.objects.get_or_create(user=user, site=site, role=role)
        user.user_permissions.set(perms if staff else [])
        _, key = generate_token(user=user, name="security probe")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        web = Client()
        web.force_login(user)
        user = get_user_model().objects.get(pk=user.pk)  # no cached permissions
        pu = ProbeUser(username, role, site_code, staff, user, set(), key, api, web)
        pu.site_ids = set(permissions.site_ids_for(user, "view") or ())
        users.append(pu)
    return users


# --- where a row belongs ------------------------------------------------------------------------------------


def label(model) -> str:
    return model._meta.label_lower


def site_paths(model) -> tuple[str, ...]:
    """ORM paths from ``model`` to its Site (empty: shared or owned by a user)."""
    from governance.models import Site

    name = label(model)
    if name in SITE_PATHS:
        return SITE_PATHS[name]
    if name in SHARED or name in USER_PATHS:
        return ()
    if getattr(model, "instance_type", None) is not None:  # a simple-history model: the tracked model's path
        return site_paths(model.instance_type)
    direct = tuple(f.name for f in model._meta.fields if f.is_relation and f.related_model is Site)
    if direct:
        return direct
    for f in model._meta.fields:  # through the owning document (lines, packages, escalation steps)
        if f.is_relation and f.many_to_one and f.related_model is not None and f.related_model._meta.app_label in APPS:
            inner = site_paths(f.related_model) if f.related_model is not model else ()
            if inner and inner != ("pk",):
                return tuple(f"{f.name}__{p}" for p in inner)
    return ()


def object_sites(model, pk) -> set | None:
    """Site ids of one row (None: shared or user-owned; empty set: no site, e.g. an enterprise row)."""
    paths = site_paths(model)
    if not paths:
        return None
    values = model._default_manager.filter(pk=pk).values_list(*paths)
    return {v for row in values for v in row if v is not None}


def foreign_objects(model, user: ProbeUser, limit: int):
    """Up to ``limit`` rows of ``model`` the user must not see (other sites', other users'), various statuses."""
    from django.db.models import Q

    qs = model._default_manager.order_by("pk")
    name = label(model)
    if name in USER_PATHS:
        qs = qs.exclude(**{USER_PATHS[name]: user.user})
    else:
        paths = site_paths(model)
        if not paths:
            return []
        mine, present = Q(), Q()
        for p in paths:
            mine |= Q(**{f"{p}__in": user.site_ids})
            present |= Q(**{f"{p}__isnull": False})
        qs = qs.exclude(mine).filter(present)
    status = "status" if "status" in {f.name for f in model._meta.fields} else None
    picked, seen = [], set()
    for obj in qs[:400]:
        key = getattr(obj, status) if status else len(picked)
        if key in seen:
            continue
        seen.add(key)
        picked.append(obj)
        if len(picked) >= limit:
            break
    return picked


def own_objects(model, user: ProbeUser, limit: int):
    from django.db.models import Q

    paths = site_paths(model)
    if not paths:
        return list(model._default_manager.order_by("pk")[:limit])
    mine = Q()
    for p in paths:
        mine |= Q(**{f"{p}__in": user.site_ids})
    return list(model._default_manager.filter(mine).order_by("-pk")[:limit])


def row_fingerprint(model, pk) -> str:
    rows = list(model._default_manager.filter(pk=pk).values())
    history = getattr(model, "history", None)
    count = history.filter(**{model._meta.pk.attname: pk}).count() if history is not None else None
    return json.dumps([rows, count], default=str, sort_keys=True)


def table_fingerprints() -> dict[str, str]:
    """count + checksum of every table of the project's apps (history tables included)."""
    from django.apps import apps
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            if model._meta.app_label not in APPS and model._meta.app_label != "auth":
                continue
            table = model._meta.db_table
            if table in VOLATILE_TABLES or table in out:
                continue
            digest = "md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), ''))"
            cursor.execute(f'SELECT count(*), {digest} FROM "{table}" t')
            count, digest = cursor.fetchone()
            out[table] = f"{count}:{digest}"
    return out


def site_lookup() -> dict:
    from governance.models import Site

    keys = {}
    for pk, code in Site.objects.values_list("pk", "code"):
        keys[pk] = pk
        keys[str(pk)] = pk
        keys[code] = pk
    return keys


def row_site_values(row: dict, keys: dict) -> set | None:
    """Site ids named by a response row's site fields (None: the row names no site)."""
    found, named = set(), False
    for name in SITE_KEYS:
        if name not in row:
            continue
        named = True
        value = row[name]
        if isinstance(value, dict):
            value = value.get("id", value.get("code"))
        if value is not None and value in keys:
            found.add(keys[value])
    return found if named else None


# --- the schema -----------------------------------------------------------------------------------------------


@dataclass
class Operation:
    path: str  # with {params}
    method: str
    spec: dict
    view: type | None
    action: str | None
    model: type | None

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def is_list(self) -> bool:
        return self.method == "get" and not self.params


def load_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _model_of(view, action, method):
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from rest_framework.request import Request

    if view is None:
        return None
    queryset = getattr(view, "queryset", None)
    if queryset is not None:
        return queryset.model
    try:
        instance = view()
        request = Request(RequestFactory().generic(method.upper(), "/"))
        request.user = get_user_model()(is_superuser=True, is_active=True, username="probe-schema")
        instance.request, instance.kwargs, instance.format_kwarg, instance.action = request, {}, None, action
        return instance.get_queryset().model
    except Exception:
        serializer = getattr(view, "output_serializer_class", None) or getattr(view, "serializer_class", None)
        meta = getattr(serializer, "Meta", None)
        return getattr(meta, "model", None)


def operations(schema: dict) -> list[Operation]:
    from django.urls import Resolver404, resolve

    out = []
    for path, item in schema["paths"].items():
        sample = re.sub(r"{\w+}", "1", path)
        try:
            match = resolve(sample)
        except Resolver404:
            match = None
        view = getattr(match.func, "cls", None) if match else None
        actions = getattr(match.func, "actions", None) or {} if match else {}
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            action = actions.get(method)
            out.append(Operation(path, method, item[method], view, action, _model_of(view, action, method)))
    return out


def resolve_ref(schema: dict, node):
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def request_schema(schema: dict, op: Operation) -> dict:
    body = op.spec.get("requestBody", {}).get("content", {})
    media = body.get("application/json") or next(iter(body.values()), None)
    return resolve_ref(schema, media["schema"]) if media else {}


def response_schema(schema: dict, op: Operation, code: int):
    answer = op.spec.get("responses", {}).get(str(code))
    content = (answer or {}).get("content", {})
    media = content.get("application/json")
    return media.get("schema") if media else None


def example_value(schema: dict, node: dict, name: str, site_code: str, username: str = ""):
    node = resolve_ref(schema, node)
    if "enum" in node:
        return node["enum"][0]
    for key in ("allOf", "oneOf", "anyOf"):
        if key in node:
            return example_value(schema, node[key][0], name, site_code, username)
    kind = node.get("type")
    if name == "site" or name.endswith("_site"):
        return site_code
    if name in ("assignee", "username", "user") and username:
        return username
    if kind == "integer":
        return 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return [example_value(schema, node.get("items", {}), name, site_code, username)]
    if kind == "object":
        props = node.get("properties", {})
        return {
            k: example_value(schema, v, k, site_code, username)
            for k, v in props.items()
            if k in node.get("required", [])
        }
    fmt = node.get("format")
    if fmt == "date":
        return date.today().isoformat()
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "decimal" or node.get("pattern", "").startswith("^-?\\d"):
        return "1.00"
    return "probe"


def example_body(schema: dict, op: Operation, site_code: str, username: str = "") -> dict:
    node = request_schema(schema, op)
    if not node:
        return {}
    value = example_value(schema, node, "", site_code, username)
    return value if isinstance(value, dict) else {}


def to_jsonschema(node):
    """OpenAPI 3.0 (nullable, $ref into components) to JSON Schema."""
    if isinstance(node, list):
        return [to_jsonschema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref":
            out["$ref"] = value.replace("#/components/schemas/", "#/definitions/")
        elif key in ("readOnly", "writeOnly", "nullable", "example", "discriminator", "xml", "externalDocs"):
            continue
        elif key == "oneOf":  # formats are not checked: "" is then both a blank and an e-mail address
            out["anyOf"] = to_jsonschema(value)
        else:
            out[key] = to_jsonschema(value)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class SchemaChecker:
    def __init__(self, schema: dict):
        import jsonschema

        self.definitions = {k: to_jsonschema(v) for k, v in schema.get("components", {}).get("schemas", {}).items()}
        self.jsonschema = jsonschema
        self.cache = {}

    def errors(self, node, body) -> str | None:
        key = json.dumps(node, sort_keys=True)
        if key not in self.cache:
            converted = to_jsonschema(node)
            converted["definitions"] = self.definitions
            self.cache[key] = self.jsonschema.Draft7Validator(converted)
        error = next(iter(self.cache[key].iter_errors(body)), None)
        if error is None:
            return None
        return f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:160]}"


def distinctive(name: str, value) -> bool:
    """Could a new row have this value by itself? ([] of no tasks yet, False, an enum's value: yes.)"""
    if name in SITE_KEYS or name.endswith("_site"):
        return True
    return value in (987654, "987654.00", "PROBE-BOGUS", "2001-02-03T04:05:06Z", "2001-02-03") or value == {
        "probe": "x"
    }


# --- the probe ------------------------------------------------------------------------------------------------


class Probe:
    def __init__(self, users, schema, *, quick=False, report=None, log=print):
        self.users = users
        self.schema = schema
        self.ops = operations(schema)
        self.quick = quick
        self.report = report or Report()
        self.sites = site_lookup()
        self.checker = SchemaChecker(schema)
        self.log = log
        self.max_pages = 2 if quick else 25
        self.per_model = 1 if quick else 3

    # one request, counted
    def call(self, client, method, url, data=None, *, op=None, what=""):
        kwargs = {"format": "json"} if data is not None and hasattr(client, "credentials") else {}
        if data is not None and not kwargs:
            kwargs = {"data": json.dumps(data), "content_type": "application/json"}
        elif data is not None:
            kwargs["data"] = data
        try:
            response = getattr(client, method)(url, **kwargs)
        except Exception as exc:  # an exception the handler did not turn into an answer is a server error
            self.report.requests += 1
            self.report.server_errors += 1
            self.report.statuses["exception"] += 1
            self.report.sample("5xx", f"{method.upper()} {url} {what}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        self.report.requests += 1
        self.report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.report.server_errors += 1
            self.report.sample("5xx", f"{method.upper()} {url} {what}: {response.status_code}")
        elif op is not None and response.status_code == 200 and method == "get":
            self.check_schema(op, response, url)
        return response

    def check_schema(self, op, response, url):
        node = response_schema(self.schema, op, 200)
        if node is None or "json" not in response.get("Content-Type", ""):
            return
        self.report.schema_checked += 1
        problem = self.checker.errors(node, response.json())
        if problem:
            self.report.schema_violations += 1
            where = re.sub(r"/\d+", "/*", problem)
            kind = f"{op.path}: {where}"
            if kind not in self.report.schema_violation_kinds:
                self.report.schema_violation_kinds.append(kind)

    def url(self, op, obj, line=None) -> str | None:
        lookup = getattr(op.view, "lookup_field", "pk") or "pk"
        path = op.path
        for name in op.params:
            if name == "line_id":
                if line is None:
                    return None
                value = line.pk
            else:
                value = getattr(obj, lookup if lookup != "pk" else "pk")
            path = path.replace("{" + name + "}", str(value))
        return path

    # lists
    def probe_lists(self, only=None):
        for op in self.ops:
            if not op.is_list or (only and op.path not in only):
                continue
            for user in self.users:
                self.list_as(user, op)

    def list_as(self, user, op):
        url, pages = f"{op.path}?page_size=200", 0
        other_sites = [pk for pk in set(self.sites.values()) if pk not in user.site_ids]
        while url and pages < self.max_pages:
            response = self.call(user.api, "get", url, op=op, what=user.username)
            pages += 1
            if response is None or response.status_code != 200:
                break
            body = response.json()
            rows = body.get("results") if isinstance(body, dict) else body
            if isinstance(body, dict) and rows is None and isinstance(body.get("sites"), list):
                rows = body["sites"]
            self.check_rows(user, op, rows if isinstance(rows, list) else [], url)
            url = body.get("next") if isinstance(body, dict) else None
            if url:
                url = re.sub(r"^https?://[^/]+", "", url)
        # and asking for another site by filter
        codes = {v: k for k, v in self.sites.items() if isinstance(k, str) and not k.isdigit()}
        for pk in other_sites[: 1 if self.quick else 2]:
            for param in (f"site={codes[pk]}", f"site={pk}"):
                self.report.cross_site_requests += 1
                response = self.call(user.api, "get", f"{op.path}?{param}&page_size=200", op=op, what=user.username)
                if response is not None and response.status_code == 200:
                    body = response.json()
                    rows = body.get("results") if isinstance(body, dict) else body
                    self.check_rows(user, op, rows if isinstance(rows, list) else [], f"{op.path}?{param}")

    def check_rows(self, user, op, rows, url):
        model = op.model
        for row in rows:
            if not isinstance(row, dict):
                continue
            self.report.list_rows_checked += 1
            sites = row_site_values(row, self.sites)
            if sites is None and model is not None:
                sites = self.sites_by_lookup(op, model, row)
            if sites is None:
                if model is not None and label(model) in USER_PATHS and "user" in row:
                    if row["user"] not in (user.user.pk, user.username):
                        self.leak(user, url, row, "another user's row")
                continue
            self.report.cross_site_requests += 0
            if sites and not sites & user.site_ids:
                self.leak(user, url, row, f"sites {sorted(sites)}")
            elif not sites:
                self.report.sample("rows without a site", f"{user.username} {url}: {str(row)[:120]}")

    def sites_by_lookup(self, op, model, row):
        if label(model) in SHARED or not site_paths(model):
            return None
        lookup = getattr(op.view, "lookup_field", "pk") or "pk"
        value = row.get("id") if lookup == "pk" else row.get(lookup)
        if value is None:
            return None
        obj = model._default_manager.filter(**{lookup: value}).first()
        return object_sites(model, obj.pk) if obj is not None else None

    def leak(self, user, url, row, why):
        self.report.leaks += 1
        self.report.sample("leaks", f"{user.username} ({user.site_code}) {url}: {why}: {str(row)[:160]}")

    # details and actions of other sites' objects
    def probe_details(self, only=None):
        before = table_fingerprints()
        for op in self.ops:
            if not op.params or op.model is None or (only and op.path not in only):
                continue
            for user in self.users:
                for obj in foreign_objects(op.model, user, self.per_model):
                    self.attack(user, op, obj)
        after = table_fingerprints()
        self.compare_tables(before, after, "detail attacks")

    def attack(self, user, op, obj):
        line = None
        if "line_id" in op.params:
            lines = getattr(obj, "lines", None)
            line = lines.order_by("pk").first() if lines is not None else None
        lookup = getattr(op.view, "lookup_field", "pk") or "pk"
        if lookup != "pk" and not hasattr(obj, lookup):
            if label(obj) == "governance.site" and lookup == "key":
                self.attack_site_rule(user, op, obj)
            return
        url = self.url(op, obj, line)
        if url is None:
            return
        methods = [op.method]
        if op.path.endswith("}/") and op.method == "get":  # the detail path: every method
            methods = ["get", "put", "patch", "delete"]
        elif op.path.endswith("}/"):
            return  # PUT/PATCH/DELETE of a detail path are tried with its GET
        for method in methods:
            writes = method != "get"
            fingerprint = row_fingerprint(type(obj), obj.pk) if writes else None
            body = (
                example_body(self.schema, op, user.site_code, user.username) if writes and method != "delete" else None
            )
            if writes and method in ("put", "patch"):
                twin = next((o for o in self.ops if o.path == op.path and o.method == method), None)
                body = example_body(self.schema, twin, user.site_code, user.username) if twin else {}
            self.report.cross_site_requests += 1
            if writes:
                self.report.forbidden_writes_tried += 1
            response = self.call(user.api, method, url, body, what=user.username)
            if response is None:
                continue
            code = response.status_code
            changed = writes and row_fingerprint(type(obj), obj.pk) != fingerprint
            if not writes and code == 200:
                self.leak(user, url, response.content[:160], f"GET of {label(obj)} {obj.pk}")
            elif writes and (200 <= code < 300 or changed):
                self.report.forbidden_writes_succeeded += 1
                self.report.sample(
                    "forbidden writes", f"{user.username} {method.upper()} {url}: {code} changed={changed}"
                )
            elif code not in OK_REFUSALS and code < 500:
                self.report.unexpected_refusals += 1
                self.report.sample(
                    "unexpected refusals", f"{user.username} {method.upper()} {url}: {code} {response.content[:120]!r}"
                )

    def attack_site_rule(self, user, op, site):
        """``site-rules/{key}/`` takes the site as a parameter: ask for, set and remove another site's value."""
        from governance.models import ApprovalRequest, RuleChange, SiteRuleValue

        def state():
            return json.dumps(
                [
                    list(SiteRuleValue.objects.filter(site=site).values()),
                    RuleChange.objects.filter(site=site).count(),
                    ApprovalRequest.objects.filter(site=site).count(),
                ],
                default=str,
            )

        if op.method != "get":
            return
        keys = list(SiteRuleValue.objects.filter(site=site).values_list("key", flat=True)[:1])
        keys = keys or ["inventory.adjustment_approval_value"]
        for key in keys:
            url = op.path.replace("{key}", key)
            self.report.cross_site_requests += 1
            response = self.call(user.api, "get", f"{url}?site={site.code}", what=user.username)
            if response is not None and response.status_code == 200 and f'"{site.code}"' in response.content.decode():
                self.leak(user, url, response.content[:160], f"rule value of {site.code}")
            for method, body, query in (
                ("put", {"site": site.code, "value": "1", "reason": "probe"}, ""),
                ("delete", None, f"?site={site.code}"),
            ):
                before = state()
                self.report.cross_site_requests += 1
                self.report.forbidden_writes_tried += 1
                response = self.call(user.api, method, url + query, body, what=user.username)
                if response is None:
                    continue
                if 200 <= response.status_code < 300 or state() != before:
                    self.report.forbidden_writes_succeeded += 1
                    self.report.sample(
                        "forbidden writes", f"{user.username} {method.upper()} {url}{query} ({site.code})"
                    )
                elif response.status_code not in OK_REFUSALS:
                    self.report.unexpected_refusals += 1
                    self.report.sample(
                        "unexpected refusals",
                        f"{user.username} {method.upper()} {url}{query} ({site.code}): {response.status_code} "
                        f"{response.content[:120]!r}",
                    )

    def compare_tables(self, before, after, phase):
        for table in sorted(before):
            if before[table] != after.get(table):
                self.report.table_changes.append(f"{phase}: {table} {before[table]} -> {after.get(table)}")

    # mass assignment on the own site
    def probe_mass_assignment(self, only=None):
        writers = [u for u in self.users if u.role in ("admin", "coordinator", "supervisor", "planner", "credit")]
        for op in self.ops:
            if op.method not in ("patch", "put", "post") or (only and op.path not in only):
                continue
            read_only = self.read_only_fields(op)
            if not read_only:
                continue
            for user in writers:
                self.mass_assign(user, op, read_only)

    def read_only_fields(self, op) -> dict:
        for code in (200, 201, 202):
            node = response_schema(self.schema, op, code)
            if node:
                node = resolve_ref(self.schema, node)
                return {
                    k: v
                    for k, v in node.get("properties", {}).items()
                    if resolve_ref(self.schema, v).get("readOnly") or v.get("readOnly")
                }
        return {}

    def bogus(self, name, node, user):
        node = resolve_ref(self.schema, node)
        other = next(
            code
            for code, pk in self.sites.items()
            if isinstance(code, str) and not code.isdigit() and pk not in user.site_ids
        )
        if name in SITE_KEYS or name.endswith("_site"):
            return other if node.get("type") == "string" else self.sites[other]
        kind = node.get("type")
        if "enum" in node:
            return node["enum"][-1]
        if kind == "integer":
            return 987654
        if kind == "number" or node.get("format") == "decimal":
            return "987654.00"
        if kind == "boolean":
            return True
        if kind == "array":
            return []
        if kind == "object":
            return {"probe": "x"}
        if node.get("format") == "date-time":
            return "2001-02-03T04:05:06Z"
        if node.get("format") == "date":
            return "2001-02-03"
        return "PROBE-BOGUS"

    def mass_assign(self, user, op, read_only):
        if op.params:
            if op.model is None or op.method == "delete":
                return
            detail = next((o for o in self.ops if o.path == op.path and o.method == "get"), None)
            for obj in own_objects(op.model, user, 1):
                url = self.url(op, obj)
                if url is None or detail is None:
                    continue
                before = self.call(user.api, "get", url, what=user.username)
                if before is None or before.status_code != 200:
                    continue
                body = dict(before.json()) if op.method == "put" else {}
                sent = {k: self.bogus(k, v, user) for k, v in read_only.items()}
                body.update(sent)
                fingerprint = row_fingerprint(type(obj), obj.pk)
                response = self.call(user.api, op.method, url, body, what=user.username)
                after = self.call(user.api, "get", url, what=user.username)
                self.count_assigned(user, op, url, sent, before.json(), after, response, fingerprint, obj)
        else:
            body = example_body(self.schema, op, user.site_code, user.username)
            sent = {k: self.bogus(k, v, user) for k, v in read_only.items()}
            body.update(sent)
            response = self.call(user.api, "post", op.path, body, what=user.username)
            if response is not None and 200 <= response.status_code < 300 and isinstance(response.json(), dict):
                created = response.json()
                self.report.mass_assignment_fields_tried += len(sent)
                for name, value in sent.items():
                    if name in created and created[name] == value and distinctive(name, value):
                        self.changed(user, op, op.path, name, value)
            elif response is not None:
                self.report.sample(
                    "mass assignment creates refused", f"{user.username} POST {op.path}: {response.status_code}"
                )

    def count_assigned(self, user, op, url, sent, before, after, response, fingerprint, obj):
        if response is None or after is None or after.status_code != 200:
            return
        now = after.json()
        self.report.mass_assignment_fields_tried += len(sent)
        for name, value in sent.items():
            if name in now and now[name] != before.get(name) and (now[name] == value or name in SITE_KEYS):
                self.changed(user, op, url, name, value)
        if not 200 <= response.status_code < 300 and row_fingerprint(type(obj), obj.pk) != fingerprint:
            self.changed(user, op, url, "(row changed by a refused request)", response.status_code)

    def changed(self, user, op, url, name, value):
        self.report.mass_assignment_fields_changed += 1
        self.report.sample("mass assignment", f"{user.username} {op.method.upper()} {url}: {name} = {value!r}")

    # the Django admin
    def probe_admin(self):
        from django.contrib import admin

        before = table_fingerprints()
        staff = [u for u in self.users if u.staff]
        if self.quick:
            staff = staff[:2]
        for model in admin.site._registry:
            if model._meta.app_label not in APPS:
                continue
            base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            for user in staff:
                response = self.call(user.web, "get", base, what=user.username)
                if response is not None and response.status_code == 200:
                    self.check_changelist(user, model, base, response.content.decode(errors="replace"))
                for obj in foreign_objects(model, user, 1 if self.quick else 2):
                    self.admin_attack(user, model, base, obj)
        self.compare_tables(before, table_fingerprints(), "admin walk")

    def check_changelist(self, user, model, base, page):
        for pk in set(re.findall(re.escape(base) + r"([^/\"?]+)/change/", page)):
            sites = (
                object_sites(model, pk) if pk.isdigit() or model._meta.pk.get_internal_type() != "AutoField" else None
            )
            self.report.list_rows_checked += 1
            if sites and not sites & user.site_ids:
                self.report.admin_leaks += 1
                self.report.sample("admin leaks", f"{user.username} {base}: row {pk} of sites {sorted(sites)}")

    def admin_attack(self, user, model, base, obj):
        from urllib.parse import quote

        pk = quote(str(obj.pk))
        history = getattr(model, "history", None)
        version = (
            history.filter(**{model._meta.pk.attname: obj.pk}).values_list("history_id", flat=True).first()
            if history is not None
            else None
        )
        gets = [f"{base}{pk}/change/", f"{base}{pk}/history/", f"{base}{pk}/history/abc/"]
        if version is not None:
            gets.append(f"{base}{pk}/history/{version}/")
        for url in gets:
            self.report.cross_site_requests += 1
            if "/history/" in url:
                self.report.admin_history_requests += 1
            response = self.call(user.web, "get", url, what=user.username)
            if response is not None and response.status_code == 200:
                self.report.admin_leaks += 1
                self.report.sample("admin leaks", f"{user.username} GET {url}: 200")
        posts = [f"{base}{pk}/change/"] + ([f"{base}{pk}/history/{version}/"] if version is not None else [])
        for url in posts:
            fingerprint = row_fingerprint(model, obj.pk)
            self.report.cross_site_requests += 1
            self.report.forbidden_writes_tried += 1
            if "/history/" in url:
                self.report.admin_history_requests += 1
            response = self.web_post(user, url)
            if response is None:
                continue
            if row_fingerprint(model, obj.pk) != fingerprint or response.status_code == 200:
                self.report.admin_writes_succeeded += 1
                self.report.sample("admin writes", f"{user.username} POST {url}: {response.status_code}")

    def web_post(self, user, url):
        try:
            response = user.web.post(url, {"_save": "Save"})
        except Exception as exc:
            self.report.requests += 1
            self.report.server_errors += 1
            self.report.sample("5xx", f"POST {url}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        self.report.requests += 1
        self.report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.report.server_errors += 1
            self.report.sample("5xx", f"POST {url}: {response.status_code}")
        return response

    def run(self):
        for name, phase in (
            ("lists", self.probe_lists),
            ("details and actions of other sites", self.probe_details),
            ("mass assignment", self.probe_mass_assignment),
            ("admin", self.probe_admin),
        ):
            started = time.monotonic()
            phase()
            self.log(f"  {name}: {time.monotonic() - started:.0f} s, {self.report.requests} requests so far")
        return self.report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer pages and objects (under 2 minutes)")
    parser.add_argument("--no-load", action="store_true", help="do not load the demo data (already loaded)")
    parser.add_argument("--report", default=str(ROOT / "var" / "security-probe.json"))
    args = parser.parse_args(argv)

    import logging

    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # the probe counts every answer itself
    from django.conf import settings

    started = time.monotonic()
    print(f"security probe on {settings.DATABASES['default']['NAME']} ({'quick' if args.quick else 'full'})")
    prepare_database(load=not args.no_load)
    print(f"  database ready: {time.monotonic() - started:.0f} s")
    users = make_users()
    probe = Probe(users, load_schema(), quick=args.quick)
    report = probe.run()
    figures = report.as_dict()
    figures.update(
        date=date.today().isoformat(),
        mode="quick" if args.quick else "full",
        users=[f"{u.username}: {u.role} at {u.site_code}" for u in users],
        operations=len(probe.ops),
        seconds=round(time.monotonic() - started),
    )
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(figures, indent=2, default=str) + "\n")
    for key in (
        "requests",
        "cross_site_requests",
        "list_rows_checked",
        "leaks",
        "forbidden_writes_tried",
        "forbidden_writes_succeeded",
        "unexpected_refusals",
        "mass_assignment_fields_tried",
        "mass_assignment_fields_changed",
        "admin_history_requests",
        "admin_leaks",
        "admin_writes_succeeded",
        "server_errors",
        "schema_checked",
        "schema_violations",
    ):
        print(f"  {key.replace('_', ' ')}: {figures[key]}")
    for change in report.table_changes:
        print(f"  TABLE CHANGED {change}")
    for kind, items in report.samples.items():
        print(f"  {kind}:")
        for item in items[:8]:
            print(f"    {item}")
    print(f"wrote {args.report} ({figures['seconds']} s)")
    return 1 if report.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
