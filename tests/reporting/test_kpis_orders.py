"""Order KPIs against hand-computed numbers (period: 10..16 January 2026)."""

from __future__ import annotations

import pytest

from orders.models import ReturnAuthorization, SalesOrder
from reporting import kpis
from warehouse.models import PickTask

from .conftest import D1, D2, at, hours

pytestmark = pytest.mark.django_db
S = SalesOrder.Status


def test_order_fill_rate_counts_lines_first_shipped_in_the_period(kb, site, other_site):
    o = kb.order(site)
    kb.line(o, 10, shipped=10, first=at(12))  # complete on its first shipment
    kb.line(o, 10, shipped=10, first=at(12), last=at(14))  # completed by a second shipment
    kb.line(o, 5, shipped=3, first=at(13))  # partial
    kb.line(o, 4, shipped=4, first=at(9, 23, 59))  # before the period
    kb.line(o, 4, shipped=4, first=at(17, 0, 0))  # the first instant after the period
    kb.line(o, 4)  # not shipped
    kb.line(kb.order(other_site), 2, shipped=2, first=at(12))  # the other site, complete

    v = kpis.order_fill_rate(site, D1, D2)
    assert (v.numerator, v.denominator, v.value, v.unit) == (1, 3, 33.33, "%")

    network = kpis.order_fill_rate(None, D1, D2)
    assert (network.numerator, network.denominator, network.value) == (2, 4, 50.0)


def test_order_fill_rate_of_an_empty_period_is_none(site):
    v = kpis.order_fill_rate(site, D1, D2)
    assert (v.value, v.numerator, v.denominator) == (None, 0, 0)


def test_period_boundaries_are_the_sites_local_midnights(kb, ny):
    o = kb.order(ny)
    kb.line(o, 1, shipped=1, first=at(17, 3))  # 16 Jan 22:00 in New York: inside
    kb.line(o, 1, shipped=1, first=at(10, 3))  # 9 Jan 22:00 in New York: outside
    kb.line(o, 1, shipped=1, first=at(10, 5))  # 10 Jan 00:00 in New York: inside
    kb.line(o, 1, shipped=1, first=at(17, 5))  # 17 Jan 00:00 in New York: outside

    assert kpis.order_fill_rate(ny, D1, D2).denominator == 2
    # the network places each row in its own site's time zone: the same two lines
    assert kpis.order_fill_rate(None, D1, D2).denominator == 2
    # one day only: 16 January in New York
    assert kpis.order_fill_rate(ny, D2, D2).denominator == 1


def test_unit_fill_rate_over_orders_promised_in_the_period(kb, site):
    o1 = kb.order(site, promised=at(12).date(), status=S.PARTIALLY_SHIPPED)
    kb.line(o1, 10, shipped=10, first=at(12))
    kb.line(o1, 5, shipped=3, first=at(12))
    kb.line(kb.order(site, promised=D2, status=S.ALLOCATED), 4)
    kb.line(kb.order(site, promised=at(17).date(), status=S.ALLOCATED), 100)  # promised after
    kb.line(kb.order(site, promised=D1, status=S.CANCELLED), 100)  # cancelled
    kb.line(kb.order(site, promised=D1, status=S.DRAFT), 100)  # draft

    v = kpis.unit_fill_rate(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (13, 19, 68.42)
    assert kpis.unit_fill_rate(site, D1, D1).value is None  # nothing promised on the 10th


def test_on_time_shipment(kb, site, ny):
    kb.order(site, promised=at(12).date(), shipped_at=at(12, 23, 59))  # on the promised day
    kb.order(site, promised=at(12).date(), shipped_at=at(13, 0, 0))  # a day late
    kb.order(site, promised=at(14).date(), status=S.PICKING)  # not shipped
    kb.order(site, promised=at(15).date(), shipped_at=at(10))  # early
    kb.order(site, promised=at(15).date(), status=S.CANCELLED)  # cancelled: not counted
    kb.order(ny, promised=at(12).date(), shipped_at=at(13, 3))  # 12 Jan 22:00 in New York: on time

    v = kpis.on_time_shipment(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (2, 4, 50.0)
    ny_value = kpis.on_time_shipment(ny, D1, D2)
    assert (ny_value.numerator, ny_value.denominator) == (1, 1)
    network = kpis.on_time_shipment(None, D1, D2)
    assert (network.numerator, network.denominator) == (3, 5)


def test_perfect_order_rate(kb, site):
    def shipped(promised=D2):
        o = kb.order(site, promised=promised, shipped_at=at(12))
        kb.line(o, 2, shipped=2, first=at(12))
        return o

    shipped()  # perfect
    shipped(promised=at(11).date())  # late
    split = kb.order(site, promised=D2, shipped_at=at(12))
    kb.line(split, 1, shipped=1, first=at(11))
    kb.line(split, 1, shipped=1, first=at(12))
    short = shipped()
    kb.pick(site, status=PickTask.Status.SHORT, confirmed_at=at(11), line=short.lines.first())
    kb.rma(shipped(), created_at=at(20))  # returned within 30 days
    kb.rma(shipped(), created_at=at(20, month=2))  # returned after 30 days: still perfect
    kb.rma(shipped(), created_at=at(1, month=3), reason="DAMAGED")  # damaged
    kb.rma(shipped(), created_at=at(13), status=ReturnAuthorization.Status.REJECTED)  # rejected return: perfect
    kb.order(site, promised=D2, shipped_at=at(20))  # shipped after the period
    kb.order(site, promised=D2, status=S.PARTIALLY_SHIPPED)  # not fully shipped

    v = kpis.perfect_order_rate(site, D1, D2)
    assert (v.numerator, v.denominator, v.value) == (3, 8, 37.5)
    assert v.breakdown["failures"] == {"late": 1, "split": 1, "short": 1, "damaged": 1, "returned": 1}


def test_order_cycle_time_median_and_p90(kb, site):
    for h in (10, 20, 30, 40):
        kb.order(site, released_at=at(12) - hours(h), shipped_at=at(12))
    kb.order(site, released_at=at(1), shipped_at=at(20))  # shipped after the period

    v = kpis.order_cycle_time(site, D1, D2)
    assert v.value == 25.0  # median of 10, 20, 30, 40
    assert v.breakdown["p90"] == 37.0  # 30 + 0.7 * (40 - 30)
    assert (v.numerator, v.denominator, v.breakdown["mean"]) == (100.0, 4, 25.0)

    empty = kpis.order_cycle_time(site, D2, D2)
    assert (empty.value, empty.denominator, empty.breakdown["p90"]) == (None, 0, None)


def test_backorders_bucketed_by_age_at_the_end_of_the_period(kb, site, other_site):
    o = kb.order(site, status=S.BACKORDERED)
    kb.line(o, 5, backordered=5, since=at(16, 12))  # 0 days old on 17 Jan 00:00
    kb.line(o, 3, backordered=3, since=at(13, 0))  # 4 days
    kb.line(o, 2, backordered=2, since=at(1, 0))  # 16 days
    kb.line(o, 9, backordered=9, since=at(18))  # after the period's end
    kb.line(kb.order(site, status=S.CANCELLED), 7, backordered=7, since=at(12))
    kb.line(kb.order(other_site, status=S.BACKORDERED), 1, backordered=1, since=at(12))

    v = kpis.backorders(site, D1, D2)
    assert (v.value, v.numerator, v.denominator) == (10, 10, None)
    assert v.breakdown["lines"] == 3
    assert v.breakdown["buckets"] == [
        {"age_days": "0-2", "lines": 1, "units": 5},
        {"age_days": "3-7", "lines": 1, "units": 3},
        {"age_days": "8-14", "lines": 0, "units": 0},
        {"age_days": "15+", "lines": 1, "units": 2},
    ]
    assert kpis.backorders(None, D1, D2).value == 11
