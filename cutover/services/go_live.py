"""The go / no-go decision (issue 13): a PILOT site's admin (its cutover lead) asks to go live; the request keeps
the readiness scorecard as it stood then and opens an approval of kind GO_LIVE; an enterprise admin other than
the requester decides it. Approving moves the site to LIVE through ``governance.services.lifecycle.change_stage``,
which evaluates the scorecard again (the LIVE gate) and stores it with the step: a RED criterion at decision time
refuses the approval (nothing changes) unless the approver records a waiver.

**The waiver travels in the decision note**: a note whose first line starts with ``WAIVER:`` waives the red
criteria, the rest of that line being the reason (``decide_go_live(waiver_reason=...)`` writes it so; through the
generic ``approvals/{id}/approve/`` endpoint give ``note: "WAIVER: <reason>"``). Without it a red scorecard
refuses the approval with the red criteria named."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, PermissionDenied, StateConflict
from governance import permissions
from governance.models import ApprovalRequest, Site
from governance.services.approvals import (
    ApprovalHandler,
    approval_kind,
    decide_approval,
    register_approval_handler,
    request_approval,
)
from governance.services.history import set_history_user
from governance.services.lifecycle import change_stage

from ..models import GoLiveRequest
from ..readiness import AMBER, RED, overall
from ..selectors import scorecard

APPROVAL_KIND = approval_kind("GO_LIVE", _("Go-live decision"))
#: who asks: the site's admins (its cutover lead) and enterprise admins
ACTION = "site.manage"
WAIVER_PREFIX = "WAIVER:"
G = GoLiveRequest.Status


def waiver_from_note(note: str) -> str:
    """Pure: the waiver reason of a decision note (its first line after ``WAIVER:``), or ''."""
    first = (note or "").strip().splitlines()[0] if (note or "").strip() else ""
    if first[: len(WAIVER_PREFIX)].upper() != WAIVER_PREFIX:
        return ""
    return first[len(WAIVER_PREFIX) :].strip()


def decision_note(note: str = "", waiver_reason: str = "") -> str:
    """Pure: the decision note carrying ``waiver_reason`` (first line) and ``note``."""
    waiver_reason = " ".join((waiver_reason or "").split())
    note = (note or "").strip()
    if not waiver_reason:
        return note
    return f"{WAIVER_PREFIX} {waiver_reason}" + (f"\n{note}" if note else "")


def _summary(criteria: list[dict]) -> str:
    reds = sum(1 for c in criteria if c.get("status") == RED)
    ambers = sum(1 for c in criteria if c.get("status") == AMBER)
    return f"{overall(criteria)}: {reds} red, {ambers} amber of {len(criteria)} criteria"


@transaction.atomic
def request_go_live(*, user, site: Site, note: str = "") -> GoLiveRequest:
    """Ask for the go-live of a PILOT site; returns the request with its scorecard and its GO_LIVE approval.
    Refused: a user who is not an admin of the site, a site not in PILOT, a request already pending."""
    permissions.require(user, ACTION, site, what="site")
    locked = Site.objects.select_for_update(no_key=True).get(pk=site.pk)
    if locked.stage != Site.Stage.PILOT:
        raise StateConflict(f"{locked.code} is {locked.stage}: only a site in PILOT asks to go live.")
    pending = GoLiveRequest.objects.filter(site=locked, status=G.PENDING).first()
    if pending is not None:
        raise StateConflict(f"A go-live request for {locked.code} is already waiting for its decision (#{pending.pk}).")
    criteria = scorecard(locked)
    request = GoLiveRequest(site=locked, note=(note or "")[:500], scorecard=criteria, requested_by=user)
    set_history_user(request, user)
    request.save()
    reds = [c["label"] for c in criteria if c.get("status") == RED]
    approval = request_approval(
        kind=APPROVAL_KIND,
        site=locked,
        subject=request,
        reason=f"Take {locked.code} live ({_summary(criteria)})"
        + (f"; red: {', '.join(reds)}" if reds else "")
        + (f". {note}" if note else "."),
        requested_by=user,
        threshold="no red criterion",
        value=overall(criteria),
    )
    request.approval = approval
    request.save(update_fields=["approval"])
    return request


def decide_go_live(*, user, request: GoLiveRequest, approve: bool, note: str = "", waiver_reason: str = ""):
    """Decide a go-live request (through its approval): the waiver reason goes into the decision note."""
    if request.approval_id is None:
        raise NotFound("This go-live request has no approval.")
    approval = ApprovalRequest.objects.get(pk=request.approval_id)
    decide_approval(
        approval=approval,
        user=user,
        approve=approve,
        note=decision_note(note, waiver_reason if approve else ""),
    )
    return GoLiveRequest.objects.get(pk=request.pk)


def _request_of(approval: ApprovalRequest) -> GoLiveRequest:
    request = GoLiveRequest.objects.select_for_update(no_key=True).filter(pk=approval.object_id).first()
    if request is None:
        raise NotFound("The go-live request of this approval no longer exists.")
    if request.status != G.PENDING:
        raise StateConflict(f"This go-live request is already {request.status.lower()}.")
    return request


def _require_enterprise_admin(user) -> None:
    if not permissions.is_enterprise_admin(user):
        raise PermissionDenied("Only an enterprise admin decides a go-live (the go / no-go decision).")


def _on_approved(approval: ApprovalRequest, user) -> None:
    # in the decision's transaction: a refused step rolls the approval back too
    _require_enterprise_admin(user)
    request = _request_of(approval)
    waiver = waiver_from_note(approval.decision_note)
    try:
        step = change_stage(
            user=user,
            site=request.site,
            to_stage=Site.Stage.LIVE,
            note=f"Go-live request #{request.pk} approved",
            waiver_reason=waiver,
        )
    except StateConflict as exc:
        if waiver or Site.objects.filter(pk=request.site_id, stage=Site.Stage.PILOT).first() is None:
            raise
        raise StateConflict(
            f"{exc.message} To go live anyway, approve with a waiver: a decision note whose first line is "
            f"'{WAIVER_PREFIX} <reason>'."
        ) from exc
    request.status = G.APPROVED
    request.decided_by = user
    request.decided_at = timezone.now()
    request.waiver_reason = step.waiver_reason
    request.stage_change = step
    set_history_user(request, user)
    request.save()


def _on_rejected(approval: ApprovalRequest, user) -> None:
    _require_enterprise_admin(user)
    request = _request_of(approval)
    request.status = G.REJECTED
    request.decided_by = user
    request.decided_at = timezone.now()
    set_history_user(request, user)
    request.save()


def register_handlers() -> None:
    register_approval_handler(
        APPROVAL_KIND, ApprovalHandler(on_approved=_on_approved, on_rejected=_on_rejected, action=ACTION)
    )
