"""Issue 12, finding 8: housekeeping.

- every page carries a Content-Security-Policy that allows only the project's own assets (no inline script or
  style without the request's nonce, no eval), and the pages' templates contain nothing the policy would block;
- the API docs and schema need a login in production (``API_DOCS_REQUIRE_LOGIN``, on when DEBUG is off);
- idempotency records are purged by a periodic task that a migration schedules;
- CSV exports are streamed (a response that never holds the whole file);
- ``manage.py check --deploy`` fails (non-zero) with the default secret key.
"""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.utils import timezone

from governance.api.authentication import generate_token
from governance.models import IdempotencyRecord, JobRun

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


# --- Content-Security-Policy ---------------------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("path", ["/", "/orders/", "/dashboard/", "/kpis/", "/scan/pick/", "/login/", "/admin/"])
def test_pages_carry_a_strict_content_security_policy(client, supervisor, site, path):
    client.force_login(supervisor)
    response = client.get(path, follow=True)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        sources = policy[directive]
        assert "'self'" in sources
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:", "data:"} & set(sources), directive
    # every <script> and <style> element of the page is either a local file or carries this response's nonce
    nonce = next(s for s in policy["script-src"] if s.startswith("'nonce-"))[len("'nonce-") : -1]
    html = response.content.decode()
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        if 'type="application/json"' in tag:
            continue  # data, never run
        assert 'src="/static/' in tag or f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert not re.search(r"\sstyle=", html), "inline style attribute"


def test_the_nonce_changes_with_every_response(client, supervisor, site):
    client.force_login(supervisor)
    first, second = _policy(client.get("/orders/")), _policy(client.get("/orders/"))
    assert first["script-src"] != second["script-src"]


def test_api_answers_keep_their_own_headers(api, admin_user, site):
    response = api(admin_user).get("/api/v1/sites/")
    assert response.status_code == 200 and "Content-Security-Policy" not in response


TEMPLATE_DIRS = [
    ROOT / "distribution_erp" / "web" / "templates",
    ROOT / "templates",
    *[ROOT / app / "templates" for app in ("governance", "inventory", "orders", "warehouse", "reporting")],
]


def test_no_template_has_inline_code_the_policy_blocks():
    """Inline event handlers, style attributes, htmx ``js:`` values and trigger filters (eval) and <script>/<style>
    elements without the nonce would be blocked: none is left in the project's templates."""
    found = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html") if folder.exists() else []:
            text = path.read_text()
            rel = path.relative_to(ROOT)
            for pattern, what in [
                (r"\son[a-z]+\s*=", "inline event handler"),
                (r"\sstyle\s*=", "style attribute"),
                (r"hx-(?:vals|vars|headers)\s*=\s*['\"]\s*js:", "htmx js: value (eval)"),
                (r"hx-trigger\s*=\s*\"[^\"]*\[", "htmx trigger filter (eval)"),
                (r"hx-on", "hx-on handler (eval)"),
                (r"javascript:", "javascript: URL"),
            ]:
                if re.search(pattern, text):
                    found.append(f"{rel}: {what}")
            for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
                if "src=" not in tag and 'type="application/json"' not in tag and "csp_nonce" not in tag:
                    found.append(f"{rel}: {tag}")
    assert not found, "\n".join(found)


def test_the_print_pages_carry_the_policy_too(client, supervisor, site):
    # the packing slip and pick list share warehouse/print_base.html: its styles and the print button are files
    client.force_login(supervisor)
    text = (ROOT / "warehouse" / "templates" / "warehouse" / "print_base.html").read_text()
    assert "<style>" not in text and "onclick" not in text


# --- API docs behind login -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_DEBUG": "0"}, True),
        ({"DJANGO_DEBUG": "1"}, False),
        ({"DJANGO_DEBUG": "0", "API_DOCS_REQUIRE_LOGIN": "0"}, False),
    ],
)
def test_docs_require_login_by_default_when_debug_is_off(env, expected):
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "API_DOCS_REQUIRE_LOGIN")}
    environ.update(env, DATABASE_URL=environ.get("DATABASE_URL") or "postgres://unused@127.0.0.1:1/unused")
    code = "import distribution_erp.settings as s; print(s.API_DOCS_REQUIRE_LOGIN)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(expected)


@override_settings(API_DOCS_REQUIRE_LOGIN=True)
def test_api_docs_and_schema_need_a_login_when_required(client, admin_user, site):
    response = client.get("/api/schema/")
    assert response.status_code == 401 and response["Content-Type"].startswith("application/problem+json")
    for path in ("/api/docs/", "/api/redoc/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(f"{settings.LOGIN_URL}?next="), path
    _, key = generate_token(user=admin_user)
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    client.force_login(admin_user)
    for path in ("/api/schema/", "/api/docs/", "/api/redoc/"):
        assert client.get(path).status_code == 200, path


@override_settings(API_DOCS_REQUIRE_LOGIN=False)
def test_api_docs_are_open_when_not_required(client, site):
    for path in ("/api/schema/", "/api/docs/", "/api/redoc/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_carry_a_policy_and_load_nothing_from_elsewhere(client, admin_user, site, path):
    """Swagger UI and Redoc: local sidecar files only (no web fonts from Google), scripts local or with the nonce."""
    client.force_login(admin_user)
    response = client.get(path)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:"} & set(policy["script-src"])
    nonce = next(s for s in policy["script-src"] if s.startswith("'nonce-"))[len("'nonce-") : -1]
    html = response.content.decode()
    assert "googleapis" not in html and "gstatic" not in html and "https://" not in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/static/' in tag or f'nonce="{nonce}"' in tag, tag


# --- idempotency records purged on a schedule --------------------------------------------------------------------


def test_the_purge_task_deletes_expired_idempotency_records(admin_user):
    from governance.tasks import purge_idempotency_keys

    old = IdempotencyRecord.objects.create(user=admin_user, key="old", method="POST", path="/x/", request_hash="a")
    fresh = IdempotencyRecord.objects.create(user=admin_user, key="new", method="POST", path="/x/", request_hash="b")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(hours=1)
    )
    assert purge_idempotency_keys.delay().get() == {"idempotency_records": 1}
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
    run = JobRun.objects.get(kind="idempotency_purge")
    assert run.status == JobRun.Status.SUCCEEDED and run.counts == {"idempotency_records": 1}


def test_the_idempotency_purge_is_scheduled_by_a_migration(db):
    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("governance.migrations.0007_idempotency_purge_schedule")
    migration.schedule(apps, None)  # a flushing test may have emptied the seeded rows: replay (idempotent)
    migration.schedule(apps, None)
    task = PeriodicTask.objects.get(task="governance.tasks.purge_idempotency_keys")
    assert task.enabled and task.crontab is not None and task.queue == "alerts"
    assert PeriodicTask.objects.filter(task="governance.tasks.purge_idempotency_keys").count() == 1


# --- CSV exports are streamed ------------------------------------------------------------------------------------


def test_csv_exports_are_streamed(client, supervisor, site, admin_user):
    from django.http import StreamingHttpResponse

    client.force_login(supervisor)
    for path in ("/orders/?format=csv", "/exceptions/?format=csv", "/kpis/?format=csv"):
        response = client.get(path)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), path
        assert isinstance(response, StreamingHttpResponse), path
    response = client.get(
        "/api/v1/kpis/?site=DC1&format=csv", HTTP_AUTHORIZATION=f"Token {generate_token(user=admin_user)[1]}"
    )
    assert response.status_code == 200 and response.streaming


# --- check --deploy ------------------------------------------------------------------------------------------------


def test_check_deploy_fails_with_the_default_secret_key():
    assert settings.SECRET_KEY.startswith("django-insecure-")
    with pytest.raises(SystemCheckError, match="distribution_erp.E001"):
        call_command("check", "--deploy")


@pytest.mark.parametrize("key", ["short", "x" * 60, "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcab"])
def test_check_deploy_fails_with_a_weak_secret_key(key):
    with override_settings(SECRET_KEY=key), pytest.raises(SystemCheckError, match="distribution_erp.E001"):
        call_command("check", "--deploy")


def test_check_deploy_passes_the_secret_key_check_with_a_real_key():
    from distribution_erp.checks import check_secret_key

    key = "k3J9-xQ2_vLmP8sT0wZrY6nB4cF1hD7gA5eU-iOqWjXtNlKbMsVyRpCzEa"
    with override_settings(SECRET_KEY=key):
        assert check_secret_key(None) == []
        call_command("check", "--deploy", "--fail-level", "ERROR")  # no Error left: warnings do not fail
