"""The project as it is deployed: production settings pass Django's deployment checks, Celery is configured for
at-least-once delivery on the four queues."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "erp.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://erp.example.com",
    "DATABASE_URL": "postgres://erp:secret@db.example.com:5432/erp",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


def run_in_fresh_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "distribution_erp.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_checks_are_clean_with_production_settings():
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)}

    result = run_in_fresh_process(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_checks_fail_without_a_secret_key():
    result = run_in_fresh_process(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)

    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_celery_acknowledges_late_and_takes_one_task_at_a_time():
    from distribution_erp.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_default_queue == "default"


def test_celery_routes_tasks_to_the_four_queues():
    from distribution_erp.celery import app

    def queue_of(task_name: str) -> str:
        return app.amqp.router.route({}, task_name)["queue"].name

    assert {queue.name for queue in app.conf.task_queues} == {"allocation", "replenishment", "alerts", "default"}
    assert queue_of("orders.tasks.allocate_order_task") == "allocation"
    assert queue_of("orders.tasks.allocation_sweep") == "allocation"
    assert queue_of("orders.tasks.replenish_site") == "replenishment"
    assert queue_of("governance.tasks.sweep_exceptions") == "alerts"
    assert queue_of("inventory.tasks.anything") == "default"
    assert queue_of("distribution_erp.tasks.ping") == "default"


def test_ping_task_is_registered_and_answers():
    from distribution_erp.celery import app
    from distribution_erp.tasks import ping

    assert "distribution_erp.tasks.ping" in app.tasks
    assert ping.apply(kwargs={"sender": "test"}).get() == "pong"


def test_parallel_test_workers_get_their_own_redis_database():
    code = "from django.conf import settings; print(settings.CACHES['default']['LOCATION'])"
    env = {"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"], "REDIS_URL": "redis://127.0.0.1:6379/2"}

    worker3 = run_in_fresh_process(
        ["-c", f"import django; django.setup(); {code}"], {**env, "PYTEST_XDIST_WORKER": "gw3"}
    )
    alone = run_in_fresh_process(["-c", f"import django; django.setup(); {code}"], env)

    assert worker3.stdout.strip() == "redis://127.0.0.1:6379/5", worker3.stderr
    assert alone.stdout.strip() == "redis://127.0.0.1:6379/2", alone.stderr
