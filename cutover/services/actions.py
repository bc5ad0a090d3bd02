"""``allowed_actions`` of an import batch (``core.actions``): the steps the services would take now for this user.

The state answers come from ``cutover.policy`` (the same functions ``validate_batch``, ``request_post``,
``reconcile_batch`` and ``sign_off`` ask under the batch's row lock); who may take a step is the services' own
check: the site's admins (``site.manage``) validate, ask to post, reconcile and decide the sign-off as site lead;
the data owner (``signoff.is_owner``) signs off. The site lead's step is never offered to the owner who signed
(segregation of duties, as ``decide_approval`` refuses it). Only reads."""

from __future__ import annotations

from governance import permissions
from governance.models import ApprovalRequest

from .. import policy
from ..models import ImportBatch
from .batches import ACTION
from .signoff import LEAD_ACTION, is_owner, sign_offs_of


def batch_actions(batch: ImportBatch, user) -> frozenset[str]:
    if not permissions.can_see_site(user, batch.site_id):
        return frozenset()
    actions: set[str] = set()
    if permissions.can(user, ACTION, batch.site_id):
        actions |= policy.steps(kind=batch.kind, status=batch.status)
    if batch.status != ImportBatch.Status.POSTED:
        return frozenset(actions)  # the sign-off steps need a posted batch: no further reads
    earlier = list(sign_offs_of(batch).values_list("status", "requested_by_id"))
    statuses = [status for status, _ in earlier]
    if is_owner(user, batch):
        reconciled = batch.reconciliations.exists() if policy.is_reconciled_kind(batch.kind) else True
        blocker = policy.sign_off_blocker(kind=batch.kind, status=batch.status, reconciled=reconciled, earlier=statuses)
        if blocker is None:
            actions.add(policy.SIGN_OFF)
    pending_by = next((by for status, by in earlier if status == ApprovalRequest.Status.PENDING), None)
    if pending_by is not None and pending_by != user.pk and permissions.can(user, LEAD_ACTION, batch.site_id):
        actions.add(policy.DECIDE_SIGN_OFF)
    return frozenset(actions)
