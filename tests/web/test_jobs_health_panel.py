"""The jobs page shows supervisors the state of background work (issue 11): broker, cache, outbox backlog, the
heartbeat of each process and the processes that stopped beating."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import ServiceHeartbeat
from governance.services.heartbeats import beat

pytestmark = pytest.mark.django_db


def test_the_jobs_page_shows_a_killed_worker_and_the_backlog(client, supervisor):
    for name in ("worker", "beat", "outbox_relay"):
        beat(name)
    ServiceHeartbeat.objects.filter(name="worker").update(seen_at=timezone.now() - timedelta(seconds=90))
    ServiceHeartbeat.objects.create(
        name="worker", host="old-host", pid=4242, seen_at=timezone.now() - timedelta(hours=1)
    )
    client.force_login(supervisor)
    page = client.get(reverse("web:job-list")).content.decode()
    assert 'id="background-health"' in page and "degraded" in page
    assert re.search(r"<dt>worker</dt><dd><b>stale</b>: last seen 9[0-9] s ago", page)
    assert "Stopped beating today: worker " in page and "worker old-host:4242 (" in page
    assert "0 waiting (0 due)" in page and "<dt>Broker</dt><dd>reachable" in page


def test_the_jobs_page_says_running_when_every_process_beats(client, supervisor):
    for name in ("worker", "beat", "outbox_relay"):
        beat(name)
    client.force_login(supervisor)
    page = client.get(reverse("web:job-list")).content.decode()
    assert "running</span>" in page and "stale" not in page
