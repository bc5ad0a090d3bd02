"""GET /api/v1/kpis/: visibility, the network for admins, periods, CSV, refusals."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from reporting.kpis import KPIS
from reporting.models import KpiSnapshot
from tests.api.helpers import problem

from .conftest import at

pytestmark = pytest.mark.django_db
URL = "/api/v1/kpis/"
PERIOD = {"date_from": "2026-01-10", "date_to": "2026-01-16"}


@pytest.fixture
def shipped(kb, site, other_site):
    kb.line(kb.order(site), 2, shipped=2, first=at(12))
    kb.line(kb.order(site), 2, shipped=1, first=at(12))
    kb.line(kb.order(other_site), 2, shipped=2, first=at(12))


def _kpi(body, key):
    return next(k for k in body["kpis"] if k["key"] == key)


def test_a_site_user_reads_every_kpi_of_their_site(api, supervisor, shipped):
    r = api(supervisor).get(URL, {"site": "DC1", **PERIOD})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["site"], body["date_from"], body["date_to"], body["time_zone"]) == (
        "DC1",
        "2026-01-10",
        "2026-01-16",
        "UTC",
    )
    assert [k["key"] for k in body["kpis"]] == list(KPIS)
    fill = _kpi(body, "order_fill_rate")
    assert (fill["value"], fill["numerator"], fill["denominator"], fill["unit"], fill["higher_is_better"]) == (
        50.0,
        1,
        2,
        "%",
        True,
    )
    assert _kpi(body, "order_cycle_time")["value"] is None
    assert "p90" in _kpi(body, "order_cycle_time")["breakdown"]


def test_another_sites_kpis_are_not_found(api, supervisor, other_site, shipped):
    before = KpiSnapshot.objects.count()
    problem(api(supervisor).get(URL, {"site": "DC2", **PERIOD}), 404)
    problem(api(supervisor).get(URL, {"site": "NOPE", **PERIOD}), 404)
    assert KpiSnapshot.objects.count() == before


def test_the_network_is_for_admins_only(api, supervisor, admin_user, make_user, site, shipped):
    body = problem(api(supervisor).get(URL, PERIOD), 403)
    assert "admin" in body["detail"]

    r = api(admin_user).get(URL, PERIOD)
    assert r.status_code == 200
    assert r.json()["site"] is None and r.json()["time_zone"] == "UTC"
    assert _kpi(r.json(), "order_fill_rate")["denominator"] == 3

    full = {k["key"]: k["breakdown"] for k in r.json()["kpis"]}
    assert any(full.values())  # the enterprise admin gets the breakdowns

    site_admin = make_user("admin", site)  # an admin of a site sees the network totals (region admins) ...
    r = api(site_admin).get(URL, PERIOD)
    assert r.status_code == 200 and _kpi(r.json(), "order_fill_rate")["denominator"] == 3
    # ... but not the breakdowns, which name other sites, their operators and their rules
    assert all(set(k["breakdown"]) == {"hidden"} for k in r.json()["kpis"])
    csv = b"".join(api(site_admin).get(URL, {**PERIOD, "format": "csv"}).streaming_content).decode()
    assert "by_site" not in csv and "by_operator" not in csv


def test_anonymous_is_refused(api, site):
    problem(api().get(URL, {"site": "DC1"}), 401)


@pytest.mark.parametrize(
    "params, field, code",
    [
        ({"date_from": "2026-13-01"}, "date_from", "invalid_date"),
        ({"date_to": "yesterday"}, "date_to", "invalid_date"),
        ({"date_from": "2026-01-16", "date_to": "2026-01-10"}, "date_from", "after_date_to"),
        ({"date_from": "2025-01-01", "date_to": "2026-01-10"}, "date_to", "period_too_long"),
    ],
)
def test_bad_periods_are_422(api, supervisor, params, field, code):
    body = problem(api(supervisor).get(URL, {"site": "DC1", **params}), 422)
    assert body["code"] == "invalid_period"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]


def test_default_period_is_the_30_days_up_to_yesterday(api, supervisor):
    from reporting.services import local_yesterday

    body = api(supervisor).get(URL, {"site": "DC1"}).json()
    end = local_yesterday(None)
    assert body["date_to"] == end.isoformat()
    assert (end - date.fromisoformat(body["date_from"])).days == 29


def test_csv_by_format_parameter_and_by_accept_header(api, supervisor, shipped):
    client = api(supervisor)
    for response in (
        client.get(URL, {"site": "DC1", "format": "csv", **PERIOD}),
        client.get(URL, {"site": "DC1", **PERIOD}, HTTP_ACCEPT="text/csv"),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "kpis-DC1-2026-01-10-2026-01-16.csv" in response["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [r["key"] for r in rows] == list(KPIS)
        fill = rows[0]
        assert (fill["site"], fill["value"], fill["numerator"], fill["denominator"]) == ("DC1", "50.0", "1", "2")


def test_csv_request_errors_are_still_problem_json(api, supervisor, other_site):
    client = api(supervisor)
    problem(client.get(URL, {"site": "DC1", "format": "csv", "date_from": "bad"}), 422)
    problem(client.get(URL, {"site": "DC2", "format": "csv"}), 404)
    problem(client.get(URL, {"site": "DC1", "date_from": "bad"}, HTTP_ACCEPT="text/csv"), 422)


def test_the_network_csv_names_no_site(api, admin_user, shipped):
    r = api(admin_user).get(URL, {"format": "csv", **PERIOD})
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0]["site"] == "" and rows[0]["denominator"] == "3"
    assert "kpis-network-" in r["Content-Disposition"]


def test_only_get_is_allowed(api, admin_user):
    problem(api(admin_user).post(URL, {}, format="json"), 405)
