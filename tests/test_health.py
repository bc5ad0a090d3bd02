"""Health endpoints (issue 11): /health/live/ answers without the database; /health/ready/ (and /health/) report the
database, the broker, the cache, the worker, beat and relay heartbeats and the outbox backlog, 200 or 503."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from governance.models import OutboxMessage, ServiceHeartbeat
from governance.services.heartbeats import beat
from governance.services.outbox import enqueue_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def all_beating():
    for name in ("worker", "beat", "outbox_relay"):
        beat(name, {"test": True})


def test_live_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_is_200_when_every_component_answers(client, all_beating):
    response = client.get("/health/ready/")
    assert response.status_code == 200, response.json()
    components = response.json()["components"]
    assert {"database", "broker", "cache", "worker", "beat", "outbox_relay", "outbox"} <= set(components)
    assert all(components[name]["ok"] for name in ("database", "broker", "worker", "beat", "outbox_relay", "outbox"))
    assert components["outbox"]["pending"] == 0
    assert client.get("/health/").status_code == 200  # the old address answers the same


def test_ready_is_503_naming_a_worker_whose_heartbeat_is_stale(client, all_beating):
    ServiceHeartbeat.objects.filter(name="worker").update(seen_at=timezone.now() - timedelta(seconds=120))
    response = client.get("/health/ready/")
    assert response.status_code == 503
    worker = response.json()["components"]["worker"]
    assert worker["ok"] is False and worker["stale"] is True and worker["age_seconds"] >= 120


def test_ready_is_503_without_any_heartbeat(client):
    body = client.get("/health/ready/").json()
    assert body["status"] == "unavailable"
    assert body["components"]["outbox_relay"] == {"ok": False, "error": "no heartbeat yet"}


def test_ready_reports_the_outbox_backlog_and_its_oldest_row(client, all_beating):
    with transaction.atomic():
        row = enqueue_task("distribution_erp.tasks.ping", delay_seconds=3600)
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(seconds=600))
    response = client.get("/health/ready/")
    outbox = response.json()["components"]["outbox"]
    assert outbox["pending"] == 1 and outbox["due"] == 0 and outbox["oldest_pending_seconds"] >= 600
    assert outbox["ok"] is False
    assert response.status_code == 200  # a backlog is reported, the database, broker and processes are there


def test_ready_is_503_when_the_broker_is_unreachable(client, all_beating):
    from distribution_erp.celery import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    saved = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{port}/1"
    try:
        response = client.get("/health/ready/")
    finally:
        app.conf.broker_url = saved
    assert response.status_code == 503
    broker = response.json()["components"]["broker"]
    assert broker["ok"] is False and broker["error"]


def test_ready_reports_the_cache_fallback_while_redis_is_down(client, all_beating):
    from django.test import override_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    location = f"redis://127.0.0.1:{port}/1"
    caches = {"default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": location}}
    from core import cache as failsoft

    try:
        with override_settings(CACHES=caches):
            response = client.get("/health/ready/")
    finally:
        failsoft._state.pop(location, None)
    cache = response.json()["components"]["cache"]
    assert cache["ok"] is False and cache["fallback"] == "local memory"
    assert response.status_code == 200  # the API works on the fallback: not a reason to take the web server out
