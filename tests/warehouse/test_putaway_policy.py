"""Fast tests of the pure putaway policy (no database)."""

from warehouse.policy.putaway import ItemInfo, LocationInfo, RuleInfo, choose_location

ITEM = ItemInfo(1, category="TOOLS", storage_type="AMBIENT", abc_class="A")
PICK_A = LocationInfo(10, "P-01", "PICK", zone_id=1, capacity=50)
PICK_B = LocationInfo(11, "P-02", "PICK", zone_id=1, capacity=50, used=40)
BULK = LocationInfo(20, "B-01", "STORAGE", zone_id=2, capacity=None)
BULK_SMALL = LocationInfo(21, "B-02", "STORAGE", zone_id=2, capacity=5)


def test_fast_movers_go_to_the_pick_zone_of_their_rule():
    rules = [RuleInfo(1, 10, ("PICK", "STORAGE"), zone_id=1, abc_class="A")]
    suggestion = choose_location(ITEM, 20, None, rules, [BULK, PICK_A, PICK_B])
    assert suggestion.location_id == PICK_A.id and suggestion.rule_id == 1


def test_respects_location_capacity():
    rules = [RuleInfo(1, 10, ("PICK",), zone_id=1)]
    assert choose_location(ITEM, 45, None, rules, [PICK_B, PICK_A]).location_id == PICK_A.id
    assert choose_location(ITEM, 60, None, rules, [PICK_B, PICK_A]).location_id is None


def test_falls_back_to_reserve_storage_when_the_rule_has_no_room():
    rules = [RuleInfo(1, 10, ("PICK",), zone_id=1)]
    suggestion = choose_location(ITEM, 60, None, rules, [PICK_A, PICK_B, BULK])
    assert suggestion.location_id == BULK.id and "had room" in suggestion.reason


def test_prefers_a_location_already_holding_the_item():
    rules = [RuleInfo(1, 10, ("STORAGE",))]
    holding = LocationInfo(22, "B-09", "STORAGE", capacity=100, used=90, items=frozenset({ITEM.id}))
    assert choose_location(ITEM, 5, None, rules, [BULK, holding]).location_id == holding.id


def test_does_not_mix_lots_unless_the_rule_allows_it():
    other_lot = LocationInfo(23, "B-03", "STORAGE", capacity=100, items=frozenset({ITEM.id}), lots=frozenset({7}))
    strict = [RuleInfo(1, 10, ("STORAGE",))]
    assert choose_location(ITEM, 5, 8, strict, [other_lot]).location_id is None
    mixed = [RuleInfo(1, 10, ("STORAGE",), allow_mixed_lots=True)]
    assert choose_location(ITEM, 5, 8, mixed, [other_lot]).location_id == other_lot.id
    assert choose_location(ITEM, 5, 7, strict, [other_lot]).location_id == other_lot.id


def test_more_specific_rule_wins_at_equal_priority():
    rules = [RuleInfo(1, 10, ("STORAGE",), zone_id=2), RuleInfo(2, 10, ("PICK",), zone_id=1, item_id=ITEM.id)]
    assert choose_location(ITEM, 5, None, rules, [BULK, PICK_A]).rule_id == 2


def test_rule_for_another_category_does_not_match():
    rules = [RuleInfo(1, 10, ("PICK",), category="FOOD")]
    suggestion = choose_location(ITEM, 5, None, rules, [PICK_A, BULK_SMALL])
    assert suggestion.location_id == BULK_SMALL.id and "matches" in suggestion.reason


def test_says_so_when_nothing_has_room():
    suggestion = choose_location(ITEM, 500, None, [], [BULK_SMALL])
    assert suggestion.location_id is None and "choose one" in suggestion.reason
