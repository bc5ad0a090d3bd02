"""Shared fixtures: sites, users with roles, API clients. Factories are in tests/factories.py."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from governance.api.authentication import generate_token
from governance.models import SiteMembership
from inventory.models import Location

from .factories import ItemFactory, LocationFactory, SiteFactory, UserFactory


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Tasks run inline in tests (after commit, as in production); nothing goes to a broker."""
    from distribution_erp.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _webhooks_to_local_receivers(settings):
    """The webhook tests' receivers listen on 127.0.0.1 (tests/governance/test_webhook_targets.py turns this off)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    from governance.services.webhooks import forget_watched_skus

    forget_watched_skus()  # a rolled-back test's subscription is not watched by the next test


@pytest.fixture(autouse=True)
def _celery_join_flag():
    """Celery keeps a process-wide 'joining a result would block' flag that eager tasks run from worker
    threads (the concurrency tests) can leave set; reset it so a later ``.get()`` is not refused."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture(autouse=True, scope="session")
def _ownership_guard_installed():
    """Every connection the run opens (the concurrency tests' threads too) carries the write-ownership guard."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    from . import ownership

    def _on_connect(sender, connection, **kwargs):
        ownership.install(connection)

    connection_created.connect(_on_connect, weak=False)
    for conn in connections.all():
        ownership.install(conn)
    yield
    connection_created.disconnect(_on_connect)


@pytest.fixture(autouse=True)
def _one_owner_per_row(request, _ownership_guard_installed):
    """A test fails when code of one app wrote another app's rows during it (tests/ownership.py)."""
    import os

    from django.db import connections

    from . import ownership

    for conn in connections.all():
        ownership.install(conn)
    ownership.take()
    yield
    found = ownership.take()
    report = os.environ.get("OWNERSHIP_REPORT")
    if report:
        with open(report, "a") as fh:
            for v in found:
                fh.write(f"{request.node.nodeid}\t{v.writer}\t{v.owner}\t{v.table}\t{v.where}\n")
        return
    if found and os.environ.get("OWNERSHIP_GUARD", "strict") == "strict":
        unique = sorted({str(v) for v in found})
        pytest.fail("one owner per row: " + "; ".join(unique[:10]), pytrace=False)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def site(db):
    return SiteFactory(code="DC1", name="Central DC", region="EAST")


@pytest.fixture
def other_site(db):
    return SiteFactory(code="DC2", name="West DC", region="WEST")


@pytest.fixture
def make_user(db):
    """make_user("supervisor", site) -> a user with that role at that site (roles may be a list)."""

    def _make(roles="supervisor", *sites, username=None, superuser=False):
        user = UserFactory(username=username) if username else UserFactory()
        if superuser:
            user.is_superuser = True
            user.is_staff = True
            user.save()
        for s in sites:
            for role in [roles] if isinstance(roles, str) else roles:
                SiteMembership.objects.get_or_create(user=user, site=s, role=role)
        return user

    return _make


@pytest.fixture
def admin_user(make_user):
    return make_user(username="enterprise-admin", superuser=True)


@pytest.fixture
def supervisor(make_user, site):
    return make_user("supervisor", site, username="supervisor1")


@pytest.fixture
def operator(make_user, site):
    return make_user("operator", site, username="operator1")


@pytest.fixture
def outsider(make_user, other_site):
    """A supervisor of another site: must not see anything of ``site``."""
    return make_user("supervisor", other_site, username="outsider")


@pytest.fixture
def item(db):
    return ItemFactory(sku="WIDGET", standard_cost="10.00")


@pytest.fixture
def storage(site):
    return LocationFactory(site=site, code="A-01-01", kind=Location.Kind.STORAGE)


@pytest.fixture
def storage2(site):
    return LocationFactory(site=site, code="A-01-02", kind=Location.Kind.STORAGE)


@pytest.fixture
def api(db):
    """api(user) -> an APIClient authenticated with a real hashed token of ``user`` (None: anonymous)."""

    def _client(user=None):
        client = APIClient()
        if user is not None:
            _, key = generate_token(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return _client


@pytest.fixture
def stock(supervisor):
    """stock(item, location, qty, status="AVAILABLE", lot=None): put stock there through the ledger."""
    from inventory.services import receive_stock

    def _stock(item, location, quantity, status="AVAILABLE", lot=None):
        return receive_stock(
            user=None, item=item, location=location, quantity=quantity, status=status, lot=lot, check_permission=False
        )

    return _stock


#: The migrations that seed django-celery-beat's periodic tasks, in migration order, with their forward function.
SCHEDULE_MIGRATIONS = [
    ("orders.migrations.0002_periodic_tasks", "schedule"),
    ("orders.migrations.0004_overdue_receipts_schedule", "schedule"),
    ("warehouse.migrations.0004_late_shipment_schedule", "schedule"),
    ("governance.migrations.0004_alert_schedules", "schedule"),
    ("orders.migrations.0008_replenishment_schedule", "schedule"),
    ("warehouse.migrations.0006_pick_face_schedule", "schedule"),
    ("inventory.migrations.0003_daily_counts_schedule", "schedule"),
    ("inventory.migrations.0004_daily_counts_hourly", "hourly"),
    ("inventory.migrations.0005_reconcile_schedule", "schedule"),
    ("reporting.migrations.0002_snapshot_schedule", "schedule"),
    ("reporting.migrations.0003_snapshot_hourly", "hourly"),
    ("governance.migrations.0006_outbox_purge_schedule", "schedule"),
]


@pytest.fixture
def seeded_schedules(db):
    """The periodic tasks the migrations seed. A transactional (flushing) test that ran earlier on the same worker
    empties every table, migration-seeded rows included, so a test about the schedules replays the seeding
    migrations (each is idempotent) instead of trusting that the rows are still there."""
    import importlib

    from django.apps import apps

    for module, function in SCHEDULE_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)
