from __future__ import annotations

import contextlib
import traceback

from django.utils import timezone

from governance.models import JobRun


@contextlib.contextmanager
def record_job(kind: str, *, site=None, requested_by=None):
    """Record a background job run; yields the run's ``counts`` dict for the job to fill.

    The run row is written outside the job's own transactions, so a failure is
    recorded even though the job's work rolled back; the error is re-raised.
    """
    run = JobRun.objects.create(kind=kind, site=site, requested_by=requested_by)
    counts: dict = {}
    try:
        yield counts
    except Exception as exc:
        run.status = JobRun.Status.FAILED
        run.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        run.counts = counts
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "counts", "finished_at"])
        raise
    run.status = JobRun.Status.SUCCEEDED
    run.counts = counts
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "finished_at"])
