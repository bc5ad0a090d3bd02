"""Directed putaway: suggest a location (pure policy), confirm (moves stock and makes it AVAILABLE)."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import atomic_with_retry
from core.errors import NotFound, StateConflict, ValidationFailed
from core.validation import field_error, full_clean_or_raise, positive_quantity
from governance import permissions
from governance.services.history import set_history_user
from inventory.models import InventoryStatus, Item, Location, Lot, StockMove, StockQuant
from inventory.services import move_stock
from warehouse.models import PutawayRule, PutawayTask, ReceiptLine
from warehouse.policy import putaway as policy

from . import floor

OVERRIDE_REASONS = ("LOCATION_FULL", "LOCATION_BLOCKED", "CONSOLIDATE", "DAMAGED_LOCATION", "SUPERVISOR", "OTHER")
#: what each override reason reads as on the scan screen and the lists (the codes stay in the API)
OVERRIDE_REASON_LABELS = {
    "LOCATION_FULL": _("Suggested location full"),
    "LOCATION_BLOCKED": _("Suggested location blocked"),
    "CONSOLIDATE": _("Consolidating with the same item"),
    "DAMAGED_LOCATION": _("Suggested location damaged"),
    "SUPERVISOR": _("Supervisor's instruction"),
    "OTHER": _("Other reason"),
}


#: the location kinds a putaway rule may name (stock locations; never a virtual one)
RULE_LOCATION_KINDS = (
    Location.Kind.RECEIVING,
    Location.Kind.STORAGE,
    Location.Kind.PICK,
    Location.Kind.STAGING,
    Location.Kind.QUALITY,
    Location.Kind.DAMAGED,
)


@transaction.atomic
def create_putaway_rule(
    *,
    user,
    site,
    priority: int = 100,
    item: Item | None = None,
    category: str = "",
    storage_type: str = "",
    abc_class: str = "",
    zone=None,
    location_kinds: str | list[str] = "PICK,STORAGE",
    allow_mixed_lots: bool = False,
    active: bool = True,
) -> PutawayRule:
    """A putaway rule of ``site`` (the site's supervisors and admins, ``warehouse.plan``): received stock of the
    items it matches (an item, or a category, storage type or ABC class; none: any item) goes to ``zone``'s
    locations of ``location_kinds``, in that order. Every problem is reported at once (ValidationFailed)."""
    if user is not None:
        permissions.require(user, "warehouse.plan", site, what="site")
    errors: list[dict] = []
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 32767:
        errors.append({"field": "priority", "code": "invalid", "message": "Priority is a whole number, 0 to 32767."})
    kinds = location_kinds.split(",") if isinstance(location_kinds, str) else list(location_kinds)
    kinds = [str(k).strip().upper() for k in kinds if str(k).strip()]
    if not kinds:
        errors.append({"field": "location_kinds", "code": "required", "message": "Name at least one location kind."})
    for kind in kinds:
        if kind not in RULE_LOCATION_KINDS:
            errors.append(
                {
                    "field": "location_kinds",
                    "code": "invalid_choice",
                    "message": f"{kind!r} is not a stock location kind: {', '.join(RULE_LOCATION_KINDS)}.",
                }
            )
    if len(set(kinds)) != len(kinds):
        errors.append({"field": "location_kinds", "code": "duplicate", "message": "A location kind is named twice."})
    if item is not None and not item.active:
        errors.append({"field": "item", "code": "inactive", "message": f"{item.sku} is inactive."})
    abc = (abc_class or "").upper()
    if abc and abc not in Item.AbcClass.values:
        errors.append(
            {
                "field": "abc_class",
                "code": "invalid_choice",
                "message": f"ABC class is one of {', '.join(Item.AbcClass.values)}.",
            }
        )
    if zone is not None and zone.site_id != site.pk:
        errors.append(
            {"field": "zone", "code": "other_site", "message": f"Zone {zone.code} is not a zone of {site.code}."}
        )
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    rule = PutawayRule(
        site=site,
        priority=priority,
        item=item,
        category=category or "",
        storage_type=storage_type or "",
        abc_class=abc,
        zone=zone,
        location_kinds=",".join(kinds),
        allow_mixed_lots=bool(allow_mixed_lots),
        active=bool(active),
    )
    full_clean_or_raise(rule)
    set_history_user(rule, user)
    rule.save()
    return rule


def suggest_location(*, site_id: int, item: Item, quantity: int, lot: Lot | None) -> policy.Suggestion:
    """Turn the site's rules and locations into plain values (a few set-based queries) and ask the policy."""
    rules = [
        policy.RuleInfo(
            r.pk,
            r.priority,
            tuple(k.strip() for k in r.location_kinds.split(",") if k.strip()),
            r.zone_id,
            r.item_id,
            r.category,
            r.storage_type,
            r.abc_class,
            r.allow_mixed_lots,
        )
        for r in PutawayRule.objects.filter(site_id=site_id, active=True)
    ]
    kinds = {k for r in rules for k in r.kinds} | {Location.Kind.STORAGE}
    locations = list(
        Location.objects.filter(site_id=site_id, active=True, kind__in=kinds).values(
            "id", "code", "kind", "zone_id", "capacity"
        )
    )
    used: dict[int, int] = defaultdict(int)
    items: dict[int, set[int]] = defaultdict(set)
    lots: dict[int, set[int]] = defaultdict(set)
    for q in StockQuant.objects.filter(location_id__in=[loc["id"] for loc in locations], quantity__gt=0).values(
        "location_id", "item_id", "lot_id", "quantity"
    ):
        used[q["location_id"]] += q["quantity"]
        items[q["location_id"]].add(q["item_id"])
        if q["lot_id"]:
            lots[q["location_id"]].add(q["lot_id"])
    infos = [
        policy.LocationInfo(
            loc["id"],
            loc["code"],
            loc["kind"],
            loc["zone_id"],
            loc["capacity"],
            used[loc["id"]],
            frozenset(items[loc["id"]]),
            frozenset(lots[loc["id"]]),
        )
        for loc in locations
    ]
    item_info = policy.ItemInfo(item.pk, item.category, item.storage_type, item.abc_class)
    return policy.choose_location(item_info, quantity, lot.pk if lot else None, rules, infos)


def create_putaway_task(*, line: ReceiptLine, quantity: int, from_location: Location, received_at) -> PutawayTask:
    suggestion = suggest_location(site_id=from_location.site_id, item=line.item, quantity=quantity, lot=line.lot)
    return PutawayTask.objects.create(
        site_id=from_location.site_id,
        receipt_line=line,
        item=line.item,
        lot=line.lot,
        quantity=quantity,
        from_location=from_location,
        suggested_location_id=suggestion.location_id,
        suggestion_reason=suggestion.reason[:300],
        received_at=received_at,
    )


def _refused_location(locked: PutawayTask, user, location: Location, message: str, code: str):
    floor.record_refused_scan(
        site_id=locked.site_id,
        user=user,
        process=floor.P.PUTAWAY,
        field="location",
        code=code,
        expected=locked.suggested_location.code if locked.suggested_location_id else "",
        scanned=location.code,
        detail=message,
        task_id=locked.pk,
        task_ref=f"PUT-{locked.pk}",
    )
    raise field_error("location", message, code)


@atomic_with_retry
def confirm_putaway(
    *, user, task: PutawayTask, location: Location, quantity: int, reason_code: str = ""
) -> PutawayTask:
    """Put the stock away: RECEIVED at the dock -> AVAILABLE at ``location``. Another location than the
    suggested one needs a reason code. Confirming again with the same data is harmless; with different data
    it is a 409. Less than the task's quantity leaves the rest in a new open task."""
    locked = PutawayTask.objects.select_for_update(no_key=True).filter(pk=task.pk).first()
    if locked is None or not permissions.can_see_site(user, locked.site_id):
        raise NotFound("No such putaway task.")
    permissions.require(user, "warehouse.execute", locked.site_id, what="putaway task")
    positive_quantity(quantity)
    if locked.status == PutawayTask.Status.CONFIRMED:
        if (locked.confirmed_location_id, locked.confirmed_quantity) == (location.pk, quantity):
            return locked
        raise StateConflict("This putaway was already confirmed with a different location or quantity.")
    if locked.status != PutawayTask.Status.OPEN:
        raise StateConflict(f"This putaway task is {locked.status.lower()}.")
    if location.site_id != locked.site_id:
        _refused_location(locked, user, location, f"{location.code} is not at this site.", "other_site")
    if location.kind not in (Location.Kind.STORAGE, Location.Kind.PICK):
        _refused_location(
            locked,
            user,
            location,
            f"{location.code} is a {location.get_kind_display().lower()} location; put away to storage or a pick face.",
            "wrong_kind",
        )
    if quantity > locked.quantity:
        raise field_error("quantity", f"The task is for {locked.quantity}; cannot put away {quantity}.", "too_many")
    if location.pk != locked.suggested_location_id:
        if reason_code not in OVERRIDE_REASONS:
            raise field_error(
                "reason_code",
                f"Putting away elsewhere than suggested needs a reason: {', '.join(OVERRIDE_REASONS)}.",
                "required",
            )
    if location.capacity is not None:
        held = sum(StockQuant.objects.filter(location=location).values_list("quantity", flat=True))
        if held + quantity > location.capacity:
            raise field_error(
                "location",
                f"{location.code} holds {held} of {location.capacity}; no room for {quantity}.",
                "over_capacity",
            )
    if location.pk != locked.suggested_location_id and locked.suggested_location_id:
        floor.record_floor_event(
            site_id=locked.site_id,
            user=user,
            process=floor.P.PUTAWAY,
            kind=floor.K.OVERRIDE,
            field="location",
            code=reason_code or "not_suggested",
            expected=locked.suggested_location.code,
            scanned=location.code,
            detail=f"Put away to {location.code} instead of {locked.suggested_location.code} ({reason_code}).",
            task_id=locked.pk,
            task_ref=f"PUT-{locked.pk}",
        )
    now = timezone.now()
    move_stock(
        user=user,
        item=locked.item,
        from_location=locked.from_location,
        to_location=location,
        quantity=quantity,
        lot=locked.lot,
        status=InventoryStatus.RECEIVED,
        to_status=InventoryStatus.AVAILABLE,
        kind=StockMove.Kind.PUTAWAY,
        reference=f"PUT-{locked.pk}",
        document=locked,
        reason_code=reason_code if location.pk != locked.suggested_location_id else "",
    )
    if quantity < locked.quantity:
        PutawayTask.objects.create(
            site_id=locked.site_id,
            receipt_line=locked.receipt_line,
            item=locked.item,
            lot=locked.lot,
            quantity=locked.quantity - quantity,
            from_location=locked.from_location,
            suggested_location=locked.suggested_location,
            suggestion_reason=locked.suggestion_reason,
            received_at=locked.received_at,
        )
        locked.quantity = quantity
    locked.status = PutawayTask.Status.CONFIRMED
    locked.confirmed_location = location
    locked.confirmed_quantity = quantity
    locked.reason_code = reason_code if location.pk != locked.suggested_location_id else ""
    locked.confirmed_by = user
    locked.confirmed_at = now
    locked.dock_to_stock_seconds = max(int((now - locked.received_at).total_seconds()), 0)
    set_history_user(locked, user)
    locked.save()
    return locked


__all__ = ["OVERRIDE_REASONS", "confirm_putaway", "create_putaway_task", "suggest_location", "transaction"]
