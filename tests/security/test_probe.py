"""The security probe (tests/security/probe.py) can fail: on two sites with one user each it finds nothing, and it
finds the leak, the successful cross-site read and the server error planted in the locations API."""

from __future__ import annotations

import pytest

from inventory.api.views import LocationViewSet
from inventory.models import Location
from tests.factories import LocationFactory, ZoneFactory
from tests.security import probe

pytestmark = pytest.mark.django_db

LIST, DETAIL = "/api/v1/locations/", "/api/v1/locations/{id}/"


@pytest.fixture
def two_sites(site, other_site):
    for s in (site, other_site):
        zone = ZoneFactory(site=s, code=f"{s.code}-Z")
        for n in range(2):
            LocationFactory(site=s, zone=zone, code=f"{s.code}-A{n}")
    users = probe.make_users(
        [("probe-sup-1", "supervisor", site.code, True), ("probe-coord-2", "coordinator", other_site.code, False)]
    )
    return probe.Probe(users, probe.load_schema(), quick=True, log=lambda *a: None)


def test_the_probe_finds_nothing_when_sites_are_apart(two_sites):
    two_sites.probe_lists(only={LIST})
    two_sites.probe_details(only={DETAIL})
    report = two_sites.report

    assert report.list_rows_checked >= 4  # each user saw its own two locations
    assert report.cross_site_requests > 0 and report.forbidden_writes_tried > 0
    assert report.leaks == 0 and report.forbidden_writes_succeeded == 0 and report.server_errors == 0
    assert report.table_changes == []
    assert not report.failed()


def test_the_probe_finds_a_planted_leak_in_lists_and_details(two_sites, monkeypatch):
    monkeypatch.setattr(LocationViewSet, "get_queryset", lambda self: Location.objects.all())

    two_sites.probe_lists(only={LIST})
    listed = two_sites.report.leaks
    two_sites.probe_details(only={DETAIL})

    assert listed >= 4  # each user sees the other site's two locations
    assert two_sites.report.leaks > listed  # and GET of another site's location answers 200
    assert any("/api/v1/locations/" in s for s in two_sites.report.samples["leaks"])
    assert two_sites.report.failed()


def test_the_probe_counts_server_errors(two_sites, monkeypatch):
    def broken(self, request, *args, **kwargs):
        raise RuntimeError("planted")

    monkeypatch.setattr(LocationViewSet, "list", broken)
    two_sites.probe_lists(only={LIST})

    assert two_sites.report.server_errors >= 2
    assert "GET /api/v1/locations/" in two_sites.report.samples["5xx"][0]
    assert two_sites.report.failed()


def test_site_paths_and_row_sites(site, other_site):
    from inventory.models import CycleCountLine, StockMove
    from orders.models import Customer, TransferOrder

    assert probe.site_paths(Location) == ("site",)
    assert probe.site_paths(StockMove) == ("from_location__site", "to_location__site")
    assert probe.site_paths(CycleCountLine) == ("count__site",)
    assert set(probe.site_paths(TransferOrder)) == {"from_site", "to_site"}
    assert probe.site_paths(Customer) == ()  # shared master data
    keys = probe.site_lookup()
    assert probe.row_site_values({"site": site.code}, keys) == {site.pk}
    assert probe.row_site_values({"from_site": site.pk, "to_site": other_site.code}, keys) == {site.pk, other_site.pk}
    assert probe.row_site_values({"sku": "X"}, keys) is None
