from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import NotFound, PermissionDenied, SegregationOfDuties, StateConflict
from governance import permissions
from governance.models import ApprovalRequest, Site

from .history import set_history_user


@dataclass(frozen=True)
class ApprovalHandler:
    """What happens to the subject when a request of one kind is decided.

    ``on_approved`` / ``on_rejected`` receive the locked request and the deciding
    user and run in the same transaction as the decision: if they raise, the
    decision rolls back too. Apps register their handlers in AppConfig.ready().
    """

    on_approved: Callable[[ApprovalRequest, object], None]
    on_rejected: Callable[[ApprovalRequest, object], None]
    action: str = "approval.decide"


_HANDLERS: dict[str, ApprovalHandler] = {}
_KIND_LABELS: dict[str, str] = {}


def approval_kind(code: str, label) -> str:
    """Declare an approval kind with the label people read (a gettext_lazy string), next to the code; returns the
    code, so a module writes ``APPROVAL_KIND = approval_kind("ADJUSTMENT", _("Stock adjustment"))``."""
    _KIND_LABELS[code] = label
    return code


def approval_kind_label(code: str) -> str:
    """The label of an approval kind; a kind nobody declared reads as its code in words ("GO_LIVE" -> "Go live")."""
    label = _KIND_LABELS.get(code)
    return str(label) if label is not None else code.replace("_", " ").capitalize()


def approval_kind_labels() -> dict[str, str]:
    return {code: str(label) for code, label in _KIND_LABELS.items()}


def register_approval_handler(kind: str, handler: ApprovalHandler) -> None:
    _HANDLERS[kind] = handler


def request_approval(
    *, kind: str, site: Site | None, subject, reason: str, requested_by, rule_key: str = "", threshold="", value=""
) -> ApprovalRequest:
    """Open a pending approval request for ``subject`` (one pending request per subject and kind). ``site`` None:
    an enterprise matter, seen and decided by enterprise admins only."""
    approval = ApprovalRequest(
        kind=kind,
        site=site,
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        subject_label=str(subject)[:200],
        reason=reason,
        rule_key=rule_key,
        threshold=str(threshold),
        value=str(value),
        requested_by=requested_by,
    )
    set_history_user(approval, requested_by)
    try:
        with transaction.atomic():
            approval.save()
    except IntegrityError:
        raise StateConflict(f"An approval of kind {kind} is already pending for {approval.subject_label}.")
    return approval


def decide_refusal(approval: ApprovalRequest, user) -> Exception | None:
    """Why ``user`` may not decide ``approval`` now (the error to raise), or None: the one rule that
    :func:`decide_approval` applies under the row lock and that ``allowed_actions`` shows as buttons. Someone who
    may not see the request gets a 404 (not told it exists); then the permission of the kind's handler at the
    request's site, a request no longer pending (409), segregation of duties (the requester never decides), and a
    kind without a handler."""
    handler = _HANDLERS.get(approval.kind)
    if approval.site_id is None:  # an enterprise matter: enterprise admins only (others do not see it at all)
        if not permissions.is_enterprise_admin(user):
            return NotFound("No such approval request.")
    else:
        if not permissions.can_see_site(user, approval.site_id):
            return NotFound("No such approval request.")
        try:
            permissions.require(
                user, handler.action if handler else "approval.decide", approval.site_id, what="approval"
            )
        except (NotFound, PermissionDenied) as exc:
            return exc
    if approval.status != ApprovalRequest.Status.PENDING:
        return StateConflict(f"This request is already {approval.get_status_display().lower()}.")
    if approval.requested_by_id == user.pk:
        return SegregationOfDuties("You cannot decide a request you made yourself; another approver must.")
    if handler is None:
        return PermissionDenied(f"No handler is registered for approvals of kind {approval.kind}.")
    return None


def approval_actions(approval: ApprovalRequest, user) -> frozenset[str]:
    """``allowed_actions`` of an approval request: approve and reject, or nothing."""
    return frozenset() if decide_refusal(approval, user) is not None else frozenset({"approve", "reject"})


@transaction.atomic
def decide_approval(*, approval: ApprovalRequest, user, approve: bool, note: str = "") -> ApprovalRequest:
    """Approve or reject a pending request. The requester never decides their own request."""
    locked = ApprovalRequest.objects.select_for_update(no_key=True).filter(pk=approval.pk).first()
    if locked is None:
        raise NotFound("No such approval request.")
    refused = decide_refusal(locked, user)
    if refused is not None:
        raise refused
    handler = _HANDLERS[locked.kind]
    locked.status = ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
    locked.decided_by = user
    locked.decided_at = timezone.now()
    locked.decision_note = note or ""
    set_history_user(locked, user)
    locked.save()
    if approve:
        handler.on_approved(locked, user)
    else:
        handler.on_rejected(locked, user)
    return locked


def cancel_approvals_for(*, subject, note: str, kind: str | None = None, user=None) -> int:
    """Cancel the pending approval requests of ``subject`` (of ``kind``, or every kind), with history: the
    document was cancelled, so there is nothing left to decide. Returns how many were cancelled."""
    pending = ApprovalRequest.objects.select_for_update(of=("self",), no_key=True).filter(
        content_type=ContentType.objects.get_for_model(type(subject)),
        object_id=subject.pk,
        status=ApprovalRequest.Status.PENDING,
    )
    if kind is not None:
        pending = pending.filter(kind=kind)
    now = timezone.now()
    count = 0
    for approval in pending.order_by("pk"):
        approval.status = ApprovalRequest.Status.CANCELLED
        approval.decided_at = now
        approval.decision_note = note[:500]
        set_history_user(approval, user)
        approval.save()
        count += 1
    return count
