"""The readiness scorecard as the gate of LIVE, training records, and the go / no-go decision: a GO_LIVE
approval asked by the site's admin for a PILOT site, decided by another enterprise admin, a red scorecard at
decision time refused unless the approver records a waiver."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import (
    NotFound,
    PermissionDenied,
    SegregationOfDuties,
    StateConflict,
    ValidationFailed,
)
from cutover.models import GoLiveRequest, TrainingRecord
from cutover.services import decide_go_live, record_training, request_go_live, revoke_training
from cutover.services.go_live import decision_note, waiver_from_note
from governance.models import ApprovalRequest, Site, SiteMembership, SiteStageChange
from governance.services import decide_approval
from governance.services.lifecycle import change_stage
from tests.factories import UserFactory

from .readiness_helpers import ready_site

pytestmark = pytest.mark.django_db
S = Site.Stage


@pytest.fixture
def ready(db):
    return ready_site()


@pytest.fixture
def boss(make_user):
    return make_user([], superuser=True, username="go-boss")


@pytest.fixture
def boss2(make_user):
    return make_user([], superuser=True, username="go-boss-2")


def break_training(ready):
    """A newly hired operator without any certification: training turns red (2 of 3 trained)."""
    SiteMembership.objects.create(user=UserFactory(username="fresh-op"), site=ready.site, role="operator")


# --- pure ---------------------------------------------------------------------------------------------------------


def test_the_waiver_travels_on_the_first_line_of_the_decision_note():
    note = decision_note("all good otherwise", "recount   booked\nfor Monday")
    assert note == "WAIVER: recount booked for Monday\nall good otherwise"
    assert waiver_from_note(note) == "recount booked for Monday"
    assert waiver_from_note("waiver: legacy totals wrong") == "legacy totals wrong"
    assert waiver_from_note("no waiver here\nWAIVER: second line does not count") == ""
    assert waiver_from_note("WAIVER:") == "" and waiver_from_note("") == ""
    assert decision_note("just a note", "") == "just a note"


# --- the LIVE gate --------------------------------------------------------------------------------------------


def test_the_scorecard_gates_live_a_red_criterion_refuses_and_a_waiver_is_stored(ready, boss):
    break_training(ready)
    with pytest.raises(StateConflict, match=r"Operators and supervisors trained \(66.7 %, needs >= 90 %\)"):
        change_stage(user=boss, site=ready.site, to_stage=S.LIVE)
    ready.site.refresh_from_db()
    assert ready.site.stage == S.PILOT and not SiteStageChange.objects.filter(site=ready.site).exists()
    step = change_stage(user=boss, site=ready.site, to_stage=S.LIVE, waiver_reason="new hire shadows a trainer")
    assert step.waived_by == boss and step.waiver_reason == "new hire shadows a trainer"
    stored = {c["key"]: c["status"] for c in step.scorecard}
    assert stored["people.training"] == "RED" and stored["cutover.reconciliation"] == "GREEN"


def test_a_green_scorecard_lets_an_enterprise_admin_take_the_site_live(ready, boss):
    step = change_stage(user=boss, site=ready.site, to_stage=S.LIVE)
    assert step.waived_by is None and len(step.scorecard) == 13


# --- training records --------------------------------------------------------------------------------------


def test_a_site_admin_records_training_for_someone_at_the_site_and_others_may_not(ready, make_user, site):
    record = record_training(
        user=ready.lead,
        site=ready.site,
        trainee=ready.coordinator,
        process="PICKING",
        valid_until=timezone.localdate() + timedelta(days=365),
        trainer="A. Trainer",
    )
    assert record.recorded_by == ready.lead and record.certified_on == timezone.localdate()
    assert record.history.first().history_user == ready.lead
    with pytest.raises(PermissionDenied):
        record_training(user=ready.supervisor, site=ready.site, trainee=ready.operator, process="PICKING")
    with pytest.raises(NotFound):
        record_training(user=make_user("admin", site), site=ready.site, trainee=ready.operator, process="PICKING")
    stranger = UserFactory(username="not-here")
    with pytest.raises(ValidationFailed, match="has no role at DC7"):
        record_training(user=ready.lead, site=ready.site, trainee=stranger, process="PICKING")
    with pytest.raises(ValidationFailed):
        record_training(user=ready.lead, site=ready.site, trainee=ready.operator, process="JUGGLING")
    with pytest.raises(ValidationFailed, match="expire before"):
        record_training(
            user=ready.lead,
            site=ready.site,
            trainee=ready.operator,
            process="PICKING",
            certified_on=timezone.localdate(),
            valid_until=timezone.localdate() - timedelta(days=1),
        )
    assert TrainingRecord.objects.filter(process="PICKING", user__in=[ready.operator, stranger]).count() == 1
    revoked = revoke_training(user=ready.lead, record=record, note="left the team")
    assert revoked.revoked_at is not None
    with pytest.raises(StateConflict):
        revoke_training(user=ready.lead, record=record)


# --- go / no-go -------------------------------------------------------------------------------------------------


def test_go_live_request_snapshots_the_scorecard_and_another_enterprise_admin_approves_it(ready, boss):
    request = request_go_live(user=ready.lead, site=ready.site, note="pilot week done")
    assert request.status == GoLiveRequest.Status.PENDING and len(request.scorecard) == 13
    approval = request.approval
    assert approval.kind == "GO_LIVE" and approval.site == ready.site and approval.value == "AMBER"
    assert "Take DC7 live (AMBER: 0 red, 1 amber of 13 criteria)" in approval.reason
    with pytest.raises(SegregationOfDuties):
        decide_go_live(user=ready.lead, request=request, approve=True)
    with pytest.raises(PermissionDenied):  # a site approver who is not an enterprise admin
        decide_go_live(user=ready.supervisor, request=request, approve=True)
    decided = decide_go_live(user=boss, request=request, approve=True, note="go")
    ready.site.refresh_from_db()
    assert ready.site.stage == S.LIVE and ready.site.hypercare_ends_on is not None
    assert decided.status == GoLiveRequest.Status.APPROVED and decided.decided_by == boss
    assert decided.stage_change.to_stage == S.LIVE and decided.stage_change.changed_by == boss
    assert decided.waiver_reason == ""
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.APPROVED and approval.decided_by == boss


def test_a_red_scorecard_at_decision_refuses_the_approval_unless_the_approver_waives(ready, boss, boss2):
    request = request_go_live(user=ready.lead, site=ready.site)
    assert not request.red_at_request
    break_training(ready)  # turns red after the request
    with pytest.raises(StateConflict, match="Operators and supervisors trained.*WAIVER: <reason>"):
        decide_go_live(user=boss, request=request, approve=True, note="go")
    ready.site.refresh_from_db()
    request.refresh_from_db()
    assert ready.site.stage == S.PILOT and request.status == GoLiveRequest.Status.PENDING
    assert request.approval.status == ApprovalRequest.Status.PENDING  # the refused decision rolled back
    # the waiver through the generic approvals service: the note's first line
    decide_approval(
        approval=request.approval, user=boss2, approve=True, note="WAIVER: new hire shadows a trainer\nwatch DC7"
    )
    request.refresh_from_db()
    ready.site.refresh_from_db()
    assert ready.site.stage == S.LIVE and request.status == GoLiveRequest.Status.APPROVED
    assert request.waiver_reason == "new hire shadows a trainer"
    assert request.stage_change.waived_by == boss2
    assert {c["key"]: c["status"] for c in request.stage_change.scorecard}["people.training"] == "RED"


def test_a_no_go_is_recorded_and_the_site_stays_in_pilot(ready, boss):
    request = request_go_live(user=ready.lead, site=ready.site)
    rejected = decide_go_live(user=boss, request=request, approve=False, note="wait for peak to pass")
    ready.site.refresh_from_db()
    assert ready.site.stage == S.PILOT and rejected.status == GoLiveRequest.Status.REJECTED
    assert rejected.approval.decision_note == "wait for peak to pass"
    with pytest.raises(StateConflict):
        decide_go_live(user=boss, request=rejected, approve=True)
    again = request_go_live(user=ready.lead, site=ready.site)  # a new request may follow
    assert again.pk != request.pk


def test_go_live_requests_are_refused_for_non_admins_sites_not_in_pilot_and_twice(ready, make_user, site, boss):
    with pytest.raises(PermissionDenied):
        request_go_live(user=ready.supervisor, site=ready.site)
    with pytest.raises(NotFound):
        request_go_live(user=make_user("admin", site, username="dc1-admin"), site=ready.site)
    request_go_live(user=ready.lead, site=ready.site)
    with pytest.raises(StateConflict, match="already waiting"):
        request_go_live(user=ready.lead, site=ready.site)
    cutover = ready_site(code="DC8")
    change_stage(user=boss, site=cutover.site, to_stage=S.CUTOVER, note="pilot sent back")
    with pytest.raises(StateConflict, match="only a site in PILOT"):
        request_go_live(user=cutover.lead, site=cutover.site)
    assert GoLiveRequest.objects.count() == 1 and ApprovalRequest.objects.filter(kind="GO_LIVE").count() == 1


def test_a_site_admin_who_may_decide_approvals_cannot_decide_a_go_live(ready, make_user, boss):
    other_admin = make_user("admin", ready.site, username="dc7-admin-2")
    request = request_go_live(user=ready.lead, site=ready.site)
    for approve in (True, False):
        with pytest.raises(PermissionDenied, match="Only an enterprise admin decides a go-live"):
            decide_go_live(user=other_admin, request=request, approve=approve)
    request.refresh_from_db()
    assert request.status == GoLiveRequest.Status.PENDING and request.approval.status == "PENDING"


def test_the_admin_add_form_records_training_through_the_service(client, ready, boss):
    client.force_login(boss)
    added = client.post(
        "/admin/cutover/trainingrecord/add/",
        {
            "user": ready.coordinator.pk,
            "site": ready.site.pk,
            "process": "RECEIVING",
            "certified_on": timezone.localdate().isoformat(),
            "valid_until": "",
            "trainer": "",
            "note": "",
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    record = TrainingRecord.objects.get(user=ready.coordinator, process="RECEIVING")
    assert record.recorded_by == boss and record.history.first().history_user == boss
    assert client.get(f"/admin/cutover/trainingrecord/{record.pk}/history/").status_code == 200
