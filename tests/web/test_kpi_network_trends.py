"""The network KPI view draws each KPI's daily trend across the network from the network's snapshots (issue 15), as
the site page does for a site: the days stored in the period, no invented ones, and its default period (the 30
days up to yesterday in UTC, the network's last snapshotted day) has the data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from reporting.kpis import KPIS
from reporting.services import local_yesterday, store_snapshots

pytestmark = pytest.mark.django_db


def _rows(response) -> dict[str, dict]:
    return {r["key"]: r["network"] for r in response.context["table"]}


def test_the_network_view_draws_each_kpis_trend_from_the_network_snapshots(client, admin_user, site, other_site):
    client.force_login(admin_user)
    url = reverse("web:kpi-network")
    yesterday = local_yesterday(None)
    empty = client.get(url)
    assert "no snapshots in the period" in empty.content.decode()
    assert all(r["trend_days"] == 0 for r in _rows(empty).values())
    for days in (1, 2, 4):
        store_snapshots(None, yesterday - timedelta(days=days - 1))
    store_snapshots(site, yesterday)  # a site's snapshot is not the network's
    store_snapshots(None, yesterday + timedelta(days=1))  # today (a partial day) is outside the default period

    response = client.get(url)  # the default period
    assert (response.context["date_from"], response.context["date_to"]) == (yesterday - timedelta(days=29), yesterday)
    rows = _rows(response)
    assert set(rows) == set(KPIS)
    key = next(iter(rows))
    chart = json.loads(rows[key]["trend_json"])
    assert rows[key]["trend_days"] == 3 and len(chart["x"]) == len(chart["y"]) == 3  # the days stored, no invented ones
    assert chart["x"] == sorted(chart["x"]) and chart["key"] == key
    page = response.content.decode()
    assert "uPlot.iife.min.js" in page and "web/kpi-trend.js" in page and "vendor/uplot/uPlot.min.css" in page
    assert f'data-kpi-trend="trend-{key}"' in page and f'<div hidden id="trend-{key}">' in page
    assert page.count('data-kpi-trend="') == len(KPIS)

    # a shorter period: only its snapshots
    shorter = client.get(url, {"date_from": str(yesterday), "date_to": str(yesterday)})
    assert max(r["trend_days"] for r in _rows(shorter).values()) == 1


def test_a_site_admin_sees_the_network_trend_too(client, make_user, site, other_site):
    site_admin = make_user("admin", site)
    client.force_login(site_admin)
    yesterday = local_yesterday(None)
    store_snapshots(None, yesterday)
    response = client.get(reverse("web:kpi-network"))
    assert response.status_code == 200
    assert max(r["trend_days"] for r in _rows(response).values()) == 1
