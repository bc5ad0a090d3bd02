"""Stock services under contention, on real PostgreSQL: 16 threads, one connection each, the same quants.

Each thread runs a random mix of moves back and forth, adjustments up and down, status changes and reservations
on one item in three locations, and keeps the effect of every operation that succeeded. Afterwards every balance
must equal the opening balance plus those effects (no update lost), nothing may be negative, the ledger must
agree with the balances, and no thread may have seen a deadlock (not even one the retry wrapper absorbed: the
services take their locks in one fixed order, so there should be none).
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
from django.db import connection

from core import db as db_helpers
from core.errors import InsufficientStock
from governance.models import SiteMembership
from inventory.models import StockLevel, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import (
    adjust_stock,
    change_status,
    move_stock,
    receive_stock,
    reserve_stock,
    unreserve_stock,
)
from tests.factories import ItemFactory, LocationFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 16
OPERATIONS_PER_THREAD = 30
DEADLOCK = "40P01"
OPENING = 80  # per location: little enough that threads run into each other and into refusals


@dataclass
class Outcome:
    """What one thread did: the net effect of its successful operations on each quant, and its counts."""

    quantity: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))  # (location, status)
    reserved: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    counts: Counter = field(default_factory=Counter)
    errors: list[BaseException] = field(default_factory=list)


def run_threads(worker, count: int) -> list[Outcome]:
    """Start ``count`` threads at once (barrier); each gets its index and its own Outcome, and its own connection."""
    barrier = threading.Barrier(count)
    outcomes = [Outcome() for _ in range(count)]

    def wrapper(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            worker(index, outcomes[index])
        except BaseException as exc:  # reported by the test
            outcomes[index].errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapper, args=(i,), name=f"stock-{i}") for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a thread hung (waiting for a lock?)"
    return outcomes


@pytest.fixture
def retried_errors(monkeypatch):
    """The sqlstate of every database error the retry wrapper looked at (deadlocks would show up here)."""
    seen: list[str | None] = []
    original = db_helpers._is_retryable

    def spy(exc):
        cause = exc.__cause__ or exc
        seen.append(getattr(cause, "sqlstate", None))
        return original(exc)

    monkeypatch.setattr(db_helpers, "_is_retryable", spy)
    return seen


@pytest.fixture
def hot_world():
    site = SiteFactory(code="HOT", region="EAST")
    item = ItemFactory(sku="HOT-ITEM", standard_cost="1.00")  # adjustments stay under the approval value
    locations = [LocationFactory(site=site, code=f"HOT-{n}") for n in range(3)]
    users = []
    for n in range(THREADS):
        user = UserFactory(username=f"worker{n}")
        SiteMembership.objects.create(user=user, site=site, role="supervisor")
        users.append(user)
    for location in locations:
        receive_stock(
            user=None, item=item, location=location, quantity=OPENING, status="AVAILABLE", check_permission=False
        )
    return site, item, locations, users


def _balances(item) -> dict[tuple[int, str], tuple[int, int]]:
    return {(q.location_id, q.status): (q.quantity, q.reserved) for q in StockQuant.objects.filter(item=item)}


def test_sixteen_threads_moving_adjusting_and_reserving_the_same_quants_lose_no_update(hot_world, retried_errors):
    site, item, locations, users = hot_world
    opening = _balances(item)
    opening_moves = StockMove.objects.count()

    def worker(index: int, out: Outcome) -> None:
        rng = random.Random(1000 + index)
        user = type(users[index]).objects.get(pk=users[index].pk)  # this thread's own copy
        mine: dict[int, int] = defaultdict(int)  # location -> units this thread reserved there
        for _ in range(OPERATIONS_PER_THREAD):
            operation = rng.choice(["move", "move", "move", "adjust", "adjust", "status", "reserve", "unreserve"])
            try:
                if operation == "move":
                    source, target = rng.sample(locations, 2)
                    quantity = rng.randint(1, 40)
                    move_stock(user=user, item=item, from_location=source, to_location=target, quantity=quantity)
                    out.quantity[(source.pk, "AVAILABLE")] -= quantity
                    out.quantity[(target.pk, "AVAILABLE")] += quantity
                elif operation == "adjust":
                    location = rng.choice(locations)
                    delta = rng.choice([-1, 1]) * rng.randint(1, 25)
                    adjust_stock(
                        user=user,
                        location=location,
                        item=item,
                        quantity_delta=delta,
                        reason_code="FOUND" if delta > 0 else "DAMAGE",
                        note=f"thread {index}",
                    )
                    out.quantity[(location.pk, "AVAILABLE")] += delta
                elif operation == "status":
                    location = rng.choice(locations)
                    from_status, to_status = rng.choice([("AVAILABLE", "HOLD"), ("HOLD", "AVAILABLE")])
                    quantity = rng.randint(1, 20)
                    change_status(
                        user=user,
                        item=item,
                        location=location,
                        quantity=quantity,
                        from_status=from_status,
                        to_status=to_status,
                    )
                    out.quantity[(location.pk, from_status)] -= quantity
                    out.quantity[(location.pk, to_status)] += quantity
                elif operation == "reserve":
                    location = rng.choice(locations)
                    quant = StockQuant.objects.get(item=item, location=location, status="AVAILABLE")
                    quantity = rng.randint(1, 10)
                    reserve_stock(user=user, quant=quant, quantity=quantity)
                    mine[location.pk] += quantity
                    out.reserved[(location.pk, "AVAILABLE")] += quantity
                else:
                    held = [pk for pk, qty in mine.items() if qty > 0]
                    if not held:
                        continue
                    location_pk = rng.choice(held)
                    quant = StockQuant.objects.get(item=item, location_id=location_pk, status="AVAILABLE")
                    quantity = rng.randint(1, mine[location_pk])
                    unreserve_stock(user=user, quant=quant, quantity=quantity)
                    mine[location_pk] -= quantity
                    out.reserved[(location_pk, "AVAILABLE")] -= quantity
                out.counts[f"{operation} ok"] += 1
            except InsufficientStock:
                out.counts[f"{operation} refused"] += 1

    outcomes = run_threads(worker, THREADS)

    errors = [exc for out in outcomes for exc in out.errors]
    assert errors == [], errors  # includes any OperationalError (deadlock, lock timeout) that reached a thread
    assert DEADLOCK not in retried_errors, retried_errors

    expected = {key: list(value) for key, value in opening.items()}
    for out in outcomes:
        for key, delta in out.quantity.items():
            expected.setdefault(key, [0, 0])[0] += delta
        for key, delta in out.reserved.items():
            expected.setdefault(key, [0, 0])[1] += delta
    actual = {key: list(value) for key, value in _balances(item).items()}
    assert actual == expected  # not a single update lost

    totals = Counter()
    for out in outcomes:
        totals.update(out.counts)
    written = sum(totals[f"{op} ok"] for op in ("move", "adjust", "status"))
    assert StockMove.objects.count() == opening_moves + written
    assert totals["move ok"] > THREADS and totals["reserve ok"] > 0  # the mix really ran

    level = StockLevel.objects.get(item=item, site=site)
    assert level.available == sum(qty for (_, status), (qty, _) in _balances(item).items() if status == "AVAILABLE")
    assert level.hold == sum(qty for (_, status), (qty, _) in _balances(item).items() if status == "HOLD")
    assert not StockQuant.objects.filter(quantity__lt=0).exists()
    assert find_inventory_drift() == []


def test_concurrent_reservations_of_one_quant_never_exceed_its_quantity(hot_world, retried_errors):
    site, item, locations, users = hot_world
    quant = StockQuant.objects.get(item=item, location=locations[0], status="AVAILABLE")
    assert (quant.quantity, quant.reserved) == (OPENING, 0)

    def worker(index: int, out: Outcome) -> None:
        user = type(users[index]).objects.get(pk=users[index].pk)
        for _ in range(5):
            try:
                reserve_stock(user=user, quant=quant, quantity=7)  # 16 x 5 x 7 = 560 wanted of 80
                out.counts["reserved"] += 7
            except InsufficientStock:
                out.counts["refused"] += 1

    outcomes = run_threads(worker, THREADS)

    assert [exc for out in outcomes for exc in out.errors] == []
    assert DEADLOCK not in retried_errors
    claimed = sum(out.counts["reserved"] for out in outcomes)
    quant.refresh_from_db()
    assert quant.reserved == claimed == 77  # 11 claims of 7; the 3 units left are too few for another
    assert quant.quantity == OPENING
    assert sum(out.counts["refused"] for out in outcomes) == THREADS * 5 - 11
    assert find_inventory_drift() == []


def test_two_requests_creating_one_location_code_give_one_location_and_a_field_error():
    """The uniqueness check and the insert are two statements: a second request may pass the check before the
    first commits. It gets the same 400 on `code` as a later request would, never a server error."""
    from core.errors import ValidationFailed
    from inventory.models import Location
    from inventory.services import create_location
    from tests.concurrency.test_allocation_concurrency import run_threads
    from tests.factories import SiteFactory

    site = SiteFactory(code="LOC-RACE")
    for n in range(5):
        code = f"R-{n:02d}"
        results, errors = run_threads(
            lambda c: create_location(user=None, site=site, code=c, kind=Location.Kind.STORAGE), [(code,), (code,)]
        )
        assert Location.objects.filter(site=site, code=code).count() == 1
        assert len(errors) == 1 and isinstance(errors[0], ValidationFailed), errors
        with pytest.raises(ValidationFailed) as later:  # the answer a request after both would get
            create_location(user=None, site=site, code=code, kind=Location.Kind.STORAGE)
        assert errors[0].errors == later.value.errors
