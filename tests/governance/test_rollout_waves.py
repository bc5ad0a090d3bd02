"""Rollout waves (issue 13): sites grouped with planned dates, their progress read from the stages, planned by
enterprise admins through the service, the API and the admin; shown on the hypercare command centre."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import PermissionDenied, StateConflict, ValidationFailed
from governance.models import RolloutWave, Site, SiteStageChange
from governance.services.rollout import create_wave, set_wave_sites, update_wave, wave_progress
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def north(db):
    return SiteFactory(code="DC-N", name="North", region="NORTH", stage=Site.Stage.PLANNED)


@pytest.fixture
def south(db):
    return SiteFactory(code="DC-S", name="South", region="SOUTH", stage=Site.Stage.PLANNED)


def _days(n: int) -> date:
    return timezone.localdate() + timedelta(days=n)


def test_a_wave_is_planned_by_an_enterprise_admin_with_its_dates_checked_together(admin_user, make_user, north, south):
    with pytest.raises(PermissionDenied):
        create_wave(
            user=make_user("admin", north), code="W1", name="One", planned_cutover=_days(1), planned_go_live=_days(9)
        )
    with pytest.raises(ValidationFailed) as refused:
        create_wave(
            user=admin_user,
            code="W1",
            name="One",
            planned_cutover=_days(5),
            planned_pilot=_days(1),
            planned_go_live=_days(2),
        )
    assert {e["field"] for e in refused.value.errors} == {"planned_go_live", "planned_pilot"}  # every problem at once
    assert not RolloutWave.objects.exists()
    wave = create_wave(
        user=admin_user,
        code="w1",
        name="One",
        planned_cutover=_days(1),
        planned_pilot=_days(3),
        planned_go_live=_days(9),
        sites=[north, south],
    )
    assert wave.code == "W1" and set(wave.sites.values_list("code", flat=True)) == {"DC-N", "DC-S"}
    assert north.history.first().history_user == admin_user  # the site's wave is in its history
    with pytest.raises(ValidationFailed):
        create_wave(user=admin_user, code="W1", name="Again", planned_cutover=_days(1), planned_go_live=_days(2))
    with pytest.raises(ValidationFailed):
        update_wave(user=admin_user, wave=wave, planned_go_live=_days(0))
    wave.refresh_from_db()
    assert wave.planned_go_live == _days(9)


def test_progress_is_read_from_the_stages_against_the_planned_days(admin_user, north, south):
    wave = create_wave(
        user=admin_user,
        code="W1",
        name="One",
        planned_cutover=_days(-3),
        planned_go_live=_days(5),
        sites=[north, south],
    )
    Site.objects.filter(pk=north.pk).update(stage=Site.Stage.CUTOVER)
    SiteStageChange.objects.create(site=north, from_stage="PLANNED", to_stage="CUTOVER", changed_at=timezone.now())
    progress = wave_progress([wave])[0]
    by_code = {p.site.code: p for p in progress.sites}
    assert by_code["DC-N"].status == "on plan" and "CUTOVER" in by_code["DC-N"].reached
    assert by_code["DC-S"].status == "behind" and by_code["DC-S"].behind == ["CUTOVER"]  # its cutover day passed
    assert progress.status == "behind"
    later = wave_progress([wave], today=_days(6))[0]
    assert {p.site.code: p.behind for p in later.sites} == {"DC-N": ["LIVE"], "DC-S": ["CUTOVER", "LIVE"]}


def test_a_live_site_stays_in_the_wave_it_went_live_in(admin_user, north, south):
    first = create_wave(
        user=admin_user, code="W1", name="1", planned_cutover=_days(-9), planned_go_live=_days(-1), sites=[north]
    )
    Site.objects.filter(pk=north.pk).update(stage=Site.Stage.LIVE)
    with pytest.raises(StateConflict):
        set_wave_sites(user=admin_user, wave=first, sites=[south])
    second = create_wave(user=admin_user, code="W2", name="2", planned_cutover=_days(1), planned_go_live=_days(9))
    with pytest.raises(StateConflict):
        set_wave_sites(user=admin_user, wave=second, sites=[north])
    north.refresh_from_db()
    assert north.rollout_wave == first
    set_wave_sites(user=admin_user, wave=second, sites=[south])  # a site not live moves freely
    south.refresh_from_db()
    assert south.rollout_wave == second


def test_the_api_lists_waves_with_the_users_sites_and_only_enterprise_admins_plan(
    api, admin_user, make_user, north, south
):
    lead = make_user("admin", north)
    response = api(admin_user).post(
        "/api/v1/rollout-waves/",
        {
            "code": "W1",
            "name": "One",
            "planned_cutover": str(_days(1)),
            "planned_go_live": str(_days(9)),
            "sites": ["DC-N", "DC-S"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert {s["site"] for s in response.json()["sites"]} == {"DC-N", "DC-S"}
    mine = api(lead).get("/api/v1/rollout-waves/").json()
    assert [w["code"] for w in mine] == ["W1"] and [s["site"] for s in mine[0]["sites"]] == ["DC-N"]  # not DC-S
    assert api(make_user("admin", SiteFactory(code="ELSE"))).get("/api/v1/rollout-waves/W1/").status_code == 404
    refused = api(lead).post(
        "/api/v1/rollout-waves/",
        {"code": "W2", "planned_cutover": str(_days(1)), "planned_go_live": str(_days(2))},
        format="json",
    )
    assert refused.status_code == 403 and RolloutWave.objects.count() == 1
    unknown = api(admin_user).post("/api/v1/rollout-waves/W1/sites/", {"sites": ["NOPE"]}, format="json")
    assert unknown.status_code == 400 and "NOPE" in str(unknown.json())
    moved = api(admin_user).post("/api/v1/rollout-waves/W1/sites/", {"sites": ["DC-S"]}, format="json")
    assert moved.status_code == 200 and [s["site"] for s in moved.json()["sites"]] == ["DC-S"]


def test_the_admin_plans_a_wave_through_the_service(client, admin_user, north):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:governance_rolloutwave_add"),
        {
            "code": "W1",
            "name": "One",
            "planned_cutover": str(_days(1)),
            "planned_go_live": str(_days(9)),
            "note": "",
            "sites": [north.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    wave = RolloutWave.objects.get()
    assert list(wave.sites.all()) == [north] and wave.history.first().history_user == admin_user
    bad = client.post(
        reverse("admin:governance_rolloutwave_change", args=[wave.pk]),
        {
            "name": "One",
            "planned_cutover": str(_days(5)),
            "planned_go_live": str(_days(1)),
            "note": "",
            "sites": [north.pk],
        },
    )
    assert bad.status_code == 200 and "Go-live cannot be before the cutover." in bad.content.decode()
    wave.refresh_from_db()
    assert wave.planned_go_live == _days(9)
    assert "W1" in client.get(reverse("admin:governance_rolloutwave_changelist")).content.decode()


def test_the_hypercare_page_shows_the_waves_and_who_is_behind(client, admin_user, north, south):
    create_wave(
        user=admin_user,
        code="W1",
        name="One",
        planned_cutover=_days(-2),
        planned_go_live=_days(5),
        sites=[north, south],
    )
    client.force_login(admin_user)
    page = client.get(reverse("web:hypercare")).content.decode()
    assert 'data-testid="rollout-waves"' in page and 'data-testid="wave-W1"' in page
    assert "Behind plan" in page and "0 of 2 live" in page
