"""Inventory control and stock KPIs against hand-computed numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from governance.models import SiteRuleValue
from inventory.models import CycleCount, CycleCountLine, Location, StockMove, StockQuant
from reporting import kpis
from tests.factories import LocationFactory, ZoneFactory

from .conftest import D1, D2, at

pytestmark = pytest.mark.django_db
K = StockMove.Kind


@pytest.fixture
def counted(kb, site):
    """Five count lines finally counted in the period at ``site`` and two outside it (see each line)."""
    z1, z2 = ZoneFactory(site=site, code="Z1"), ZoneFactory(site=site, code="Z2")
    loc1 = LocationFactory(site=site, zone=z1)
    loc2 = LocationFactory(site=site, zone=z2)
    loc0 = LocationFactory(site=site)  # no zone
    a, b, c = (kb.item(abc_class=x) for x in "ABC")
    count = CycleCount.objects.create(number=kb.n("CC"), site=site)

    def line(loc, item, expected, counted, first, recounted=None, unit_cost=None):
        CycleCountLine.objects.create(
            count=count,
            location=loc,
            item=item,
            lot=None,
            status="POSTED",
            counted_quantity=counted,
            expected_quantity=expected,
            variance=counted - expected,
            first_counted_at=first,
            recounted_at=recounted,
            unit_cost=unit_cost,
        )

    line(loc1, a, 100, 100, at(11))  # exact: within
    line(loc1, kb.item(abc_class="A"), 100, 98, at(12), unit_cost=Decimal("10.00"))  # 2 % of 100: within
    line(loc2, b, 100, 97, at(12))  # 3 %: beyond the default 2 %
    line(loc0, c, 0, 1, at(13))  # found where nothing was expected: beyond
    line(loc2, kb.item(abc_class="B"), 50, 50, at(9), recounted=at(12))  # recounted in the period: within
    line(loc2, kb.item(abc_class="B"), 10, 0, at(17))  # after the period
    CycleCountLine.objects.create(count=count, location=loc0, item=kb.item(), status="OPEN")  # not counted
    return count


def test_inventory_accuracy_by_zone_and_abc_class(counted, site):
    v = kpis.inventory_accuracy(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (3, 5, 60.0)
    assert [(r["zone"], r["numerator"], r["denominator"]) for r in v.breakdown["by_zone"]] == [
        (None, 0, 1),
        ("Z1", 2, 2),
        ("Z2", 1, 2),
    ]
    assert [(r["abc_class"], r["numerator"], r["denominator"]) for r in v.breakdown["by_abc_class"]] == [
        ("A", 2, 2),
        ("B", 1, 2),
        ("C", 0, 1),
    ]
    assert v.breakdown["by_site"] == [{"site": "DC1", "numerator": 3, "denominator": 5, "value": 60.0}]


def test_inventory_accuracy_uses_the_sites_tolerance(counted, site):
    SiteRuleValue.objects.create(key="counting.tolerance_percent", site=site, value="5", reason="test")
    v = kpis.inventory_accuracy(site, D1, D2)
    assert (v.numerator, v.denominator) == (4, 5)


def test_count_variance_units_and_value_by_class(counted, site, other_site):
    v = kpis.count_variance(site, D1, D2)
    # |0| + |-2| + |-3| + |1| + |0| units, each at 10.00 (line unit cost, else the item's standard cost)
    assert (v.value, v.numerator, v.denominator) == (6, 6, None)
    assert v.breakdown["value"] == 60.0
    assert v.breakdown["lines"] == 5
    by_class = {r["abc_class"]: (r["units"], r["value"], r["lines"]) for r in v.breakdown["by_abc_class"]}
    assert by_class == {"A": (2, 20.0, 2), "B": (3, 30.0, 2), "C": (1, 10.0, 1)}
    assert kpis.count_variance(other_site, D1, D2).value == 0
    assert kpis.count_variance(None, D1, D2).value == 6


def _virtual(site, kind):
    return Location.objects.get(site=site, kind=kind)


def test_adjustment_rate_and_adjusted_value(kb, site, other_site):
    item = kb.item(standard_cost=Decimal("10.00"))
    shelf = LocationFactory(site=site)
    adj = _virtual(site, Location.Kind.ADJUSTMENT)
    supplier = _virtual(site, Location.Kind.SUPPLIER)

    def move(kind, qty, frm, to, when, cost=None):
        StockMove.objects.create(
            item=item,
            quantity=qty,
            from_location=frm,
            to_location=to,
            kind=kind,
            from_status="AVAILABLE",
            to_status="AVAILABLE",
            created_at=when,
            unit_cost=cost,
        )

    move(K.ADJUST, 2, adj, shelf, at(11), Decimal("5.00"))  # 10.00
    move(K.ADJUST, 1, shelf, adj, at(12))  # at standard cost: 10.00
    move(K.ADJUST, 4, adj, shelf, at(16, 23), Decimal("2.50"))  # 10.00
    for day in (10, 11, 12, 13, 14):
        move(K.RECEIPT, 1, supplier, shelf, at(day))
    move(K.ADJUST, 9, adj, shelf, at(17))  # after the period
    other_shelf = LocationFactory(site=other_site)
    move(K.ADJUST, 9, _virtual(other_site, Location.Kind.ADJUSTMENT), other_shelf, at(12))

    v = kpis.adjustment_rate(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (3, 8, 37.5)
    assert v.breakdown["adjusted_value"] == 30.0
    network = kpis.adjustment_rate(None, D1, D2)
    assert (network.numerator, network.denominator) == (4, 9)
    assert [(r["site"], r["numerator"], r["denominator"]) for r in network.breakdown["by_site"]] == [
        ("DC1", 3, 8),
        ("DC2", 1, 1),
    ]


def test_inventory_turns(kb, site):
    item = kb.item(standard_cost=Decimal("10.00"))
    shelf = LocationFactory(site=site)
    supplier = _virtual(site, Location.Kind.SUPPLIER)
    customer = _virtual(site, Location.Kind.CUSTOMER)
    StockQuant.objects.create(item=item, location=shelf, site=site, status="AVAILABLE", quantity=12)  # 120.00 now

    def move(kind, qty, frm, to, when, cost=None):
        StockMove.objects.create(
            item=item,
            quantity=qty,
            from_location=frm,
            to_location=to,
            kind=kind,
            from_status="AVAILABLE",
            to_status="AVAILABLE",
            created_at=when,
            unit_cost=cost,
        )

    move(K.SHIP, 3, shelf, customer, at(10, year=2025))  # before the 365 days: not in the cost of goods
    move(K.RECEIPT, 15, supplier, shelf, at(1, month=2, year=2025))  # +150.00
    move(K.SHIP, 5, shelf, customer, at(1, month=3, year=2025), Decimal("10.00"))  # cost of goods 50.00
    move(K.RECEIPT, 2, supplier, shelf, at(1, month=2, year=2026))  # after the window: +20.00

    v = kpis.inventory_turns(site, D1, D2)  # window: 17 Jan 2025 .. 16 Jan 2026
    # end value = 120 - 20 = 100; start value = 120 - (150 - 50 + 20) = 0; average 50
    assert v.breakdown["window"] == ["2025-01-17", "2026-01-16"]
    assert (v.breakdown["start_value"], v.breakdown["end_value"]) == (0.0, 100.0)
    assert (v.numerator, v.denominator, v.value) == (50.0, 50.0, 1.0)
    assert kpis.inventory_turns(None, D1, D2).value == 1.0


def test_inventory_turns_without_inventory_is_none(site):
    v = kpis.inventory_turns(site, D1, D2)
    assert (v.value, v.numerator, v.denominator) == (None, 0.0, 0.0)


def test_aging_stock_by_days_since_last_receipt(kb, site):
    def quant(units, received, cost="10.00", kind=Location.Kind.STORAGE):
        StockQuant.objects.create(
            item=kb.item(standard_cost=Decimal(cost)),
            location=LocationFactory(site=site, kind=kind),
            site=site,
            status="AVAILABLE",
            quantity=units,
            last_received_at=received,
        )

    quant(10, at(10))  # 6 days at 17 Jan 00:00: 0-30, 100.00
    quant(5, at(1, month=12, year=2025))  # 47 days: 31-90, 50.00
    quant(2, at(1, month=6, year=2025))  # 230 days: 181+, 20.00
    quant(3, None)  # never received (opening balance): 181+, 30.00
    quant(0, at(10))  # empty

    v = kpis.aging_stock(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (50.0, 200.0, 25.0)
    assert v.breakdown["buckets"] == [
        {"age_days": "0-30", "value": 100.0, "units": 10},
        {"age_days": "31-90", "value": 50.0, "units": 5},
        {"age_days": "91-180", "value": 0.0, "units": 0},
        {"age_days": "181+", "value": 50.0, "units": 5},
    ]
    # read at the end of February: the January receipt is 49 days old
    later = kpis.aging_stock(site, date(2026, 2, 28), date(2026, 2, 28)).breakdown["buckets"]
    assert [b["units"] for b in later] == [0, 15, 0, 5]


def test_site_rule_deviation(site, other_site):
    from governance.rules import LOCAL, REGISTRY

    local_rules = sum(1 for d in REGISTRY.values() if d.standardization == LOCAL)
    SiteRuleValue.objects.create(key="counting.tolerance_percent", site=None, value="3", reason="enterprise")
    SiteRuleValue.objects.create(key="counting.tolerance_percent", site=site, value="5", reason="differs")
    default = str(REGISTRY["receiving.over_receipt_tolerance_percent"].default)
    SiteRuleValue.objects.create(
        key="receiving.over_receipt_tolerance_percent", site=site, value=default, reason="same as the enterprise value"
    )

    v = kpis.site_rule_deviation(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (1, local_rules, 1)
    assert v.breakdown["by_site"][0]["rules"] == [
        {"rule": "counting.tolerance_percent", "site_value": "5", "enterprise_value": "3"}
    ]
    assert kpis.site_rule_deviation(other_site, D1, D2).value == 0
    network = kpis.site_rule_deviation(None, D1, D2)
    assert (network.numerator, network.denominator) == (1, 2 * local_rules)
