"""Go-live requests and decisions racing on real PostgreSQL with real threads: two admins asking at once get
one request (the site row is locked first, one pending request per site); two enterprise admins approving and
rejecting the same request at once decide it once, and the site moves once."""

from __future__ import annotations

import pytest

from core.errors import StateConflict
from cutover.models import GoLiveRequest
from cutover.services import decide_go_live, request_go_live
from governance.models import ApprovalRequest, Site, SiteMembership, SiteStageChange
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.cutover.readiness_helpers import ready_site
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_admins_asking_at_once_make_one_go_live_request():
    ready = ready_site()
    second = UserFactory(username="dc7-admin-2")
    SiteMembership.objects.create(user=second, site=ready.site, role="admin")
    results, errors = run_threads(
        lambda user: request_go_live(user=user, site=Site.objects.get(pk=ready.site.pk)),
        [(ready.lead,), (second,)],
    )
    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors
    assert GoLiveRequest.objects.count() == 1 and ApprovalRequest.objects.filter(kind="GO_LIVE").count() == 1


def test_a_go_and_a_no_go_at_once_decide_the_request_once():
    ready = ready_site()
    request = request_go_live(user=ready.lead, site=ready.site)
    bosses = [UserFactory(username=f"boss-{n}", is_superuser=True, is_staff=True) for n in range(2)]
    results, errors = run_threads(
        lambda user, approve: decide_go_live(user=user, request=request, approve=approve),
        [(bosses[0], True), (bosses[1], False)],
    )
    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors
    request.refresh_from_db()
    ready.site.refresh_from_db()
    moved = SiteStageChange.objects.filter(site=ready.site, to_stage=Site.Stage.LIVE).count()
    if request.status == GoLiveRequest.Status.APPROVED:
        assert ready.site.stage == Site.Stage.LIVE and moved == 1
    else:
        assert request.status == GoLiveRequest.Status.REJECTED and ready.site.stage == Site.Stage.PILOT and moved == 0
