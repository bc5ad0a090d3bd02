"""KPI pages and dashboard tiles: who may see which site's KPIs (404 for another site, 403 for the network view
without the right), the period filter (refusals in the API's words), CSV export, tiles that follow the data and
draw their trend from the snapshots."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting.dashboard import DASHBOARD_TILES
from reporting.kpis import KPIS
from reporting.models import KpiSnapshot
from reporting.services import store_snapshots
from warehouse.models import PickTask, Shipment
from warehouse.services import confirm_pick, plan_wave, release_wave

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


# --- permissions -----------------------------------------------------------------------------------------------


def test_anonymous_users_go_to_the_login_page(client, site):
    for url in (reverse("web:kpi-site"), reverse("web:kpi-network"), reverse("web:kpi-site-code", args=[site.code])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_user_sees_the_kpis_of_their_site(client, make_user, site):
    user = make_user("auditor", site)
    client.force_login(user)
    page = client.get(reverse("web:kpi-site"))
    assert page.status_code == 200
    html = page.content.decode()
    for d in KPIS.values():
        assert f'data-testid="kpi-row-{d.key}"' in html
    assert client.get(reverse("web:kpi-site-code", args=[site.code])).status_code == 200
    assert reverse("web:kpi-site") in client.get(reverse("web:home"), follow=True).content.decode()  # menu entry


def test_a_user_of_site_a_cannot_see_site_b_kpis(client, supervisor, site, other_site):
    client.force_login(supervisor)
    assert client.get(reverse("web:kpi-site-code", args=[other_site.code])).status_code == 404
    csv_url = reverse("web:kpi-site-code", args=[other_site.code]) + "?format=csv"
    assert client.get(csv_url).status_code == 404
    # an unknown site answers the same as a hidden one
    assert client.get(reverse("web:kpi-site-code", args=["NOPE"])).status_code == 404


def test_the_network_view_is_refused_to_non_admins(client, make_user, site):
    for role in ("supervisor", "coordinator", "planner", "operator", "auditor"):
        user = make_user(role, site)
        client.force_login(user)
        response = client.get(reverse("web:kpi-network"))
        assert response.status_code == 403, role
        assert client.get(reverse("web:kpi-network") + "?format=csv").status_code == 403
        assert reverse("web:kpi-network") not in client.get(reverse("web:kpi-site")).content.decode()


def test_admins_see_every_site_side_by_side(client, admin_user, site, other_site):
    client.force_login(admin_user)
    response = client.get(reverse("web:kpi-network"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f">{site.code}</a>" in html and f">{other_site.code}</a>" in html and "Network" in html
    assert all(f'data-testid="kpi-row-{k}"' in html for k in KPIS)
    assert reverse("web:kpi-network") in client.get(reverse("web:kpi-site")).content.decode()


def test_a_site_admin_sees_the_network_view_with_the_sites_they_can_see(client, make_user, site, other_site):
    regional = make_user("admin", site)
    client.force_login(regional)
    html = client.get(reverse("web:kpi-network")).content.decode()
    assert f">{site.code}</a>" in html
    assert f">{other_site.code}</a>" not in html  # another site's own column stays hidden (404 in the API too)
    csv = b"".join(client.get(reverse("web:kpi-network"), {"format": "csv"}).streaming_content).decode()
    assert other_site.code not in csv  # nor does the network's breakdown name it


# --- period and CSV --------------------------------------------------------------------------------------------


def test_the_period_filter_refuses_bad_input_in_the_apis_words(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("web:kpi-site"), {"date_from": "2026-02-10", "date_to": "2026-02-01"})
    assert response.status_code == 422
    assert "date_from is after date_to." in response.content.decode()
    response = client.get(reverse("web:kpi-site"), {"date_from": "yesterday"})
    assert response.status_code == 422 and "date_from must be a date (YYYY-MM-DD)." in response.content.decode()
    response = client.get(reverse("web:kpi-site"), {"date_from": "2024-01-01", "date_to": "2026-01-01"})
    assert response.status_code == 422 and "A period is at most 366 days." in response.content.decode()


def test_site_csv_has_every_kpi_with_numerator_and_denominator(client, boss, site, item, floor, stock, allocated):
    stock(item, floor["pick"], 10)
    allocated(4)
    wave = plan_wave(user=boss, site=site)
    release_wave(user=boss, wave=wave)
    task = PickTask.objects.get()
    confirm_pick(user=boss, task=task, quantity=3, location_code=task.location.code)
    today = timezone.localdate()
    client.force_login(boss)
    response = client.get(reverse("web:kpi-site"), {"date_from": today, "date_to": today, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert [r["key"] for r in rows] == list(KPIS)
    short = next(r for r in rows if r["key"] == "short_pick_rate")
    assert (short["site"], short["numerator"], short["denominator"], short["value"]) == (site.code, "1", "1", "100.0")
    page = client.get(reverse("web:kpi-site"), {"date_from": today, "date_to": today}).content.decode()
    row = page.split('data-testid="kpi-row-short_pick_rate"', 1)[1].split("</tr>", 1)[0]
    assert "<b>100.0 %</b>" in row and row.count('<td class="num">1</td>') == 2


def test_network_csv_has_every_site_and_the_network(client, admin_user, site, other_site):
    client.force_login(admin_user)
    response = client.get(reverse("web:kpi-network"), {"format": "csv"})
    rows = _csv(response)
    assert {r["site"] for r in rows} == {site.code, other_site.code, ""}
    assert len(rows) == 3 * len(KPIS)


# --- dashboard tiles -------------------------------------------------------------------------------------------


def test_the_dashboard_tiles_follow_the_data_and_draw_the_snapshot_trend(
    client, boss, site, item, floor, stock, allocated
):
    client.force_login(boss)
    html = client.get(reverse("web:dashboard")).content.decode()
    for key in DASHBOARD_TILES:
        assert f'data-testid="kpi-{key}"' in html
    assert "no snapshots yet" in html and "vendor/uplot/uPlot.iife.min.js" in html and "web/kpi-trend.js" in html
    stock(item, floor["pick"], 10)
    allocated(4)
    wave = plan_wave(user=boss, site=site)
    release_wave(user=boss, wave=wave)
    task = PickTask.objects.get()
    confirm_pick(user=boss, task=task, quantity=3, location_code=task.location.code)
    panels = client.get(reverse("web:dashboard"), HTTP_HX_REQUEST="true").content.decode()
    tile = panels.split('data-testid="kpi-short_pick_rate"', 1)[1].split("</div></div>", 1)[0]
    assert "100.0 %" in tile and "1 / 1" in tile
    # yesterday's snapshot feeds the trend line
    store_snapshots(site, timezone.localdate() - timedelta(days=1))
    assert KpiSnapshot.objects.filter(site=site, key="short_pick_rate").exists()
    html = client.get(reverse("web:dashboard")).content.decode()
    # the points ride in a hidden element, not a <script> (htmx drops scripts from the panels it refreshes)
    assert '<div hidden id="trend-short_pick_rate">{&quot;key&quot;: &quot;short_pick_rate&quot;' in html
    assert "&quot;x&quot;: [" in html


def test_dashboard_tiles_are_for_the_current_site_only(client, make_user, site, other_site):
    user = make_user("supervisor", site, other_site)
    client.force_login(user)
    KpiSnapshot.objects.create(
        site=other_site,
        key="backorders",
        date=timezone.localdate() - timedelta(days=1),
        value=77,
        numerator=77,
        unit="units",
    )
    html = client.get(reverse("web:dashboard")).content.decode()
    assert '"y": [77.0]' not in html


def _ship_orders(boss, site, item, allocated, n: int, short_every: int = 2) -> None:
    """n orders through wave, pick (every short_every-th pick short: an exception each), pack and ship."""
    from warehouse.services import confirm_shipment, pack_wave

    for _ in range(n):
        allocated(2)
    wave = plan_wave(user=boss, site=site)
    release_wave(user=boss, wave=wave)
    for i, task in enumerate(PickTask.objects.filter(wave=wave).select_related("location").order_by("id")):
        short = i % short_every == 0
        confirm_pick(
            user=boss,
            task=task,
            quantity=task.quantity - 1 if short else task.quantity,
            location_code=task.location.code,
        )
    for shipment in pack_wave(user=boss, wave=wave):
        confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number=f"1Z-{shipment.pk}")


def test_the_dashboard_query_count_does_not_grow_with_orders_exceptions_waves_and_snapshots(
    client, boss, site, item, floor, stock, allocated, django_assert_max_num_queries
):
    """A regression test, not a timing: the same number of queries with 1 shipped order, 1 wave and 1 exception
    as with 8 orders over 3 waves, 7 exceptions and 30 days of snapshots (KPI tiles included)."""
    stock(item, floor["pick"], 200)
    _ship_orders(boss, site, item, allocated, 1, short_every=1)
    client.force_login(boss)
    client.get(reverse("web:dashboard"))  # warm the session and content types
    with django_assert_max_num_queries(40) as small:
        assert client.get(reverse("web:dashboard")).status_code == 200
    _ship_orders(boss, site, item, allocated, 3)
    _ship_orders(boss, site, item, allocated, 4, short_every=1)
    for days in range(1, 31):
        store_snapshots(site, timezone.localdate() - timedelta(days=days))
    assert PickTask.objects.filter(status=PickTask.Status.SHORT).count() >= 7
    assert Shipment.objects.filter(status=Shipment.Status.SHIPPED).count() >= 3
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        assert client.get(reverse("web:dashboard")).status_code == 200
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("web:dashboard"), HTTP_HX_REQUEST="true").status_code == 200
    assert len(big.captured_queries) == len(small.captured_queries)


def test_the_site_kpi_page_draws_each_kpis_daily_trend_from_the_snapshots_of_the_period(client, make_user, site):
    import json

    client.force_login(make_user("supervisor", site))
    yesterday = timezone.localdate() - timedelta(days=1)
    url = reverse("web:kpi-site")
    empty = client.get(url, {"date_from": str(yesterday - timedelta(days=6)), "date_to": str(yesterday)})
    assert "no snapshots in the period" in empty.content.decode()
    for days in (1, 2, 4):
        store_snapshots(site, timezone.localdate() - timedelta(days=days))
    response = client.get(url, {"date_from": str(yesterday - timedelta(days=6)), "date_to": str(yesterday)})
    rows = {r["key"]: r for r in response.context["rows"]}
    key = next(iter(rows))
    chart = json.loads(rows[key]["trend_json"])
    assert rows[key]["trend_days"] == 3 and len(chart["x"]) == len(chart["y"]) == 3  # the days stored, no invented ones
    assert chart["x"] == sorted(chart["x"])
    page = response.content.decode()
    assert f'data-kpi-trend="trend-{key}"' in page and "uPlot.iife.min.js" in page
    shorter = client.get(url, {"date_from": str(yesterday), "date_to": str(yesterday)})
    days = {r["key"]: r["trend_days"] for r in shorter.context["rows"]}
    assert days[key] == 1 and max(days.values()) == 1  # only the period's snapshots
