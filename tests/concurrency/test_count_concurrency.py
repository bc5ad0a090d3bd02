"""Cycle counting under contention, on real PostgreSQL with one connection per thread: two counters entering the
same line at once count it once; approving a count's variances while operators move the same items between the
same bins (in both item orders) loses no update, leaves the ledger and balances agreeing, and lets no deadlock
escape."""

from __future__ import annotations

import pytest

from core.errors import StateConflict
from governance.models import SiteMembership
from inventory.models import StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import move_stock, receive_stock
from inventory.services.counts import create_cycle_count, decide_count, enter_count
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.concurrency.test_stock_concurrency import retried_errors  # noqa: F401 (fixture)
from tests.factories import ItemFactory, LocationFactory, SiteFactory, UserFactory, set_rule_now

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counting_world():
    site = SiteFactory(code="CNT", region="EAST")
    admin = UserFactory(username="cnt-admin", is_superuser=True)
    set_rule_now(user=admin, key="counting.approval_value", value="0", site=site, reason="every variance waits")
    set_rule_now(user=admin, key="counting.tolerance_percent", value="50", site=site, reason="no recounts")
    users = {}
    for name, role in (("sup", "supervisor"), ("approver", "supervisor"), ("c1", "operator"), ("c2", "operator")):
        users[name] = UserFactory(username=f"cnt-{name}")
        SiteMembership.objects.create(user=users[name], site=site, role=role)
    items = [ItemFactory(sku=f"CNT-{n}", standard_cost="1.00") for n in range(2)]
    bins = [LocationFactory(site=site, code=f"CNT-{n}") for n in range(2)]
    spare = LocationFactory(site=site, code="CNT-SPARE")
    for item in items:
        for location in bins:
            receive_stock(
                user=None, item=item, location=location, quantity=100, status="AVAILABLE", check_permission=False
            )
    return site, users, items, bins, spare


def test_two_counters_entering_one_line_at_once_count_it_once(counting_world):
    site, users, items, bins, _ = counting_world
    count = create_cycle_count(user=users["sup"], site=site, locations=[bins[0]])
    line = count.lines.get(item=items[0])

    results, errors = run_threads(
        lambda user: enter_count(user=user, line=line, quantity=100), [(users["c1"],), (users["c2"],)]
    )

    assert all(isinstance(e, StateConflict) for e in errors), errors
    line.refresh_from_db()
    assert line.status == "POSTED" and len(errors) <= 1
    assert line.first_counted_by in (users["c1"], users["c2"]) and line.recounted_by is None
    assert not StockMove.objects.filter(kind="COUNT").exists()
    assert find_inventory_drift() == []


def test_two_counts_approved_at_once_with_their_items_in_opposite_orders_do_not_deadlock(
    counting_world,
    retried_errors,  # noqa: F811
):
    """Count 1 holds item A's line before item B's, count 2 the other way round; approving both at once (while an
    operator moves the same items) must lock the stock levels in one order, not line by line."""
    site, users, (a, b), _, spare = counting_world
    x, y, z, w = (LocationFactory(site=site, code=f"CNT-{code}") for code in "XYZW")
    for item, location in ((a, x), (b, y), (b, z), (a, w)):
        receive_stock(user=None, item=item, location=location, quantity=50, status="AVAILABLE", check_permission=False)
    counts = [
        create_cycle_count(user=users["sup"], site=site, locations=[x, y]),  # lines: A, then B
        create_cycle_count(user=users["sup"], site=site, locations=[z, w]),  # lines: B, then A
    ]
    assert [line.item for line in counts[1].lines.order_by("pk")] == [b, a]
    for count in counts:
        for line in count.lines.all():
            enter_count(user=users["c1"], line=line, quantity=40)  # 10 short: waits for approval

    def shuffle():
        for item, location in ((a, x), (b, y)):
            move_stock(user=users["sup"], item=item, from_location=location, to_location=spare, quantity=1)

    jobs = [(lambda c=c: decide_count(user=users["approver"], count=c, approve=True),) for c in counts]
    _, errors = run_threads(lambda job: job(), [*jobs, (shuffle,)])

    assert errors == []
    assert "40P01" not in retried_errors  # no deadlock, not even one the retry wrapper absorbed
    assert {c.status for c in type(counts[0]).objects.filter(pk__in=[c.pk for c in counts])} == {"COMPLETED"}
    assert StockMove.objects.filter(kind="COUNT").count() == 4
    for item in (a, b):  # 300 received, 40 written off by the counts (4 lines of 10, 2 per item)
        assert sum(StockQuant.objects.filter(item=item).values_list("quantity", flat=True)) == 300 - 20
    assert find_inventory_drift() == []
