"""An import batch's steps and their guards, in one place (pure; no database).

The cutover services (``validate_batch``, ``request_post``, ``reconcile_batch``, ``sign_off``) ask these
functions with what they read under the batch's row lock, and refuse in their words when a step is not open;
``allowed_actions`` of a batch (``cutover.services.actions.batch_actions``) asks the same functions, so the batch page
offers exactly the steps the services take. Who may take a step (the site's admins, the data owner) is checked
beside them, through ``governance.permissions``.
"""

from __future__ import annotations

from collections.abc import Iterable

# the statuses (ImportBatch.Status) and kinds (ImportBatch.Kind) the guards read
DRAFT, VALIDATING, VALIDATED, INVALID = "DRAFT", "VALIDATING", "VALIDATED", "INVALID"
AWAITING_APPROVAL, REJECTED, POSTING, POSTED = "AWAITING_APPROVAL", "REJECTED", "POSTING", "POSTED"
OPENING_BALANCES = "OPENING_BALANCES"
OPEN_PURCHASE_ORDERS, OPEN_SALES_ORDERS = "OPEN_PURCHASE_ORDERS", "OPEN_SALES_ORDERS"
TRANSFERS_IN_TRANSIT = "TRANSFERS_IN_TRANSIT"

# the steps (allowed_actions' names)
VALIDATE = "validate"  # the dry run
POST = "post"  # ask to post (the CUTOVER_BATCH approval posts it)
RECONCILE = "reconcile"  # against the legacy control totals
SIGN_OFF = "sign_off"  # the data owner's step
DECIDE_SIGN_OFF = "decide_sign_off"  # the site lead's step

#: a batch in these states may be (re)validated
VALIDATABLE = frozenset({DRAFT, VALIDATED, INVALID, REJECTED})
#: the kinds a posted batch is reconciled on (the counted ones: stock, open orders, stock in transit), and whose
#: sign-off needs a reconciliation first
RECONCILED_KINDS = frozenset({OPENING_BALANCES, OPEN_PURCHASE_ORDERS, OPEN_SALES_ORDERS, TRANSFERS_IN_TRANSIT})

# why a sign-off cannot be given now (sign_off_blocker's answers)
NOT_POSTED, NOT_RECONCILED, SIGNED_OFF, WAITING_FOR_LEAD = "not_posted", "not_reconciled", "signed_off", "waiting"
APPROVED, PENDING = "APPROVED", "PENDING"  # ApprovalRequest.Status of the sign-offs


def may_validate(status: str) -> bool:
    """The dry run runs on an uploaded batch, again on one validated, invalid or whose post was rejected."""
    return status in VALIDATABLE


def may_request_post(status: str) -> bool:
    """Only a batch whose dry run passed is asked to be posted (a posted one, or one already waiting for its
    approval, is answered as it is by ``request_post``)."""
    return status == VALIDATED


def is_reconciled_kind(kind: str) -> bool:
    return kind in RECONCILED_KINDS


def may_reconcile(kind: str, status: str) -> bool:
    """A posted batch of opening balances, open orders or transfers in transit is reconciled (again and again:
    the last reconciliation counts)."""
    return is_reconciled_kind(kind) and status == POSTED


def sign_off_blocker(*, kind: str, status: str, reconciled: bool, earlier: Iterable[str] = ()) -> str | None:
    """Why the data owner cannot sign a batch off now, or None: a batch not posted, a counted kind not reconciled
    yet, a sign-off already approved, or one waiting for the site lead (``earlier``: the statuses of the batch's
    earlier sign-offs; a rejected one sends it back to the owner)."""
    if status != POSTED:
        return NOT_POSTED
    if is_reconciled_kind(kind) and not reconciled:
        return NOT_RECONCILED
    statuses = set(earlier)
    if APPROVED in statuses:
        return SIGNED_OFF
    if PENDING in statuses:
        return WAITING_FOR_LEAD
    return None


def steps(*, kind: str, status: str) -> frozenset[str]:
    """The steps the batch's state admits for a site admin (before the sign-off's own facts): validate, post,
    reconcile."""
    out = set()
    if may_validate(status):
        out.add(VALIDATE)
    if may_request_post(status):
        out.add(POST)
    if may_reconcile(kind, status):
        out.add(RECONCILE)
    return frozenset(out)
