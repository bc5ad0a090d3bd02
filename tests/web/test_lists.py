"""The generic list helper (web/lists.py), met through the waves page: filters, sorting,
pagination, CSV export of the whole filtered list, and what it does with bad or hostile input."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from warehouse.models import Wave

pytestmark = pytest.mark.django_db


@pytest.fixture
def waves(site, other_site):
    made = [
        Wave.objects.create(site=site, number=f"WV-{n:06d}", carrier=carrier, status=status)
        for n, carrier, status in [
            (1, "UPS", Wave.Status.PLANNED),
            (2, "DHL", Wave.Status.RELEASED),
            (3, "=HYPERLINK(1)", Wave.Status.PLANNED),
        ]
    ]
    Wave.objects.create(site=other_site, number="WV-000099", carrier="UPS")
    return made


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_filters_sort_and_csv_of_the_filtered_list(client, boss, waves):
    client.force_login(boss)
    url = reverse("web:wave-list")
    page = client.get(url, {"status": "PLANNED", "sort": "number"}).content.decode()
    assert page.index("WV-000001") < page.index("WV-000003")
    assert "WV-000002" not in page and "WV-000099" not in page
    page = client.get(url, {"status": "PLANNED", "sort": "-number"}).content.decode()
    assert page.index("WV-000003") < page.index("WV-000001")

    response = client.get(url, {"status": "PLANNED", "sort": "number", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:2] == ["Wave", "Status"]
    assert [r[0] for r in rows[1:]] == ["WV-000001", "WV-000003"]
    # a cell a spreadsheet would run as a formula is exported as text
    assert rows[2][5] == "'=HYPERLINK(1)"


def test_unknown_sort_filter_values_and_bad_dates_fall_back_instead_of_failing(client, boss, waves):
    client.force_login(boss)
    response = client.get(
        reverse("web:wave-list"), {"sort": "password", "status": "BOGUS", "from": "31/31/2020", "page": "x"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert all(w.number in page for w in waves)


def test_pages_of_25(client, boss, site):
    Wave.objects.bulk_create(Wave(site=site, number=f"WV-{n:06d}") for n in range(30))
    client.force_login(boss)
    first = client.get(reverse("web:wave-list"), {"sort": "number"}).content.decode()
    second = client.get(reverse("web:wave-list"), {"sort": "number", "page": 2}).content.decode()
    assert "WV-000024" in first and "WV-000025" not in first
    assert "WV-000025" in second and "Page 2 of 2" in second
    rows = _csv(client.get(reverse("web:wave-list"), {"format": "csv"}))
    assert len(rows) == 31
