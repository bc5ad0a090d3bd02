"""The banner's API token hint (issue 15, "the banner's token hint runnable as printed"): the command `make run`
prints makes a working token when pasted in a shell, for the embedded database, a DATABASE_URL without a password
and one with a password (read from a file only this user can read, never printed)."""

from __future__ import annotations

import importlib.util
import os
import shlex
import stat
import subprocess
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from distribution_erp import demo
from governance.models import ApiToken

ROOT = Path(__file__).resolve().parents[2]
URL = "postgres://erp@db.example:5432/erp?sslmode=disable&application_name=erp run"
SECRET_URL = "postgres://erp:s3cr%40t@db.example:5432/erp"
CASES = [("", True), (URL, False), (SECRET_URL, False)]


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("erp_run_script_tokens", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manage_args(hint: str) -> list[str]:
    """The printed line as a shell reads it: cd <project> && [env] <python> manage.py <args>."""
    words = shlex.split(hint)
    assert words[:3] == ["cd", str(ROOT), "&&"], hint
    at = words.index("manage.py")
    python = words[at - 1]
    assert (ROOT / python).is_file(), python  # relative to the project folder (Path joins an absolute path as is)
    assert all("=" in word for word in words[3 : at - 1]), words  # only VAR=value before the interpreter
    return words[at + 1 :]


@pytest.mark.django_db
@pytest.mark.parametrize(("database_url", "embedded"), CASES)
def test_the_printed_command_makes_a_token_that_authenticates(run, make_user, site, database_url, embedded):
    make_user("integrator", site, username="integrator")
    hint = run.token_hint(database_url, embedded)

    args = _manage_args(hint)
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)

    key = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert (token.user.username, token.scopes) == ("integrator", ["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/sites/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Token not-the-key")
    assert api.get("/api/v1/sites/").status_code == 401


def test_the_banner_prints_the_hint_and_never_a_password(run, monkeypatch, capsys):
    monkeypatch.setattr(run, "demo_login_lines", lambda: [])
    run.banner("http://127.0.0.1:8000", SECRET_URL, False, "")
    printed = capsys.readouterr().out
    assert run.token_hint(SECRET_URL, False) in printed
    assert "s3cr" not in printed
    assert 'DATABASE_URL="$(cat var/run/database_url)"' in printed


def _shell_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    return env


@pytest.mark.parametrize(("database_url", "embedded"), CASES[1:])
def test_the_printed_line_runs_in_a_shell_with_the_database_url_of_the_launcher(
    run, tmp_path, monkeypatch, database_url, embedded
):
    """The shell part (cd, quoting, the password file) run for real, with the management command swapped for a
    command that prints what it would get; the password file is written the way `make run` writes it."""
    monkeypatch.setattr(run, "ROOT", tmp_path)
    kept = run.keep_database_url(database_url)
    if urlsplit(database_url).password:
        assert kept == tmp_path / "var" / "run" / "database_url"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    else:
        assert kept is None
    hint = run.token_hint(database_url, embedded)
    tail = f"{shlex.quote(run.shell_python())} manage.py {shlex.join(run.TOKEN_ARGS)}"
    assert hint.endswith(tail)
    probe = hint[: -len(tail)] + "sh -c 'pwd; printenv DATABASE_URL'"

    done = subprocess.run(["bash", "-c", probe], env=_shell_env(), capture_output=True, text=True, timeout=30)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(tmp_path), database_url]


def test_the_printed_command_starts_the_management_command_in_the_project_folder(run):
    """The real line, to the end, with --help: the interpreter, manage.py and the command are found as printed."""
    hint = run.token_hint(URL, False) + " --help"
    done = subprocess.run(["bash", "-c", hint], env=_shell_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Create an API token for a user" in done.stdout


def test_the_demo_login_list_names_the_same_command(run):
    integrator = next(description for username, _, description in demo.DEMO_LOGINS if username == "integrator")
    assert f"{run.shell_python()} manage.py {shlex.join(run.TOKEN_ARGS)}" in integrator
