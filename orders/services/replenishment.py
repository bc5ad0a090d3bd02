"""Replenishment: policies per item and site (and per pick face), planning runs on the replenishment worker,
and the suggestions they make (accept: a purchase or transfer order; dismiss).

The planning itself is set-based and lives in :mod:`orders.services.replenishment_planning`; the numbers are
pure functions in :mod:`orders.policy.replenishment`. Transfer orders are made by the warehouse app, which
registers its creator here (orders never imports warehouse).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from core.db import lock_rows
from core.errors import DomainError, NotFound, StateConflict, ValidationFailed
from core.validation import field_error, full_clean_or_raise
from governance import permissions
from governance.models import Site
from governance.services import get_rule, record_job
from governance.services.history import set_history_user
from governance.services.sites import site_local_date
from inventory.models import Item, Location
from orders.models import (
    PickFacePolicy,
    PurchaseOrder,
    ReplenishmentPolicy,
    ReplenishmentRun,
    ReplenishmentSuggestion,
    Supplier,
    TransferOrder,
)

from .purchasing import create_purchase_order
from .replenishment_planning import DEFAULT_BATCH, plan_site
from .transfers import create_transfer

log = logging.getLogger(__name__)

ACTION = "replenishment.plan"
POLICY_FIELDS = (
    "method",
    "min_quantity",
    "max_quantity",
    "service_level",
    "review_days",
    "lead_time_days",
    "pack_multiple",
    "min_order_quantity",
    "supplier",
    "active",
)
PICK_FACE_FIELDS = ("min_quantity", "max_quantity", "active")
#: lines per purchase or transfer order made by accepting suggestions together
MAX_LINES_PER_ORDER = 200

Sug = ReplenishmentSuggestion

# --- policies ----------------------------------------------------------------------------------------------


def _require_planner(user, site: Site | int, what: str = "site") -> None:
    if user is not None:
        permissions.require(user, ACTION, site, what=what)


def _check_levels(min_quantity, max_quantity, *, strict: bool) -> None:
    for name, value in (("min_quantity", min_quantity), ("max_quantity", max_quantity)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000_000:
            raise field_error(name, "Give a whole number from 0 to 1,000,000,000.", "invalid")
    if max_quantity < min_quantity or (strict and max_quantity == min_quantity):
        raise field_error(
            "max_quantity",
            f"The max ({max_quantity}) must be {'above' if strict else 'at least'} the min ({min_quantity}).",
            "below_min",
        )


def _check_supplier(supplier) -> None:
    if supplier is not None and not supplier.active:
        raise field_error("supplier", f"Supplier {supplier.code} is inactive.", "inactive")


@transaction.atomic
def create_policy(*, user, site: Site, item: Item, **fields) -> ReplenishmentPolicy:
    """A replenishment policy for ``item`` at ``site`` (one per item and site)."""
    _require_planner(user, site)
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "Unknown field.", "unknown")
    policy = ReplenishmentPolicy(site=site, item=item, **fields)
    _check_levels(policy.min_quantity, policy.max_quantity, strict=False)
    _check_supplier(policy.supplier)
    if ReplenishmentPolicy.objects.filter(site=site, item=item).exists():
        raise field_error("item", f"{item.sku} already has a policy at {site.code}; change that one.", "unique")
    full_clean_or_raise(policy, validate_unique=False)
    set_history_user(policy, user)
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise field_error("item", f"{item.sku} already has a policy at {site.code}.", "unique")
    return policy


@transaction.atomic
def update_policy(*, user, policy: ReplenishmentPolicy, **changes) -> ReplenishmentPolicy:
    locked = ReplenishmentPolicy.objects.select_for_update(no_key=True).filter(pk=policy.pk).first()
    if locked is None or (user is not None and not permissions.can_see_site(user, locked.site_id)):
        raise NotFound("No such replenishment policy.")
    _require_planner(user, locked.site_id, "replenishment policy")
    for name, value in changes.items():
        if name not in POLICY_FIELDS:
            raise field_error(name, "This field cannot be changed.", "read_only")
        setattr(locked, name, value)
    _check_levels(locked.min_quantity, locked.max_quantity, strict=False)
    if "supplier" in changes:
        _check_supplier(locked.supplier)
    full_clean_or_raise(locked, validate_unique=False)
    set_history_user(locked, user)
    locked.save()
    return locked


def _check_pick_face(location: Location) -> None:
    if location.kind != Location.Kind.PICK:
        raise field_error("location", f"{location.code} is a {location.kind} location, not a pick face.", "not_pick")
    if not location.active:
        raise field_error("location", f"{location.code} is inactive.", "inactive")


def _check_capacity(location: Location, max_quantity: int) -> None:
    if location.capacity is not None and max_quantity > location.capacity:
        raise field_error("max_quantity", f"{location.code} holds at most {location.capacity} units.", "above_capacity")


@transaction.atomic
def create_pick_face_policy(
    *, user, location: Location, item: Item, min_quantity: int, max_quantity: int, active: bool = True
) -> PickFacePolicy:
    """Min/max of ``item`` at a PICK location: at or below the min, reserve storage refills it to the max."""
    _require_planner(user, location.site_id)
    _check_pick_face(location)
    _check_levels(min_quantity, max_quantity, strict=True)
    _check_capacity(location, max_quantity)
    if PickFacePolicy.objects.filter(location=location, item=item).exists():
        raise field_error("item", f"{item.sku} already has min/max at {location.code}.", "unique")
    policy = PickFacePolicy(
        site_id=location.site_id,
        location=location,
        item=item,
        min_quantity=min_quantity,
        max_quantity=max_quantity,
        active=active,
    )
    full_clean_or_raise(policy, validate_unique=False)
    set_history_user(policy, user)
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise field_error("item", f"{item.sku} already has min/max at {location.code}.", "unique")
    return policy


@transaction.atomic
def update_pick_face_policy(*, user, policy: PickFacePolicy, **changes) -> PickFacePolicy:
    locked = (
        PickFacePolicy.objects.select_for_update(of=("self",), no_key=True)
        .select_related("location")
        .filter(pk=policy.pk)
        .first()
    )
    if locked is None or (user is not None and not permissions.can_see_site(user, locked.site_id)):
        raise NotFound("No such pick face policy.")
    _require_planner(user, locked.site_id, "pick face policy")
    for name, value in changes.items():
        if name not in PICK_FACE_FIELDS:
            raise field_error(name, "This field cannot be changed.", "read_only")
        setattr(locked, name, value)
    _check_levels(locked.min_quantity, locked.max_quantity, strict=True)
    _check_capacity(locked.location, locked.max_quantity)
    full_clean_or_raise(locked, validate_unique=False)
    set_history_user(locked, user)
    locked.save()
    return locked


# --- planning runs -----------------------------------------------------------------------------------------


@transaction.atomic
def request_run(*, user, site: Site, trigger: str = ReplenishmentRun.Trigger.REQUEST) -> ReplenishmentRun:
    """Queue a planning run for ``site`` on the replenishment worker (after commit). A run already queued for
    the site is returned (and sent again) instead of queueing a second one."""
    _require_planner(user, site)
    if not site.active:
        raise StateConflict(f"{site.code} is inactive.")
    run = (
        ReplenishmentRun.objects.select_for_update(no_key=True)
        .filter(site=site, status=ReplenishmentRun.Status.QUEUED)
        .order_by("pk")
        .first()
    )
    if run is None:
        run = ReplenishmentRun.objects.create(
            site=site, trigger=trigger, requested_by=user if getattr(user, "is_authenticated", False) else None
        )
    run_id = run.pk

    from governance.services.outbox import enqueue_task
    from orders.tasks import replenish_site

    enqueue_task(replenish_site, args=[run_id], site=site, dedup_key=f"replenish_run:{run_id}")
    return run


def execute_run(
    *, run_id: int, now: datetime | None = None, batch_size: int = DEFAULT_BATCH
) -> ReplenishmentRun | None:
    """The worker's part: plan the site, then accept what is under the auto-approve value. Idempotent: a run
    that already succeeded is left as it is; a repeated delivery while it runs waits for the site's lock and
    then finds it done."""
    run = ReplenishmentRun.objects.select_related("site", "requested_by").filter(pk=run_id).first()
    if run is None or run.status == ReplenishmentRun.Status.SUCCEEDED:
        return run
    ReplenishmentRun.objects.filter(pk=run.pk).exclude(status=ReplenishmentRun.Status.SUCCEEDED).update(
        status=ReplenishmentRun.Status.RUNNING, started_at=timezone.now(), error=""
    )
    try:
        with record_job("replenishment.plan", site=run.site, requested_by=run.requested_by) as counts:
            counts["run"] = run.pk
            planned = plan_site(run=run, now=now, batch_size=batch_size)
            if planned is None:
                counts["already_planned"] = True
            else:
                counts.update(planned)
                counts.update(auto_accept(run=run))
                ReplenishmentRun.objects.filter(pk=run.pk).update(counts=dict(counts))
    except Exception as exc:
        ReplenishmentRun.objects.filter(pk=run.pk).exclude(status=ReplenishmentRun.Status.SUCCEEDED).update(
            status=ReplenishmentRun.Status.FAILED, error=str(exc)[:4000], finished_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    return run


def schedule_runs() -> dict:
    """Periodic: queue a run for every active site with active policies (a run still queued from before is
    sent again, so a lost message delays planning but never loses it)."""
    site_ids = (
        ReplenishmentPolicy.objects.filter(active=True, site__active=True)
        .values_list("site_id", flat=True)
        .distinct()
        .order_by("site_id")
    )
    queued = 0
    for site in Site.objects.filter(pk__in=list(site_ids)).order_by("pk"):
        request_run(user=None, site=site, trigger=ReplenishmentRun.Trigger.SCHEDULE)
        queued += 1
    return {"sites": queued}


# --- suggestions -------------------------------------------------------------------------------------------


def _lock_suggestions(user, ids: list[int]) -> list[ReplenishmentSuggestion]:
    rows = lock_rows(Sug.objects.filter(pk__in=ids).select_related("site", "item", "supplier", "source_site"))
    visible = [s for s in rows if user is None or permissions.can_see_site(user, s.site_id)]
    if len(visible) != len(set(ids)):
        raise NotFound("No such replenishment suggestion.")
    return rows


@transaction.atomic
def accept_suggestions(
    *,
    user,
    suggestion_ids: list[int],
    auto: bool = False,
    note: str = "",
    run_id: int | None = None,
    below_value: Decimal | None = None,
) -> PurchaseOrder | TransferOrder:
    """Accept open suggestions of one site, kind and supplier (or source site) together: one purchase order to
    the supplier, or one transfer order from the source site. ``user`` None: the planning job (auto-accept)."""
    if not suggestion_ids:
        raise field_error("suggestions", "Name at least one suggestion.", "required")
    rows = _lock_suggestions(user, suggestion_ids)
    first = rows[0]
    _require_planner(user, first.site_id, "replenishment suggestion")
    if len({(s.site_id, s.kind, s.supplier_id, s.source_site_id) for s in rows}) != 1:
        raise ValidationFailed("Suggestions accepted together must share site, kind and supplier or source.")
    for s in rows:
        if s.status != Sug.Status.OPEN:
            raise StateConflict(f"Suggestion {s.pk} is {s.status.lower()}; only an open suggestion is accepted.")
        # auto-accept read the suggestions before locking them: a later run may have re-planned one since
        if run_id is not None and s.run_id != run_id:
            raise StateConflict(f"Suggestion {s.pk} was re-planned by a later run.")
        if below_value is not None and s.value >= below_value:
            raise StateConflict(f"Suggestion {s.pk} is now worth {s.value}, not below {below_value}.")
    lines = [{"item": s.item.sku, "quantity": s.quantity, "unit_cost": s.unit_cost} for s in rows]
    label = ", ".join(f"#{s.pk}" for s in rows[:20]) + (" ..." if len(rows) > 20 else "")
    text = f"Replenishment suggestion {label}" + (" (auto-approved)" if auto else "") + (f": {note}" if note else "")
    changes = {
        "status": Sug.Status.ACCEPTED,
        "decided_by": user if getattr(user, "is_authenticated", False) else None,
        "decided_at": timezone.now(),
        "decision_note": (note or ("auto-approved under the site's value" if auto else ""))[:300],
        "auto_accepted": auto,
        "updated_at": timezone.now(),
    }
    if first.kind == Sug.Kind.PURCHASE:
        supplier: Supplier = first.supplier
        lead = max(int(s.reason.get("lead_time_days") or supplier.lead_time_days) for s in rows)
        document = create_purchase_order(
            user=user,
            supplier=supplier,
            site=first.site,
            expected_date=site_local_date(first.site) + timedelta(days=lead),
            lines=lines,
            note=text,
        )
        changes["purchase_order"] = document
    else:
        # the planner's permission was checked at the destination (the site that needs the stock); the source
        # site's approval rule for transfers applies as for any transfer
        document = create_transfer(
            user=user,
            from_site=first.source_site,
            to_site=first.site,
            lines=[{"item": line["item"], "quantity": line["quantity"]} for line in lines],
            reason=text[:300],
            check_permission=False,
        )
        changes["transfer_order"] = document
    for s in rows:
        for name, value in changes.items():
            setattr(s, name, value)
    # one UPDATE and one history INSERT for the whole group (auto-accept may take thousands at once)
    bulk_update_with_history(
        rows, Sug, list(changes), batch_size=1000, default_user=changes["decided_by"], default_change_reason=text[:100]
    )
    return document


def accept_suggestion(*, user, suggestion: ReplenishmentSuggestion, note: str = "") -> ReplenishmentSuggestion:
    accept_suggestions(user=user, suggestion_ids=[suggestion.pk], note=note)
    return Sug.objects.get(pk=suggestion.pk)


@transaction.atomic
def dismiss_suggestion(*, user, suggestion: ReplenishmentSuggestion, note: str = "") -> ReplenishmentSuggestion:
    (locked,) = _lock_suggestions(user, [suggestion.pk])
    _require_planner(user, locked.site_id, "replenishment suggestion")
    if locked.status != Sug.Status.OPEN:
        raise StateConflict(f"Suggestion {locked.pk} is {locked.status.lower()}; only an open one is dismissed.")
    locked.status = Sug.Status.DISMISSED
    locked.decided_by = user if getattr(user, "is_authenticated", False) else None
    locked.decided_at = timezone.now()
    locked.decision_note = (note or "")[:300]
    locked.updated_at = timezone.now()
    set_history_user(locked, user)
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    return locked


def auto_accept(*, run: ReplenishmentRun) -> dict:
    """Accept the run's open suggestions worth less than the site's ``replenishment.auto_approve_value``, one
    order per supplier (or source site) and up to MAX_LINES_PER_ORDER lines. A transfer that would need
    approval at its source is left for a planner; a refused group stays open and is counted."""
    counts = {"auto_accepted": 0, "auto_accept_left_for_approval": 0, "auto_accept_refused": 0, "auto_orders": 0}
    limit = Decimal(get_rule("replenishment.auto_approve_value", run.site_id))
    if limit <= 0:
        return counts
    rows = (
        Sug.objects.filter(run=run, status=Sug.Status.OPEN, value__lt=limit)
        .order_by("kind", "supplier_id", "source_site_id", "item_id")
        .values_list("pk", "kind", "supplier_id", "source_site_id", "value")
    )
    group: list[int] = []
    group_value = Decimal(0)
    key = None

    def flush():
        if not group:
            return
        kind, _, source_id = key
        if kind == Sug.Kind.TRANSFER and group_value > get_rule("transfers.approval_value", source_id):
            counts["auto_accept_left_for_approval"] += len(group)
            return
        try:
            accept_suggestions(user=None, suggestion_ids=list(group), auto=True, run_id=run.pk, below_value=limit)
        except DomainError as exc:
            log.warning("auto-accept of suggestions %s refused: %s", group, exc)
            counts["auto_accept_refused"] += len(group)
            return
        counts["auto_accepted"] += len(group)
        counts["auto_orders"] += 1

    for pk, kind, supplier_id, source_id, value in rows.iterator(chunk_size=2000):
        if (kind, supplier_id, source_id) != key or len(group) >= MAX_LINES_PER_ORDER:
            flush()
            group, group_value, key = [], Decimal(0), (kind, supplier_id, source_id)
        group.append(pk)
        group_value += value
    flush()
    return counts


__all__ = [
    "accept_suggestion",
    "accept_suggestions",
    "auto_accept",
    "create_pick_face_policy",
    "create_policy",
    "dismiss_suggestion",
    "execute_run",
    "request_run",
    "schedule_runs",
    "update_pick_face_policy",
    "update_policy",
]
