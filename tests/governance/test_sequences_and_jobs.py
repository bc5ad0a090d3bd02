"""Gap-free document numbers (also under 16 concurrent transactions) and job run records."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from governance.models import DocumentSequence, JobRun
from governance.services import next_document_number, record_job
from tests.factories import ItemFactory


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_numbers_are_consecutive_per_prefix():
    with transaction.atomic():
        assert [next_document_number("SO") for _ in range(3)] == ["SO-000001", "SO-000002", "SO-000003"]
        assert next_document_number("PO", width=4) == "PO-0001"
        assert next_document_number("SO") == "SO-000004"
    assert DocumentSequence.objects.get(prefix="SO").last_value == 4


@pytest.mark.django_db(transaction=True)
def test_a_number_is_taken_only_inside_the_transaction_that_saves_the_document():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        next_document_number("SO")
    assert not DocumentSequence.objects.filter(prefix="SO").exists()


@pytest.mark.django_db
def test_a_rolled_back_transaction_gives_its_number_back():
    with transaction.atomic():
        assert next_document_number("RMA") == "RMA-000001"
    with pytest.raises(Rollback):
        with transaction.atomic():
            assert next_document_number("RMA") == "RMA-000002"
            raise Rollback
    with transaction.atomic():
        assert next_document_number("RMA") == "RMA-000002"


@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_transactions_get_consecutive_numbers_without_gaps():
    """Real PostgreSQL, one connection per thread; every third transaction rolls back after taking a number."""
    threads_count = 16
    barrier = threading.Barrier(threads_count)
    committed: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for round_ in range(3):
                try:
                    with transaction.atomic():
                        number = next_document_number("WAVE")
                        time.sleep(0.002)  # hold the counter row a little, so others queue behind it
                        if (index + round_) % 3 == 0:
                            raise Rollback
                except Rollback:
                    continue
                with lock:
                    committed.append(number)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    expected_commits = sum(1 for i in range(threads_count) for r in range(3) if (i + r) % 3 != 0)
    assert len(committed) == expected_commits
    assert sorted(committed) == [f"WAVE-{n:06d}" for n in range(1, expected_commits + 1)]
    assert DocumentSequence.objects.get(prefix="WAVE").last_value == expected_commits


@pytest.mark.django_db
def test_a_successful_job_records_its_counts_and_finish_time(site, supervisor):
    with record_job("replenishment.run", site=site, requested_by=supervisor) as counts:
        counts["tasks"] = 12
        running = JobRun.objects.get()
        assert running.status == JobRun.Status.RUNNING and running.finished_at is None
    run = JobRun.objects.get()
    assert (run.kind, run.site, run.requested_by, run.status) == (
        "replenishment.run",
        site,
        supervisor,
        JobRun.Status.SUCCEEDED,
    )
    assert run.counts == {"tasks": 12}
    assert run.finished_at >= run.started_at
    assert run.error == ""


@pytest.mark.django_db
def test_a_failed_job_is_recorded_with_its_error_although_its_work_rolled_back():
    with pytest.raises(ValueError, match="supplier feed is empty"):
        with record_job("integration.import") as counts:
            with transaction.atomic():
                ItemFactory(sku="HALF-IMPORTED")
                counts["items"] = 1
                raise ValueError("supplier feed is empty")
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.FAILED
    assert run.error == "ValueError: supplier feed is empty"
    assert run.counts == {"items": 1}
    assert run.finished_at is not None
    assert not ItemFactory._meta.model.objects.filter(sku="HALF-IMPORTED").exists()
