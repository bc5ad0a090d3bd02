"""Sign-off of a posted import batch (issue 13): two steps by two different people, through a governance approval
of kind CUTOVER_SIGNOFF on the batch.

1. The batch's **data owner** signs off (``sign_off``): a user holding, at the batch's site, one of the roles that
   own its kind of data (``OWNER_ROLES``; enterprise admins too). Allowed once the batch is POSTED and, for opening
   balances, open orders and transfers in transit (``RECONCILE_FIRST``), reconciled. It opens the approval
   request, whose reason carries the evidence (batch number, rows, errors, the last reconciliation's summary).
2. The **site lead** (an admin of the site, ``site.manage``) approves it (``decide_sign_off``, or the generic
   approval decision): the batch is signed off. The lead can never be the owner who signed (the approval's
   segregation of duties). A rejection sends it back: the owner may sign off again (a new request).

The record is the approval itself (requester = data owner, decider = site lead, with times, note and history).
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, PermissionDenied, StateConflict
from governance import permissions
from governance.models import ApprovalRequest
from governance.services.approvals import (
    ApprovalHandler,
    approval_kind,
    decide_approval,
    register_approval_handler,
    request_approval,
)

from .. import policy
from ..models import ImportBatch, Reconciliation

APPROVAL_KIND = approval_kind("CUTOVER_SIGNOFF", _("Cutover sign-off"))
#: the site lead's step: the site's admins
LEAD_ACTION = "site.manage"
K = ImportBatch.Kind
#: who owns each kind of data at the site (the first step's signer); site admins always may
OWNER_ROLES: dict[str, frozenset[str]] = {
    K.ITEMS: frozenset({"admin", "planner"}),
    K.LOCATIONS: frozenset({"admin", "supervisor"}),
    K.CUSTOMERS: frozenset({"admin", "coordinator", "credit"}),
    K.SUPPLIERS: frozenset({"admin", "planner"}),
    K.OPENING_BALANCES: frozenset({"admin", "supervisor"}),
    K.SITE_RULES: frozenset({"admin"}),
    K.PUTAWAY_RULES: frozenset({"admin", "supervisor"}),
    K.REPLENISHMENT_POLICIES: frozenset({"admin", "planner", "supervisor"}),
    K.OPEN_PURCHASE_ORDERS: frozenset({"admin", "planner"}),
    K.OPEN_SALES_ORDERS: frozenset({"admin", "coordinator"}),
    K.TRANSFERS_IN_TRANSIT: frozenset({"admin", "supervisor", "planner"}),
}
#: the kinds a sign-off needs a reconciliation of first (the counted ones: stock, open orders, stock in transit)
RECONCILE_FIRST = policy.RECONCILED_KINDS


def evidence_text(batch: ImportBatch, rec: Reconciliation | None) -> str:
    """Pure: the evidence of a sign-off, as the approval request carries it."""
    text = (
        f"Sign off cutover import {batch.number} ({batch.get_kind_display()}) at {batch.site.code}: "
        f"{batch.total_rows} rows in the file, {batch.posted_rows} posted, {batch.error_count} errors at the last "
        f"dry run"
    )
    if rec is not None:
        value = f", value difference {rec.value_difference}" if rec.value_difference is not None else ""
        text += (
            f"; reconciled against the legacy control totals: {rec.lines_total} lines, {rec.lines_outside} outside "
            f"±{rec.tolerance_percent} %, units legacy {rec.legacy_units} / system {rec.system_units}{value}"
        )
    return text + "."


def _content_type():
    return ContentType.objects.get_for_model(ImportBatch)


def sign_offs_of(batch: ImportBatch):
    """The CUTOVER_SIGNOFF approvals of ``batch``, newest first."""
    return (
        ApprovalRequest.objects.filter(kind=APPROVAL_KIND, content_type=_content_type(), object_id=batch.pk)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-id")
    )


def is_owner(user, batch: ImportBatch) -> bool:
    return bool(permissions.roles_at(user, batch.site_id) & OWNER_ROLES.get(batch.kind, frozenset({"admin"})))


def last_reconciliation(batch: ImportBatch) -> Reconciliation | None:
    return batch.reconciliations.order_by("-created_at", "-id").first()


@transaction.atomic
def sign_off(*, user, batch: ImportBatch, note: str = "") -> ApprovalRequest:
    """The data owner's step: opens the CUTOVER_SIGNOFF approval with the evidence. Refused (nothing written):
    a user who does not own this kind of data at the site, a batch not posted, opening balances not reconciled,
    a sign-off already waiting for the site lead or already approved."""
    if not permissions.can_see_site(user, batch.site_id):
        raise NotFound("No such import batch.")
    if not is_owner(user, batch):
        needed = ", ".join(sorted(OWNER_ROLES.get(batch.kind, ())))
        raise PermissionDenied(
            f"Only the owner of the data signs off {batch.get_kind_display().lower()}; needs one of: {needed}."
        )
    locked = ImportBatch.objects.select_for_update(no_key=True).select_related("site").get(pk=batch.pk)
    rec = last_reconciliation(locked)
    earlier = list(sign_offs_of(locked))
    blocker = policy.sign_off_blocker(
        kind=locked.kind, status=locked.status, reconciled=rec is not None, earlier=[a.status for a in earlier]
    )
    if blocker == policy.NOT_POSTED:
        raise StateConflict(
            f"{locked.number} is {locked.get_status_display().lower()}; only a posted batch is signed off."
        )
    if blocker == policy.NOT_RECONCILED:
        raise StateConflict(
            f"{locked.number} has not been reconciled; reconcile it against the legacy control totals first."
        )
    if blocker == policy.SIGNED_OFF:
        approved = next(a for a in earlier if a.status == ApprovalRequest.Status.APPROVED)
        raise StateConflict(f"{locked.number} is already signed off (by {approved.decided_by}).")
    if blocker == policy.WAITING_FOR_LEAD:
        pending = next(a for a in earlier if a.status == ApprovalRequest.Status.PENDING)
        raise StateConflict(f"{locked.number} was signed off by {pending.requested_by}; it waits for the site lead.")
    reason = evidence_text(locked, rec) + (f" Note: {note.strip()}" if (note or "").strip() else "")
    return request_approval(
        kind=APPROVAL_KIND,
        site=locked.site,
        subject=locked,
        reason=reason,
        requested_by=user,
        threshold="reconciled" if locked.kind in RECONCILE_FIRST else "posted",
        value=f"{rec.lines_outside} outside" if rec is not None else f"{locked.posted_rows} rows",
    )


def decide_sign_off(*, user, batch: ImportBatch, approve: bool, note: str = "") -> ApprovalRequest:
    """The site lead's step on the waiting sign-off (another person than the owner who signed)."""
    pending = sign_offs_of(batch).filter(status=ApprovalRequest.Status.PENDING).first()
    if pending is None:
        raise StateConflict(f"No sign-off of {batch.number} waits for the site lead; the data owner signs off first.")
    return decide_approval(approval=pending, user=user, approve=approve, note=note)


def _check(approval: ApprovalRequest, user) -> None:
    batch = ImportBatch.objects.filter(pk=approval.object_id).first()
    if batch is None:
        raise NotFound("The import batch of this sign-off no longer exists.")
    if batch.status != ImportBatch.Status.POSTED:
        raise StateConflict(f"{batch.number} is no longer posted; it cannot be signed off.")


def register_handlers() -> None:
    # the handler's action makes decide_approval demand a site admin (the site lead); it records nothing else:
    # the approved request is the sign-off
    register_approval_handler(
        APPROVAL_KIND, ApprovalHandler(on_approved=_check, on_rejected=lambda approval, user: None, action=LEAD_ACTION)
    )
