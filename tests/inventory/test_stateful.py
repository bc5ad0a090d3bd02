"""Random sequences of receive, move, status change, adjust (applied, pending, approved, rejected), reserve and
unreserve over a small world, checked after every step against the invariants of ARCHITECTURE.md and against a
shadow model of the expected balances kept by the state machine.

Database isolation: the test runs under pytest-django's ``db`` fixture (one transaction rolled back at the end).
The world (sites, locations, items, lots, users) is built once in it. Each Hypothesis example then runs inside a
savepoint opened in the machine's ``__init__`` and rolled back in ``teardown()``, which Hypothesis calls after every
example whether it passed or not, so every example starts from the same clean state (Hypothesis requires examples
to be independent; the per-test transaction alone would carry state from one example to the next).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.errors import InsufficientStock, ValidationFailed
from inventory.models import LEVEL_FIELD, Adjustment, Location, StockLevel, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import (
    adjust_stock,
    change_status,
    decide_adjustment,
    move_stock,
    receive_stock,
    reserve_stock,
    unreserve_stock,
)
from tests.factories import ItemFactory, LocationFactory, LotFactory, SiteFactory, set_rule_now

from .helpers import inventory_state

pytestmark = pytest.mark.django_db

STATUSES = ["RECEIVED", "AVAILABLE", "HOLD", "DAMAGED"]
#: True most of the time. Hypothesis favours the first ("simplest") choice of sampled_from, so the usual path
#: comes first and the unusual one (which mostly ends in a refusal) last.
RARELY_NOT = st.sampled_from([True, True, True, True, False])
RARELY = st.sampled_from([False, False, False, False, False, True])
OUTCOMES: Counter[str] = Counter()  # "rule: outcome" -> how often, to check that every path was exercised
QuantKey = tuple[int, int, int | None, str]  # item, location, lot, status


@dataclass
class World:
    sites: list
    locations: list  # physical locations of both sites
    items: list  # the last one is lot tracked
    lots: dict[int, list]  # item pk -> its lots
    threshold: dict[int, Decimal]  # site pk -> adjustment approval value
    requester: object
    approver: object


@pytest.fixture
def world(make_user, admin_user) -> World:
    north = SiteFactory(code="NORTH", region="EAST")
    south = SiteFactory(code="SOUTH", region="WEST")
    locations = [
        LocationFactory(site=north, code="N-1"),
        LocationFactory(site=north, code="N-2", kind=Location.Kind.PICK),
        LocationFactory(site=north, code="N-3", kind=Location.Kind.QUALITY),
        LocationFactory(site=south, code="S-1"),
        LocationFactory(site=south, code="S-2"),
    ]
    bolts = ItemFactory(sku="BOLT", standard_cost="10.00")
    nuts = ItemFactory(sku="NUT", standard_cost="9.00")
    milk = ItemFactory(sku="MILK", standard_cost="8.00", lot_tracked=True, shelf_life_days=20)
    expiry = timezone.localdate() + timedelta(days=10)
    lots = {milk.pk: [LotFactory(item=milk, number="M-1", expiry_date=expiry), LotFactory(item=milk, number="M-2")]}
    # the south site asks for approval from 200.00 on; the north site keeps the enterprise value
    set_rule_now(user=admin_user, key="inventory.adjustment_approval_value", value="200", reason="test", site=south)
    requester = make_user("supervisor", north, south)
    approver = make_user("supervisor", north, south)
    return World(
        sites=[north, south],
        locations=locations,
        items=[bolts, nuts, milk],
        lots=lots,
        threshold={north.pk: Decimal("500.00"), south.pk: Decimal("200.00")},
        requester=requester,
        approver=approver,
    )


@dataclass
class Pending:
    adjustment: Adjustment
    key: QuantKey
    delta: int


@dataclass
class Model:
    """What the balances must be: quantity and reserved per quant key, and the ledger's length."""

    quants: dict[QuantKey, list[int]] = field(default_factory=dict)  # key -> [quantity, reserved]
    moves: int = 0
    pending: list[Pending] = field(default_factory=list)
    #: values of the adjustments applied without approval (all within the rule's window in one example): by the
    #: one requester, and per location; they count with the next adjustment against the approval value
    unapproved: Decimal = Decimal("0")
    unapproved_at: dict[int, Decimal] = field(default_factory=dict)

    def free(self, key: QuantKey) -> int:
        quantity, reserved = self.quants.get(key, [0, 0])
        return quantity - reserved

    def add(self, key: QuantKey, delta: int, reserved_delta: int = 0) -> None:
        row = self.quants.setdefault(key, [0, 0])
        row[0] += delta
        row[1] += reserved_delta
        assert row[0] >= 0 and 0 <= row[1] <= row[0], (key, row)


def make_machine(world: World):
    site_of = {loc.pk: loc.site_id for loc in world.locations}
    location_by_pk = {loc.pk: loc for loc in world.locations}
    item_by_pk = {item.pk: item for item in world.items}
    lot_by_pk = {lot.pk: lot for lots in world.lots.values() for lot in lots}
    cost = {item.pk: Decimal(str(item.standard_cost)) for item in world.items}

    class InventoryMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self._savepoint = transaction.atomic()
            self._savepoint.__enter__()
            self.model = Model()

        def teardown(self):
            transaction.set_rollback(True)  # this example's writes go; the world built before it stays
            self._savepoint.__exit__(None, None, None)

        # --- drawing what to act on ---------------------------------------------------------------------------

        def _any_item_and_lot(self, data, wrong_lot: bool = False):
            item = data.draw(st.sampled_from(world.items), label="item")
            lots = world.lots.get(item.pk)
            if wrong_lot:  # the lot rule broken on purpose: no lot for a lot-tracked item, a lot for another
                if lots:
                    return item, None
                return item, data.draw(st.sampled_from(next(iter(world.lots.values()))), label="foreign lot")
            return item, (data.draw(st.sampled_from(lots), label="lot") if lots else None)

        def _source(self, data, *, need_free: bool = True, statuses=STATUSES):
            """(item, lot, location, status) to take stock from: mostly where the model says there is some, at
            times anywhere at all (so that refusals happen too)."""
            keys = sorted(
                (
                    k
                    for k, (qty, res) in self.model.quants.items()
                    if k[3] in statuses and (qty - res if need_free else qty) > 0
                ),
                key=str,
            )
            if keys and data.draw(RARELY_NOT, label="pick a stocked quant"):
                item, location, lot, status = data.draw(st.sampled_from(keys), label="stocked quant")
                return item_by_pk[item], lot_by_pk.get(lot), location_by_pk[location], status
            item, lot = self._any_item_and_lot(data)
            location = data.draw(st.sampled_from(world.locations), label="location")
            return item, lot, location, data.draw(st.sampled_from(list(statuses)), label="status")

        def _quantity(self, data, available: int) -> int:
            """Mostly at most ``available`` (the operation should go through), sometimes a little more."""
            if available > 0 and data.draw(RARELY_NOT, label="within stock"):
                return data.draw(st.integers(1, available), label="quantity")
            return available + data.draw(st.integers(1, 15), label="too much")

        def _refused(self, rule_name: str, error, call) -> None:
            """``call`` must raise ``error`` and leave everything exactly as it was."""
            OUTCOMES[f"{rule_name}: {error.__name__}"] += 1
            before = inventory_state()
            with pytest.raises(error):
                call()
            assert inventory_state() == before

        @staticmethod
        def _key(item, location, lot, status) -> QuantKey:
            return (item.pk, location.pk, lot.pk if lot else None, status)

        # --- rules --------------------------------------------------------------------------------------------

        @initialize(quantities=st.lists(st.integers(1, 150), min_size=8, max_size=8))
        def opening_balances(self, quantities):
            """Some stock to work with from the first step: every item (lot) at a few places of both sites."""
            places = [
                (world.locations[0], "AVAILABLE"),
                (world.locations[1], "RECEIVED"),
                (world.locations[3], "AVAILABLE"),
            ]
            stocked = [(item, lot) for item in world.items for lot in (world.lots.get(item.pk) or [None])]
            for index, ((item, lot), (location, status)) in enumerate(
                (pair, place) for pair in stocked for place in places
            ):
                quantity = quantities[index % len(quantities)]
                receive_stock(
                    user=None,
                    item=item,
                    lot=lot,
                    location=location,
                    quantity=quantity,
                    status=status,
                    check_permission=False,
                )
                self.model.add(self._key(item, location, lot, status), quantity)
                self.model.moves += 1

        @rule(
            data=st.data(),
            status=st.sampled_from(["AVAILABLE", "RECEIVED", "HOLD", "DAMAGED"]),
            quantity=st.integers(1, 120),
            wrong_lot=RARELY,
        )
        def receive(self, data, status, quantity, wrong_lot):
            item, lot = self._any_item_and_lot(data, wrong_lot)
            location = data.draw(st.sampled_from(world.locations), label="location")

            def call():
                return receive_stock(
                    user=world.requester, item=item, location=location, quantity=quantity, status=status, lot=lot
                )

            if wrong_lot:
                self._refused("receive", ValidationFailed, call)
                return
            call()
            OUTCOMES["receive: ok"] += 1
            self.model.add(self._key(item, location, lot, status), quantity)
            self.model.moves += 1

        @rule(data=st.data())
        def move(self, data):
            item, lot, source, status = self._source(data)
            same_site = [loc for loc in world.locations if site_of[loc.pk] == site_of[source.pk]]
            anywhere = data.draw(RARELY, label="any site")
            target = data.draw(st.sampled_from(world.locations if anywhere else same_site), label="to")
            to_status = data.draw(st.sampled_from([status, status, "AVAILABLE", *STATUSES]), label="to_status")
            src, dst = self._key(item, source, lot, status), self._key(item, target, lot, to_status)
            have, reserved = self.model.quants.get(src, [0, 0])
            if reserved and data.draw(st.sampled_from([False, True]), label="a task moves its reserved units"):
                quantity = data.draw(st.integers(1, have), label="quantity")
                consume = data.draw(st.integers(1, min(quantity, reserved + 2)), label="consume_reserved")
            else:
                quantity, consume = self._quantity(data, have - reserved), 0

            def call():
                return move_stock(
                    user=world.requester,
                    item=item,
                    lot=lot,
                    from_location=source,
                    to_location=target,
                    quantity=quantity,
                    status=status,
                    to_status=to_status,
                    consume_reserved=consume,
                )

            if site_of[source.pk] != site_of[target.pk] or src == dst:
                self._refused("move", ValidationFailed, call)
            elif consume > reserved or have - quantity < reserved - consume:
                self._refused("move", InsufficientStock, call)
            else:
                call()
                OUTCOMES["move: ok, consuming reserved" if consume else "move: ok"] += 1
                self.model.add(src, -quantity, -consume)
                self.model.add(dst, quantity)
                self.model.moves += 1

        @rule(data=st.data())
        def change_status(self, data):
            item, lot, location, from_status = self._source(data)
            others = [status for status in ["HOLD", "AVAILABLE", "DAMAGED", "RECEIVED"] if status != from_status]
            same = data.draw(RARELY, label="same status")
            to_status = from_status if same else data.draw(st.sampled_from(others), label="to_status")
            quantity = self._quantity(data, self.model.free(self._key(item, location, lot, from_status)))

            def call():
                return change_status(
                    user=world.requester,
                    item=item,
                    lot=lot,
                    location=location,
                    quantity=quantity,
                    from_status=from_status,
                    to_status=to_status,
                )

            src, dst = self._key(item, location, lot, from_status), self._key(item, location, lot, to_status)
            if from_status == to_status:
                self._refused("change_status", ValidationFailed, call)
            elif self.model.free(src) < quantity:
                self._refused("change_status", InsufficientStock, call)
            else:
                call()
                OUTCOMES["change_status: ok"] += 1
                self.model.add(src, -quantity)
                self.model.add(dst, quantity)
                self.model.moves += 1

        @rule(data=st.data(), found=st.sampled_from([False, True]))
        def adjust(self, data, found):
            statuses = ["AVAILABLE", "HOLD", "DAMAGED", "RECEIVED"]
            if found:
                item, lot = self._any_item_and_lot(data)
                location = data.draw(st.sampled_from(world.locations), label="location")
                status = data.draw(st.sampled_from(statuses), label="status")
                delta = data.draw(st.integers(1, 90), label="delta")
            else:
                item, lot, location, status = self._source(data, statuses=statuses)
                free = self.model.free(self._key(item, location, lot, status))
                delta = -(self._quantity(data, free) if free < 25 else data.draw(st.integers(1, free), label="lost"))
            key = self._key(item, location, lot, status)

            def call():
                return adjust_stock(
                    user=world.requester,
                    location=location,
                    item=item,
                    lot=lot,
                    quantity_delta=delta,
                    stock_status=status,
                    reason_code="FOUND" if delta > 0 else "LOST",
                    note="stateful",
                )

            if delta < 0 and self.model.free(key) < -delta:
                self._refused("adjust", InsufficientStock, call)
                return
            before = inventory_state()
            adjustment = call()
            value = (abs(delta) * cost[item.pk]).quantize(Decimal("0.01"))
            threshold = world.threshold[site_of[location.pk]]
            at_location = self.model.unapproved_at.get(location.pk, Decimal("0"))
            if max(value + self.model.unapproved, value + at_location) > threshold:  # issue 12: no splitting
                assert adjustment.status == Adjustment.Status.PENDING_APPROVAL
                after = inventory_state()
                assert (after["moves"], after["quants"], after["levels"]) == (
                    before["moves"],
                    before["quants"],
                    before["levels"],
                )
                OUTCOMES["adjust: pending"] += 1
                self.model.pending.append(Pending(adjustment, key, delta))
            else:
                assert adjustment.status == Adjustment.Status.APPLIED
                OUTCOMES["adjust: applied"] += 1
                self.model.unapproved += value
                self.model.unapproved_at[location.pk] = at_location + value
                self.model.add(key, delta)
                self.model.moves += 1

        @precondition(lambda self: self.model.pending)
        @rule(data=st.data(), approve=st.sampled_from([True, False]))
        def decide(self, data, approve):
            pending = data.draw(st.sampled_from(self.model.pending), label="pending adjustment")

            def call():
                return decide_adjustment(user=world.approver, adjustment=pending.adjustment, approve=approve)

            if approve and pending.delta < 0 and self.model.free(pending.key) < -pending.delta:
                self._refused("approve", InsufficientStock, call)  # the stock changed since the request
                return
            decided = call()
            OUTCOMES["approve: ok" if approve else "reject: ok"] += 1
            self.model.pending.remove(pending)
            if approve:
                assert decided.status == Adjustment.Status.APPLIED
                self.model.add(pending.key, pending.delta)
                self.model.moves += 1
            else:
                assert decided.status == Adjustment.Status.REJECTED

        @precondition(lambda self: self.model.quants)
        @rule(data=st.data())
        def reserve(self, data):
            available = sorted((k for k in self.model.quants if k[3] == "AVAILABLE"), key=str)
            if available and data.draw(RARELY_NOT, label="pick an available quant"):
                key = data.draw(st.sampled_from(available), label="quant")
            else:
                key = data.draw(st.sampled_from(sorted(self.model.quants, key=str)), label="any quant")
            quantity = self._quantity(data, self.model.free(key))
            quant = StockQuant.objects.get(item_id=key[0], location_id=key[1], lot_id=key[2], status=key[3])

            def call():
                return reserve_stock(user=world.requester, quant=quant, quantity=quantity)

            if key[3] != "AVAILABLE" or self.model.free(key) < quantity:
                self._refused("reserve", InsufficientStock, call)
            else:
                call()
                OUTCOMES["reserve: ok"] += 1
                self.model.add(key, 0, quantity)

        @precondition(lambda self: self.model.quants)
        @rule(data=st.data())
        def unreserve(self, data):
            reserved = sorted((k for k, (_, res) in self.model.quants.items() if res > 0), key=str)
            if reserved and data.draw(RARELY_NOT, label="pick a reserved quant"):
                key = data.draw(st.sampled_from(reserved), label="quant")
            else:
                key = data.draw(st.sampled_from(sorted(self.model.quants, key=str)), label="any quant")
            quantity = self._quantity(data, self.model.quants[key][1])
            quant = StockQuant.objects.get(item_id=key[0], location_id=key[1], lot_id=key[2], status=key[3])

            def call():
                return unreserve_stock(user=world.requester, quant=quant, quantity=quantity)

            if self.model.quants[key][1] < quantity:
                self._refused("unreserve", InsufficientStock, call)
            else:
                call()
                OUTCOMES["unreserve: ok"] += 1
                self.model.add(key, 0, -quantity)

        @precondition(lambda self: self.model.moves % 5 == 4)  # now and then, not as often as real work
        @rule(data=st.data(), quantity=st.sampled_from([0, -1, -40]))
        def bad_quantity(self, data, quantity):
            item, lot, location, status = self._source(data, statuses=["AVAILABLE"])
            other = next(loc for loc in world.locations if loc != location and site_of[loc.pk] == location.site_id)
            operation = data.draw(st.sampled_from(["receive", "move", "change_status", "reserve"]), label="op")
            calls = {
                "receive": lambda: receive_stock(
                    user=world.requester, item=item, lot=lot, location=location, quantity=quantity
                ),
                "move": lambda: move_stock(
                    user=world.requester,
                    item=item,
                    lot=lot,
                    from_location=location,
                    to_location=other,
                    quantity=quantity,
                ),
                "change_status": lambda: change_status(
                    user=world.requester,
                    item=item,
                    lot=lot,
                    location=location,
                    quantity=quantity,
                    from_status=status,
                    to_status="HOLD",
                ),
                "reserve": lambda: reserve_stock(
                    user=world.requester,
                    quant=StockQuant(pk=0, item=item, location=location, site_id=location.site_id),
                    quantity=quantity,
                ),
            }
            self._refused(f"{operation} of {quantity}", ValidationFailed, calls[operation])

        # --- invariants ---------------------------------------------------------------------------------------

        @invariant()
        def ledger_and_balances_agree(self):
            assert find_inventory_drift() == []

        @invariant()
        def quants_equal_the_model(self):
            actual = {
                (q.item_id, q.location_id, q.lot_id, q.status): [q.quantity, q.reserved]
                for q in StockQuant.objects.all()
            }
            assert actual == self.model.quants

        @invariant()
        def stock_levels_equal_the_sum_of_the_models_quants(self):
            expected: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for (item, location, _lot, status), (quantity, _reserved) in self.model.quants.items():
                expected[(item, site_of[location])][LEVEL_FIELD[status]] += quantity
            for level in StockLevel.objects.all():
                want = expected.pop((level.item_id, level.site_id), {})
                for name in ("received", "available", "hold", "damaged", "in_transit"):
                    assert getattr(level, name) == want.get(name, 0), (level, name)
                assert level.allocated == 0
            assert not any(any(v.values()) for v in expected.values()), expected

        @invariant()
        def nothing_is_negative(self):
            assert not StockQuant.objects.filter(quantity__lt=0).exists()
            for quantity, reserved in self.model.quants.values():
                assert quantity >= 0 and 0 <= reserved <= quantity

        @invariant()
        def every_applied_change_is_one_ledger_move(self):
            assert StockMove.objects.count() == self.model.moves

        @invariant()
        def pending_adjustments_change_nothing_until_decided(self):
            pending = set(
                Adjustment.objects.filter(status=Adjustment.Status.PENDING_APPROVAL).values_list("pk", flat=True)
            )
            assert pending == {p.adjustment.pk for p in self.model.pending}

    return InventoryMachine


def test_random_operation_sequences_keep_every_inventory_invariant(world):
    OUTCOMES.clear()
    run_state_machine_as_test(
        make_machine(world),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # the sequences did real work and met refusals (not only one or the other)
    for outcome in ("receive: ok", "move: ok", "change_status: ok", "adjust: applied", "reserve: ok"):
        assert OUTCOMES[outcome] > 0, (outcome, OUTCOMES)
    assert OUTCOMES["move: InsufficientStock"] + OUTCOMES["change_status: InsufficientStock"] > 0, OUTCOMES
