"""Directed putaway: the choice of location, as a pure function over plain values.

Rules are tried by priority (then the more specific first); a rule matches an item when every criterion it
sets (item, category, storage type, ABC class) equals the item's. For the first matching rule that has room,
locations of its zone and kinds (in the rule's order of kinds) are candidates when they have capacity for the
quantity and would not mix lots (unless the rule allows it). Among candidates: a location already holding the
item first (consolidate), then the one with the most free room, then by code. With no matching rule, any
reserve STORAGE location with room is used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemInfo:
    id: int
    category: str = ""
    storage_type: str = ""
    abc_class: str = ""


@dataclass(frozen=True)
class RuleInfo:
    id: int
    priority: int
    kinds: tuple[str, ...]
    zone_id: int | None = None
    item_id: int | None = None
    category: str = ""
    storage_type: str = ""
    abc_class: str = ""
    allow_mixed_lots: bool = False

    def matches(self, item: ItemInfo) -> bool:
        return (
            (self.item_id is None or self.item_id == item.id)
            and (not self.category or self.category == item.category)
            and (not self.storage_type or self.storage_type == item.storage_type)
            and (not self.abc_class or self.abc_class == item.abc_class)
        )

    @property
    def specificity(self) -> int:
        return sum(bool(x) for x in (self.item_id, self.category, self.storage_type, self.abc_class))


@dataclass(frozen=True)
class LocationInfo:
    id: int
    code: str
    kind: str
    zone_id: int | None = None
    capacity: int | None = None  # None: no limit
    used: int = 0
    items: frozenset[int] = frozenset()
    lots: frozenset[int] = frozenset()  # lots present in the location (any item)

    def room(self) -> float:
        return float("inf") if self.capacity is None else self.capacity - self.used


@dataclass(frozen=True)
class Suggestion:
    location_id: int | None
    rule_id: int | None
    reason: str


def _fits(loc: LocationInfo, quantity: int, lot_id: int | None, allow_mixed: bool) -> bool:
    if loc.room() < quantity:
        return False
    if not allow_mixed and loc.lots and (lot_id is None or loc.lots != {lot_id}):
        return False
    if not allow_mixed and lot_id is not None and loc.items and loc.lots != {lot_id}:
        return False
    return True


def _best(candidates: list[LocationInfo], item_id: int) -> LocationInfo:
    return sorted(candidates, key=lambda loc: (item_id not in loc.items, -loc.room(), loc.code))[0]


def choose_location(
    item: ItemInfo, quantity: int, lot_id: int | None, rules: list[RuleInfo], locations: list[LocationInfo]
) -> Suggestion:
    matching = sorted((r for r in rules if r.matches(item)), key=lambda r: (r.priority, -r.specificity, r.id))
    for rule in matching:
        for kind in rule.kinds:
            candidates = [
                loc
                for loc in locations
                if loc.kind == kind
                and (rule.zone_id is None or loc.zone_id == rule.zone_id)
                and _fits(loc, quantity, lot_id, rule.allow_mixed_lots)
            ]
            if candidates:
                loc = _best(candidates, item.id)
                why = "already holds the item" if item.id in loc.items else "has the most free room"
                return Suggestion(loc.id, rule.id, f"Rule #{rule.priority} ({kind}): {loc.code} {why}.")
    fallback = [loc for loc in locations if loc.kind == "STORAGE" and _fits(loc, quantity, lot_id, False)]
    if fallback:
        loc = _best(fallback, item.id)
        reason = "No putaway rule had room" if matching else "No putaway rule matches the item"
        return Suggestion(loc.id, None, f"{reason}; {loc.code} is reserve storage with room.")
    return Suggestion(None, None, "No location has room for this quantity without mixing lots; choose one.")
