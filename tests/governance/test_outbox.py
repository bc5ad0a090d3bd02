"""The transactional outbox (governance.services.outbox): rows written in the business transaction, published after
commit or by the relay, marked done by the task, re-published after a lease, left pending while the broker is down.

Tasks run eagerly in tests (tests/conftest.py): publishing a row runs its task inline, as a worker would."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from celery import shared_task
from django.db import transaction
from django.utils import timezone

from governance.models import OutboxMessage
from governance.services import outbox
from governance.services.outbox import enqueue_event, enqueue_task, lease_seconds, purge_outbox, relay_outbox

pytestmark = pytest.mark.django_db

RUNS: list = []


@shared_task(name="tests.outbox_probe")
def probe(value, fail: bool = False):
    RUNS.append(value)
    if fail:
        raise RuntimeError(f"probe failed on {value}")
    return value


@pytest.fixture(autouse=True)
def _runs():
    RUNS.clear()
    yield
    RUNS.clear()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_down():
    """A real broker outage: tasks are published (not run inline) to a Redis port nothing listens on."""
    from distribution_erp.celery import app

    saved = {
        "task_always_eager": app.conf.task_always_eager,
        "broker_url": app.conf.broker_url,
        "broker_transport_options": app.conf.broker_transport_options,
    }
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/1"
    app.conf.broker_transport_options = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
    _reset_pools(app)
    yield app
    for key, value in saved.items():
        setattr(app.conf, key, value)
    _reset_pools(app)
    outbox._broker_ok()


def _reset_pools(app):
    app._pool = None
    app.amqp._producer_pool = None


def test_the_row_is_written_in_the_business_transaction_and_runs_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            row = enqueue_task(probe, args=[7], queue="default")
            waiting = OutboxMessage.objects.get(pk=row.pk)
            assert RUNS == [] and waiting.dispatched_at is None and waiting.done_at is None
            assert (waiting.topic, waiting.args, waiting.kind) == ("tests.outbox_probe", [7], "TASK")
    assert RUNS == [7]
    row.refresh_from_db()
    assert row.dispatched_at and row.done_at and row.attempts == 1 and row.last_error == ""


def test_one_transaction_publishes_its_rows_with_one_callback(django_capture_on_commit_callbacks):
    """200 events of one allocation are one claim and one round of publishing, not 200 callbacks."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for value in range(5):
                enqueue_task(probe, args=[value])
            with pytest.raises(ZeroDivisionError):
                with transaction.atomic():  # a savepoint rolled back: its row is gone, the others still go
                    enqueue_task(probe, args=[99])
                    raise ZeroDivisionError
            enqueue_task(probe, args=[5])
    assert len(callbacks) == 1
    assert sorted(RUNS) == [0, 1, 2, 3, 4, 5]
    assert OutboxMessage.objects.filter(done_at__isnull=True).count() == 0
    with django_capture_on_commit_callbacks(execute=True) as later:
        with transaction.atomic():
            enqueue_task(probe, args=[6])
    assert len(later) == 1 and RUNS[-1] == 6  # the next transaction starts its own batch


def test_a_savepoint_that_rolls_back_its_first_row_does_not_lose_the_later_ones(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            with pytest.raises(ZeroDivisionError):
                with transaction.atomic():
                    enqueue_task(probe, args=[1])  # registers the batch inside the savepoint
                    raise ZeroDivisionError
            enqueue_task(probe, args=[2])  # the batch's callback is gone: a new one
    assert RUNS == [2]


def test_a_rolled_back_transaction_leaves_no_row_and_runs_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ZeroDivisionError):
            with transaction.atomic():
                enqueue_task(probe, args=[1])
                enqueue_event("order.released", {"order": 1})
                raise ZeroDivisionError("the business transaction fails")
    assert OutboxMessage.objects.count() == 0 and RUNS == [] and callbacks == []


@pytest.mark.django_db(transaction=True)
def test_enqueueing_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the business transaction"):
        enqueue_task(probe, args=[1])
    assert OutboxMessage.objects.count() == 0 and RUNS == []


def test_a_dedup_key_absorbs_the_same_work_while_a_row_waits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = enqueue_task(probe, args=[1], dedup_key="probe:1")
        second = enqueue_task(probe, args=[1], dedup_key="probe:1")
        other = enqueue_task(probe, args=[2], dedup_key="probe:2")
    assert first is not None and second is None and other is not None
    assert OutboxMessage.objects.count() == 2
    assert relay_outbox() == {"sent": 2, "failed": 0} and sorted(RUNS) == [1, 2]
    with django_capture_on_commit_callbacks(execute=False):
        again = enqueue_task(probe, args=[1], dedup_key="probe:1")  # the first one was published: a new row
    assert again is not None and again.pk != first.pk


def test_the_relay_publishes_rows_whose_fast_path_was_lost_and_marks_them_done(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the process died after commit: nothing published
        rows = [enqueue_task(probe, args=[n]) for n in range(3)]
    assert RUNS == []
    assert relay_outbox(limit=2) == {"sent": 3, "failed": 0}
    assert RUNS == [0, 1, 2]
    assert all(r.done_at and r.attempts == 1 for r in OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]))
    assert relay_outbox() == {"sent": 0, "failed": 0} and RUNS == [0, 1, 2]  # done rows are never sent again


def test_a_delayed_row_waits_until_it_is_due(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = enqueue_task(probe, args=[1], delay_seconds=60)
    assert RUNS == [] and relay_outbox() == {"sent": 0, "failed": 0}
    OutboxMessage.objects.filter(pk=row.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    assert relay_outbox() == {"sent": 1, "failed": 0} and RUNS == [1]


def test_a_row_not_done_within_its_lease_is_published_again(django_capture_on_commit_callbacks):
    """A worker SIGKILLed with the task (or Redis restarted and lost the message): the row was published but its
    task never finished. After the lease the relay publishes it again; before it, not."""
    with django_capture_on_commit_callbacks(execute=False):
        lost = enqueue_task(probe, args=["lost"])
        running = enqueue_task(probe, args=["running"])
    now = timezone.now()
    lease = lease_seconds("tests.outbox_probe")
    OutboxMessage.objects.filter(pk=lost.pk).update(
        dispatched_at=now - timedelta(seconds=lease + 1), available_at=now - timedelta(seconds=1), attempts=1
    )
    OutboxMessage.objects.filter(pk=running.pk).update(
        dispatched_at=now - timedelta(seconds=5), available_at=now + timedelta(seconds=lease - 5), attempts=1
    )
    assert relay_outbox() == {"sent": 1, "failed": 0}
    assert RUNS == ["lost"]
    lost.refresh_from_db()
    running.refresh_from_db()
    assert lost.done_at and lost.attempts == 2
    assert running.done_at is None and running.attempts == 1


def test_leases_are_a_little_longer_than_the_hard_time_limit():
    from distribution_erp.celery import app

    assert lease_seconds("orders.tasks.allocate_order_task") == 30  # 25 s hard limit + 5 s
    assert lease_seconds("tests.outbox_probe") == app.conf.task_time_limit + 5
    assert app.conf.broker_transport_options.get("visibility_timeout", 0) in (0, 330) or app.conf.task_always_eager


def test_a_failing_task_is_retried_with_a_backoff_then_given_up(django_capture_on_commit_callbacks):
    with pytest.raises(RuntimeError, match="probe failed"):
        with django_capture_on_commit_callbacks(execute=True):
            row = enqueue_task(probe, args=[1], kwargs={"fail": True})
    row.refresh_from_db()
    assert row.done_at is None and "probe failed" in row.last_error and row.attempts == 1
    assert row.available_at > timezone.now()  # backoff: 2 s after the first failure
    assert relay_outbox() == {"sent": 0, "failed": 0}
    OutboxMessage.objects.filter(pk=row.pk).update(
        available_at=timezone.now() - timedelta(seconds=1), attempts=outbox.MAX_ATTEMPTS - 1
    )
    with pytest.raises(RuntimeError):
        relay_outbox()
    row.refresh_from_db()
    assert row.done_at and row.last_error.startswith("gave up") and row.attempts == outbox.MAX_ATTEMPTS


def test_broker_down_leaves_the_row_pending_and_the_relay_publishes_it_later(
    broker_down, django_capture_on_commit_callbacks
):
    import time

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):  # the fast path meets the dead broker: no error
        row = enqueue_task(probe, args=["after outage"])
    assert time.monotonic() - started < 3
    row.refresh_from_db()
    assert row.dispatched_at is None and row.done_at is None and row.attempts == 0
    assert row.last_error.startswith("publish:") and outbox.broker_down_since() is not None
    assert relay_outbox() == {"sent": 0, "failed": 1}  # the relay keeps it too
    with django_capture_on_commit_callbacks(execute=True):  # breaker open: the fast path does not even try
        second = enqueue_task(probe, args=["second"])
    second.refresh_from_db()
    assert second.dispatched_at is None and second.last_error == ""
    assert RUNS == []

    broker_down.conf.task_always_eager = True  # the broker is back
    assert relay_outbox() == {"sent": 2, "failed": 0}
    assert RUNS == ["after outage", "second"]
    row.refresh_from_db()
    assert row.done_at and row.attempts == 1


def test_events_are_handed_to_subscribers(django_capture_on_commit_callbacks):
    seen = []
    outbox.register_event_subscriber(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            row = enqueue_event("order.released", {"order": 5})
    finally:
        outbox._event_subscribers.remove(seen.append)
    assert [(m.topic, m.payload) for m in seen] == [("order.released", {"order": 5})]
    row.refresh_from_db()
    assert row.kind == "EVENT" and row.done_at


def test_purge_deletes_only_rows_done_days_ago(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        old, recent = enqueue_task(probe, args=[1]), enqueue_task(probe, args=[2])
    with django_capture_on_commit_callbacks(execute=False):
        pending = enqueue_task(probe, args=[3])
    OutboxMessage.objects.filter(pk=old.pk).update(done_at=timezone.now() - timedelta(days=4))
    OutboxMessage.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=10))
    assert purge_outbox() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}


def test_the_purge_is_scheduled_by_a_migration(seeded_schedules):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="governance.tasks.purge_outbox")
    assert task.enabled and task.crontab is not None and task.queue == "alerts"


def test_the_relay_command_relays_once(django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=False):
        enqueue_task(probe, args=["cmd"])
    out = StringIO()
    call_command("outbox_relay", "--once", stdout=out)
    assert "sent 1" in out.getvalue() and RUNS == ["cmd"]
