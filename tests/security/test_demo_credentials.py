"""Issue 12, finding 2 (the demo half): load_demo never creates demo credentials with DJANGO_DEBUG off unless
forced (``--force-demo-users`` or DEMO_USERS=1), and says so; ``make run`` (DEBUG on by default) keeps its logins."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from distribution_erp import demo

pytestmark = pytest.mark.django_db

ROOT = Path(django_settings.BASE_DIR)


@pytest.fixture(autouse=True)
def _no_demo_users_env(monkeypatch, settings):
    monkeypatch.delenv(demo.DEMO_USERS_ENV, raising=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # the check, not the hash


def _demo_users():
    return list(get_user_model().objects.filter(username__in=[login[0] for login in demo.DEMO_LOGINS]))


def _with_the_demo_password() -> set[str]:
    return {u.username for u in _demo_users() if u.check_password(demo.DEMO_PASSWORD)}


def test_with_debug_off_load_demo_creates_the_users_without_credentials_and_says_so(client, settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("load_demo", "--small", stdout=out)

    users = _demo_users()
    assert len(users) == len(demo.DEMO_LOGINS)
    assert not any(u.has_usable_password() for u in users)
    assert _with_the_demo_password() == set()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser  # the data is all there, only nobody can sign in as the demo users
    assert not client.login(username="admin", password=demo.DEMO_PASSWORD)
    assert client.post("/admin/login/", {"username": "admin", "password": demo.DEMO_PASSWORD}).status_code == 200
    printed = out.getvalue()
    assert "DJANGO_DEBUG is off: no demo credentials were created" in printed
    assert "--force-demo-users" in printed and "DEMO_USERS=1" in printed
    assert "Demo logins (username / password):" not in printed


def test_forced_demo_users_get_the_password_and_a_warning(client, settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("load_demo", "--small", "--force-demo-users", stdout=out)

    assert _with_the_demo_password() == {login[0] for login in demo.DEMO_LOGINS}
    assert client.login(username="admin", password=demo.DEMO_PASSWORD)
    printed = out.getvalue()
    assert "DJANGO_DEBUG is off and demo users were forced" in printed
    assert "Demo logins (username / password):" in printed


def test_demo_users_env_forces_them_too(monkeypatch, settings):
    settings.DEBUG = False
    monkeypatch.setenv(demo.DEMO_USERS_ENV, "1")

    demo.load_demo(scale=demo.SMALL, activity=False)

    assert "admin" in _with_the_demo_password()


def test_with_debug_on_as_make_run_has_it_the_demo_logins_work(client, settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("load_demo", "--small", stdout=out)

    assert _with_the_demo_password() == {login[0] for login in demo.DEMO_LOGINS}
    assert client.login(username="sup-east", password=demo.DEMO_PASSWORD)
    printed = out.getvalue()
    assert "Demo logins (username / password):" in printed and "no demo credentials" not in printed


def test_a_later_load_with_debug_off_names_the_users_that_still_have_the_demo_password(settings):
    settings.DEBUG = True
    demo.load_demo(scale=demo.SMALL, activity=False)
    settings.DEBUG = False
    out = StringIO()

    call_command("load_demo", "--small", stdout=out)

    printed = out.getvalue()
    assert "Still with the well-known password" in printed and "admin" in printed
    assert "Demo logins (username / password):" not in printed


def _run_module():
    spec = importlib.util.spec_from_file_location("erp_run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_run_command_prints_demo_logins_only_when_they_exist(settings):
    run = _run_module()
    settings.DEBUG = True
    shown = "\n".join(run.demo_login_lines())
    assert "admin" in shown and demo.DEMO_PASSWORD in shown

    settings.DEBUG = False
    hidden = "\n".join(run.demo_login_lines())
    assert demo.DEMO_PASSWORD not in hidden and "DJANGO_DEBUG is off" in hidden


def test_make_run_runs_with_debug_on_by_default():
    """scripts/run.py sets no DJANGO_DEBUG and settings default it on, so `make run` gets its demo users."""
    assert not re.search(r"""["']DJANGO_DEBUG["']""", (ROOT / "scripts" / "run.py").read_text())  # never sets it
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", demo.DEMO_USERS_ENV)}
    env["DJANGO_SETTINGS_MODULE"] = "distribution_erp.settings"
    code = "import django; django.setup(); from distribution_erp.demo import demo_logins_allowed as a; print(a())"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    off = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert off.stdout.strip() == "False", off.stderr
