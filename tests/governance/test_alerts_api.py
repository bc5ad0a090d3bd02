"""API of the alerts worker's results: ``notifications/`` (your own, mark read) and ``jobs/`` (job runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governance.models import JobRun, Notification
from governance.services.notifications import notify

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)


# --- notifications ------------------------------------------------------------------------------------------


@pytest.fixture
def inbox(site, supervisor, outsider):
    notify(users=[supervisor], event_key="e:1", title="Older", severity="HIGH", site=site, now=T0)
    notify(users=[supervisor], event_key="e:2", title="Newer", severity="CRITICAL", site=site, now=T0 + timedelta(1))
    notify(users=[outsider], event_key="e:3", title="Not yours", now=T0)
    return {n.event_key: n for n in Notification.objects.filter(channel="IN_APP")}


def test_a_user_lists_only_their_own_in_app_notifications_newest_first(api, supervisor, inbox):
    response = api(supervisor).get("/api/v1/notifications/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["title"], r["severity"], r["site"], r["unread"]) for r in rows] == [
        ("Newer", "CRITICAL", "DC1", True),
        ("Older", "HIGH", "DC1", True),
    ]
    assert {r["id"] for r in rows} == {inbox["e:1"].pk, inbox["e:2"].pk}  # not the email rows, not others'


def test_notifications_filter_by_unread_and_severity(api, supervisor, inbox):
    client = api(supervisor)
    client.post(f"/api/v1/notifications/{inbox['e:1'].pk}/read/")

    assert [r["title"] for r in client.get("/api/v1/notifications/?unread=true").json()["results"]] == ["Newer"]
    assert [r["title"] for r in client.get("/api/v1/notifications/?unread=false").json()["results"]] == ["Older"]
    assert [r["title"] for r in client.get("/api/v1/notifications/?severity=HIGH").json()["results"]] == ["Older"]


def test_marking_a_notification_read_keeps_the_first_read_time(api, supervisor, inbox):
    client = api(supervisor)
    url = f"/api/v1/notifications/{inbox['e:1'].pk}/read/"

    first = client.post(url)
    again = client.post(url)

    assert first.status_code == again.status_code == 200
    assert first.json()["unread"] is False and first.json()["read_at"] == again.json()["read_at"]
    assert Notification.objects.get(pk=inbox["e:2"].pk).read_at is None


def test_another_users_notification_is_404_and_stays_unread(api, supervisor, outsider, inbox):
    theirs = inbox["e:3"]

    assert api(supervisor).get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    response = api(supervisor).post(f"/api/v1/notifications/{theirs.pk}/read/")

    assert response.status_code == 404 and response["Content-Type"].startswith("application/problem+json")
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_read_all_marks_only_your_unread_notifications(api, supervisor, inbox):
    response = api(supervisor).post("/api/v1/notifications/read-all/")

    assert response.status_code == 200 and response.json() == {"marked": 2}
    assert Notification.objects.get(pk=inbox["e:3"].pk).read_at is None
    assert api(supervisor).post("/api/v1/notifications/read-all/").json() == {"marked": 0}


def test_notifications_need_authentication_and_cannot_be_created(api, supervisor, inbox):
    assert api().get("/api/v1/notifications/").status_code == 401
    response = api(supervisor).post("/api/v1/notifications/", {"title": "x"}, format="json")
    assert response.status_code == 405
    assert Notification.objects.count() == 6


# --- jobs ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def runs(site, other_site):
    return {
        "network": JobRun.objects.create(
            kind="reconcile_inventory", status="SUCCEEDED", counts={"drifts": 0}, finished_at=T0
        ),
        "here": JobRun.objects.create(
            kind="replenishment_run", site=site, status="FAILED", error="RuntimeError: boom", finished_at=T0
        ),
        "there": JobRun.objects.create(kind="replenishment_run", site=other_site, status="SUCCEEDED"),
    }


def test_jobs_show_network_runs_and_runs_of_your_sites_only(api, supervisor, runs):
    response = api(supervisor).get("/api/v1/jobs/")

    assert response.status_code == 200
    rows = {r["id"]: r for r in response.json()["results"]}
    assert set(rows) == {runs["network"].pk, runs["here"].pk}
    failed = rows[runs["here"].pk]
    assert (failed["kind"], failed["site"], failed["status"], failed["error"]) == (
        "replenishment_run",
        "DC1",
        "FAILED",
        "RuntimeError: boom",
    )
    assert rows[runs["network"].pk]["site"] is None and rows[runs["network"].pk]["counts"] == {"drifts": 0}
    assert {"started_at", "finished_at"} <= set(failed)


def test_an_enterprise_admin_sees_every_job_run(api, admin_user, runs):
    assert len(api(admin_user).get("/api/v1/jobs/").json()["results"]) == 3


def test_jobs_filter_by_kind_status_and_site(api, admin_user, runs):
    client = api(admin_user)

    assert [r["id"] for r in client.get("/api/v1/jobs/?status=FAILED").json()["results"]] == [runs["here"].pk]
    kind = client.get("/api/v1/jobs/?kind=replenishment_run").json()["results"]
    assert {r["id"] for r in kind} == {runs["here"].pk, runs["there"].pk}
    assert [r["id"] for r in client.get("/api/v1/jobs/?site=DC2").json()["results"]] == [runs["there"].pk]


def test_a_job_run_of_another_site_is_404(api, supervisor, runs):
    assert api(supervisor).get(f"/api/v1/jobs/{runs['there'].pk}/").status_code == 404
    assert api(supervisor).get(f"/api/v1/jobs/{runs['here'].pk}/").status_code == 200


def test_jobs_are_read_only_and_need_authentication(api, admin_user, runs):
    assert api().get("/api/v1/jobs/").status_code == 401
    client = api(admin_user)
    assert client.post("/api/v1/jobs/", {"kind": "x"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/jobs/{runs['here'].pk}/").status_code == 405
    assert JobRun.objects.count() == 3
