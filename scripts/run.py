"""Command one (`make run`): the whole system on this machine, from a fresh clone.

1. With no DATABASE_URL, starts the embedded PostgreSQL in var/pgdata and exports DATABASE_URL pointing at its
   socket, so every process below shares that one server; it is stopped when this launcher exits.
   With no REDIS_URL, Celery uses the file-system broker in var/broker (tasks still run in the worker process).
2. `manage.py migrate`, `manage.py load_demo` (idempotent), `manage.py collectstatic`.
3. Starts the web server (gunicorn), a Celery worker (queues allocation, replenishment, alerts, default),
   Celery beat (schedules from the database, editable in admin) and the outbox relay (manage.py outbox_relay,
   which hands the work each commit wrote to the worker), prints the addresses and the demo logins,
   and sends a ping task that the worker logs.
4. Ctrl-C or SIGTERM stops everything cleanly; if one of the four dies, the others are stopped and the
   launcher exits non-zero.

Options: --host/--port (or HOST/PORT), --no-demo, --demo-scale small (or DEMO_SCALE=small).
Environment: WEB_WORKERS (2), WEB_THREADS (4), WORKER_CONCURRENCY (2), plus everything settings.py reads (README).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
QUEUES = "allocation,replenishment,alerts,default"
STOP_TIMEOUT_SECONDS = 30
_print_lock = threading.Lock()
#: the banner's API token command: its arguments to manage.py
TOKEN_ARGS = ("create_api_token", "integrator", "--scope", "read")
#: while this runs with a DATABASE_URL that holds a password: that URL, readable by this user only, so the
#: banner's token command can read it instead of printing the password (removed again on exit)
DATABASE_URL_FILE = Path("var") / "run" / "database_url"


def say(message: str, name: str = "run") -> None:
    with _print_lock:
        print(f"{name:>6} | {message}", flush=True)


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def manage(*args: str, env: dict[str, str]) -> None:
    say("manage.py " + " ".join(args))
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=True, stdin=subprocess.DEVNULL)


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Linux: the child gets SIGTERM if the launcher dies without cleaning up (kill -9)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class Child:
    """One long-running process, in its own process group, whose output is prefixed with its name."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches only the launcher, which stops the children in order
            preexec_fn=_die_with_parent,  # children are started before any other thread
        )
        self.pump = threading.Thread(target=self._pump, name=f"pump-{name}", daemon=True)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            say(line.rstrip("\n"), self.name)

    def running(self) -> bool:
        return self.proc.poll() is None

    def terminate(self) -> None:
        if self.running():
            self.proc.send_signal(signal.SIGTERM)

    def kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def gunicorn_without_control_socket() -> list[str]:
    """gunicorn >= 25.1 opens a control socket in ~/.gunicorn shared by every gunicorn of the user: not wanted here."""
    from gunicorn import config

    return ["--no-control-socket"] if hasattr(config, "ControlSocketDisable") else []


def child_commands(host: str, port: int) -> dict[str, list[str]]:
    return {
        "web": [
            PYTHON, "-m", "gunicorn", "distribution_erp.wsgi:application",
            "--bind", f"{host}:{port}",
            "--workers", os.environ.get("WEB_WORKERS", "2"),
            "--threads", os.environ.get("WEB_THREADS", "4"),
            "--worker-class", "gthread",
            "--timeout", "120",
            "--graceful-timeout", "20",
            "--access-logfile", "-",
            *gunicorn_without_control_socket(),
        ],
        "worker": [
            PYTHON, "-m", "celery", "-A", "distribution_erp", "worker",
            "-Q", QUEUES,
            "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"),
            "--loglevel", "INFO",
            # no gossip or mingle: health reads the workers' database heartbeats, so the broker traffic of both
            # buys nothing; fewer broker consumers also means fewer to rebuild after a Redis restart
            "--without-gossip", "--without-mingle",
        ],
        "beat": [
            PYTHON, "-m", "celery", "-A", "distribution_erp", "beat",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel", "INFO",
        ],
        # publishes the outbox (work each commit triggered) to the worker; re-publishes what a lost worker dropped
        "relay": [PYTHON, str(ROOT / "manage.py"), "outbox_relay"],
    }  # fmt: skip


def wait_for_web(url: str, children: list[Child], stop: threading.Event, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        if not all(child.running() for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distribution_erp.settings")
    import django

    django.setup()


def demo_login_lines() -> list[str]:
    """The demo logins: from the demo module's DEMO_LOGINS if it has one, else the users in the database."""
    logins = None
    try:
        from distribution_erp.demo import DEMO_LOGINS as logins  # type: ignore[no-redef]
    except ImportError:
        pass
    lines = []
    if logins:
        try:
            from distribution_erp.demo import demo_logins_allowed
        except ImportError:  # an older demo module: its users always had the password
            demo_logins_allowed = None
        if demo_logins_allowed is not None and not demo_logins_allowed():
            return [
                "(none: DJANGO_DEBUG is off, so load_demo gave the demo users no password;"
                " DEMO_USERS=1 or `manage.py load_demo --force-demo-users` gives new ones the demo password)"
            ]
        rows = [
            [f"{key}: {value}" for key, value in entry.items()]
            if isinstance(entry, dict)
            else [str(part) for part in entry]
            if isinstance(entry, list | tuple)
            else [str(entry)]
            for entry in logins
        ]
        columns = max(len(row) for row in rows)
        widths = [max((len(row[i]) for row in rows if i < len(row) - 1), default=0) for i in range(columns)]
        for row in rows:
            lines.append("  ".join(part.ljust(widths[i]) if i < len(row) - 1 else part for i, part in enumerate(row)))
        return ["(username, password, who)", *lines] if columns == 3 else lines

    from django.contrib.auth import get_user_model
    from django.db import connections

    from governance.models import SiteMembership

    memberships: dict[str, list[str]] = {}
    for username, role, site in SiteMembership.objects.values_list("user__username", "role", "site__code"):
        memberships.setdefault(username, []).append(f"{role}@{site}")
    for user in get_user_model().objects.filter(is_active=True).order_by("username")[:40]:
        roles = ", ".join(sorted(memberships.get(user.username, [])))
        if user.is_superuser:
            roles = ("superuser, " + roles) if roles else "superuser"
        lines.append(f"{user.username:<24} {roles}")
    connections.close_all()
    if lines:
        lines.append("(passwords: see the load_demo command's output)")
    return lines


def ensure_schedules() -> None:
    """The periodic jobs that are not scheduled by migrations (distribution_erp.schedules), also without demo data."""
    try:
        from distribution_erp.schedules import ensure_periodic_tasks
    except ImportError:
        return
    from django.db import connections

    created = ensure_periodic_tasks()
    connections.close_all()
    if created:
        say(f"scheduled {created} periodic job(s)")


def send_ping() -> None:
    try:
        from distribution_erp.tasks import ping

        ping.delay(sender=f"make run (pid {os.getpid()})")
        say("sent a ping task; the worker logs 'pong' when it runs it")
    except Exception as error:  # a failed ping must not stop the system
        say(f"could not send the ping task: {error}")


def shell_python() -> str:
    """This interpreter as a person types it in the project folder (.venv/bin/python), else its full path."""
    try:
        relative = Path(PYTHON).relative_to(ROOT)
    except ValueError:
        return PYTHON
    return str(relative)


def token_command(database_url: str, embedded_db: bool) -> str:
    """The command that makes an API token for the demo integrator, runnable as printed (a shell, in the project
    folder) while this runs: without DATABASE_URL manage.py attaches to the embedded server itself; a URL with a
    password is read from DATABASE_URL_FILE (``keep_database_url``), never printed."""
    if embedded_db:
        prefix = ""
    elif urlsplit(database_url).password:
        prefix = f'DATABASE_URL="$(cat {shlex.quote(str(DATABASE_URL_FILE))})" '
    else:
        prefix = f"DATABASE_URL={shlex.quote(database_url)} "
    return f"{prefix}{shlex.quote(shell_python())} manage.py {shlex.join(TOKEN_ARGS)}"


def token_hint(database_url: str, embedded_db: bool) -> str:
    """The banner's token line: to paste in another terminal, from any folder."""
    return f"cd {shlex.quote(str(ROOT))} && {token_command(database_url, embedded_db)}"


def keep_database_url(database_url: str) -> Path | None:
    """Write a password-holding DATABASE_URL to DATABASE_URL_FILE (mode 0600) for the token command; None when
    the URL has no password (the command carries it)."""
    if not urlsplit(database_url).password:
        return None
    path = ROOT / DATABASE_URL_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a new file, so the mode below applies
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(database_url)
    return path


def banner(base_url: str, database_url: str, embedded_db: bool, redis_url: str) -> None:
    lines = [
        "",
        "=" * 78,
        f"Distribution ERP is running at {base_url}/",
        f"  workspace    {base_url}/   (coordinators, supervisors, scan screens; sign in with a demo login)",
        f"  admin        {base_url}/admin/",
        f"  API          {base_url}/api/v1/   (Authorization: Token <key>)",
        f"  API token    {token_hint(database_url, embedded_db)}",
        "               (another terminal; prints the key on its last line; or the API tokens page)",
        f"  API docs     {base_url}/api/docs/   schema: {base_url}/api/schema/",
        f"  database     {'embedded PostgreSQL, ' if embedded_db else ''}{redact(database_url)}",
        f"  broker       {redact(redis_url) if redis_url else 'file system, var/broker'}",
        "Demo logins:",
    ]
    try:
        logins = demo_login_lines()
    except Exception as error:
        logins = [f"(could not read them: {error})"]
    lines += [f"  {line}" for line in logins] or [f"  (none: run `{shell_python()} manage.py load_demo`)"]
    lines += ["Stop with Ctrl-C.", "=" * 78, ""]
    with _print_lock:
        print("\n".join(lines), flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Run the whole Distribution ERP on this machine.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    parser.add_argument(
        "--demo-scale",
        choices=["full", "small"],
        default=os.environ.get("DEMO_SCALE", "full"),
        help="full (default): 2,000 items; small: a quick subset (or DEMO_SCALE=small)",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        if not stop.is_set():
            say(f"{signal.Signals(signum).name}: stopping")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distribution_erp.settings")
    os.environ["PYTHONUNBUFFERED"] = "1"
    embedded = None
    kept_url: Path | None = None
    children: list[Child] = []
    failed = False
    try:
        if not os.environ.get("DATABASE_URL"):
            from distribution_erp import embedded

            say(f"starting the embedded PostgreSQL in {embedded.PGDATA}")
            embedded.start_database(cleanup_mode="stop")
            os.environ["DATABASE_URL"] = embedded.database_url()
        env = dict(os.environ)
        say(f"DATABASE_URL={redact(env['DATABASE_URL'])}")
        if embedded is None:
            kept_url = keep_database_url(env["DATABASE_URL"])

        manage("migrate", "--noinput", env=env)
        setup_django()
        ensure_schedules()
        if not args.no_demo and not stop.is_set():
            from django.core.management import get_commands

            if "load_demo" in get_commands():
                manage("load_demo", *(["--scale", args.demo_scale] if args.demo_scale != "full" else []), env=env)
            else:
                say("no load_demo command in this version: starting without demo data")
        if not stop.is_set():
            manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
        if stop.is_set():
            return 0

        for name, command in child_commands(args.host, args.port).items():
            children.append(Child(name, command, env))
        for child in children:
            child.pump.start()

        shown_host = "127.0.0.1" if args.host in {"0.0.0.0", ""} else args.host
        base_url = f"http://{shown_host}:{args.port}"
        if wait_for_web(f"{base_url}/admin/login/", children, stop):
            setup_django()
            banner(base_url, env["DATABASE_URL"], embedded is not None, env.get("REDIS_URL", ""))
            send_ping()

        while not stop.is_set():
            dead = [child for child in children if not child.running()]
            if dead:
                for child in dead:
                    say(f"{child.name} exited with status {child.proc.returncode}: stopping everything")
                failed = True
                break
            time.sleep(0.5)
    except subprocess.CalledProcessError as error:
        if not stop.is_set():  # a step interrupted by Ctrl-C is not a failure
            say(f"{' '.join(map(str, error.cmd[1:]))} failed with status {error.returncode}")
            failed = True
    finally:
        shutdown(children)
        if embedded is not None:
            say("stopping the embedded PostgreSQL")
            embedded.stop_database()
        if kept_url is not None:
            kept_url.unlink(missing_ok=True)
    return 1 if failed else 0


def shutdown(children: list[Child]) -> None:
    if not children:
        return
    for child in children:
        child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop in {STOP_TIMEOUT_SECONDS}s: killing it")
    for child in children:
        child.kill_group()  # stragglers of the group (pool processes, gunicorn workers)
        child.proc.wait()
        child.pump.join(timeout=2)
    say("stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
