"""Every KPI runs on an empty database, for a site and for the network, with a fixed number of queries."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reporting.kpis import KPIS, compute_all

pytestmark = pytest.mark.django_db


def test_registry_lists_the_23_kpis_of_kpis_md_in_order():
    assert len(KPIS) == 23
    assert list(KPIS)[0] == "order_fill_rate" and list(KPIS)[-1] == "site_rule_deviation"


@pytest.mark.parametrize("use_site", [True, False])
def test_every_kpi_runs_on_empty_data(site, use_site):
    values = compute_all(site if use_site else None, date(2026, 1, 1), date(2026, 1, 31))
    assert [v.key for v in values] == list(KPIS)
    for v in values:
        assert v.label and v.unit
        if v.denominator == 0:
            assert v.value is None, v.key


def test_query_count_is_fixed(site):
    with CaptureQueriesContext(connection) as ctx:
        compute_all(site, date(2026, 1, 1), date(2026, 1, 31))
    assert len(ctx.captured_queries) <= 45
