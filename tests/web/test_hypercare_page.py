"""The hypercare command centre (issue 13): PILOT and in-hypercare sites only, the user's sites only, the
figures of each board, the htmx refresh, and a number of queries that does not grow with the sites."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.catalog import ensure_exception_codes
from governance.models import ExceptionCase, ExceptionCode, Site, SiteRuleValue
from reporting.hypercare import command_centre
from reporting.models import KpiSnapshot
from tests.factories import SiteFactory
from warehouse.models import FloorEvent

pytestmark = pytest.mark.django_db
S = Site.Stage
_seq = itertools.count(1)


def make_site(code, stage, hypercare_days=None):
    site = SiteFactory(code=code, name=f"Site {code}", stage=stage)
    if hypercare_days is not None:
        site.hypercare_ends_on = timezone.localdate() + timedelta(days=hypercare_days)
        site.save(update_fields=["hypercare_ends_on"])
    return site


def case(site, code="SHORT_PICK", *, opened_ago, due_in, resolved_ago=None, label="x"):
    ensure_exception_codes()
    now = timezone.now()
    return ExceptionCase.objects.create(
        site=site,
        code=ExceptionCode.objects.get(code=code),
        content_type=ContentType.objects.get_for_model(Site),
        object_id=next(_seq),
        subject_label=label,
        summary=f"{label} summary",
        severity="MEDIUM",
        owner_role="supervisor",
        opened_at=now - opened_ago,
        due_at=now + due_in,
        resolved_at=now - resolved_ago if resolved_ago is not None else None,
        status=ExceptionCase.Status.RESOLVED if resolved_ago is not None else ExceptionCase.Status.OPEN,
    )


@pytest.fixture
def rollout(db):
    return {
        "pilot": make_site("PIL1", S.PILOT),
        "hyper": make_site("HYP1", S.LIVE, hypercare_days=10),
        "ended": make_site("END1", S.LIVE, hypercare_days=-1),
        "live": SiteFactory(code="OLD1", stage=S.LIVE),
        "planned": make_site("PLN1", S.PLANNED),
        "cutover": make_site("CUT1", S.CUTOVER),
    }


def test_the_page_lists_pilot_and_hypercare_sites_only(client, admin_user, rollout):
    client.force_login(admin_user)
    response = client.get(reverse("web:hypercare"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="hypercare-PIL1"' in page and 'data-testid="hypercare-HYP1"' in page
    for code in ("END1", "OLD1", "PLN1", "CUT1"):
        assert f'data-testid="hypercare-{code}"' not in page, code
    assert "Live · hypercare" in page and "Pilot" in page
    assert f'href="{reverse("web:hypercare")}"' in page  # in the menu
    assert 'hx-trigger="every 60s"' in page


def test_a_user_sees_only_the_rollout_sites_they_have_a_role_at(client, make_user, rollout):
    user = make_user("supervisor", rollout["pilot"], rollout["live"])
    client.force_login(user)
    page = client.get(reverse("web:hypercare")).content.decode()
    assert 'data-testid="hypercare-PIL1"' in page and 'data-testid="hypercare-HYP1"' not in page
    # a role at sites none of which is in pilot or hypercare: the page says so
    client.force_login(make_user("operator", rollout["planned"]))
    response = client.get(reverse("web:hypercare"))
    assert response.status_code == 200 and 'data-testid="no-rollout-sites"' in response.content.decode()


def test_no_site_at_all_is_a_403_and_anonymous_goes_to_the_login(client, make_user, rollout):
    assert client.get(reverse("web:hypercare")).status_code == 302
    client.force_login(make_user())
    assert client.get(reverse("web:hypercare")).status_code == 403


def test_a_board_shows_exception_flow_backlog_sla_kpis_adoption_and_orders_at_risk(admin_user, make_user, rollout):
    site = rollout["pilot"]
    day = timedelta(days=1)
    case(site, opened_ago=timedelta(hours=2), due_in=timedelta(hours=4))  # <1d, in SLA
    case(site, opened_ago=2 * day, due_in=-day)  # 1-2d, overdue
    case(site, opened_ago=10 * day, due_in=-9 * day)  # 7d+, overdue
    case(site, opened_ago=3 * day, due_in=day, resolved_ago=timedelta(hours=1))  # resolved today
    case(site, opened_ago=20 * day, due_in=-19 * day, resolved_ago=20 * day)  # before the 14 days
    case(site, "LATE_SHIPMENT_RISK", opened_ago=timedelta(hours=1), due_in=timedelta(hours=3), label="SO-000042")
    case(rollout["hyper"], opened_ago=timedelta(hours=1), due_in=day)
    op = make_user("operator", site, username="op-pilot")
    for kind, n in ((FloorEvent.Kind.REFUSED_SCAN, 3), (FloorEvent.Kind.OVERRIDE, 1)):
        for _ in range(n):
            FloorEvent.objects.create(site=site, user=op, kind=kind, process="PICK", field="location")
    FloorEvent.objects.create(
        site=site, user=op, kind=FloorEvent.Kind.REFUSED_SCAN, process="PICK", created_at=timezone.now() - 9 * day
    )  # before the 7 days
    yesterday = timezone.now().date() - day
    for offset, (num, den) in enumerate([(90, 100), (99, 100)]):
        KpiSnapshot.objects.create(
            site=site,
            key="on_time_shipment",
            date=yesterday - offset * day,
            value=Decimal(100 * num / den),
            numerator=num,
            denominator=den,
            unit="%",
        )
    SiteRuleValue.objects.create(key="kpi.target.on_time_shipment", site=site, value="96", reason="pilot")

    boards = {b.site.code: b for b in command_centre(admin_user)}
    b = boards["PIL1"]
    assert (b.open_cases, b.overdue, b.at_risk_total) == (4, 2, 1)
    assert dict(b.backlog) == {"<1d": 2, "1-2d": 1, "3-6d": 0, "7d+": 1}
    assert len(b.days) == 14 and b.days[-1]["date"] == timezone.localdate()
    assert (b.opened_total, b.resolved_total) == (5, 1)  # the 20-day-old case is outside the 14 days
    assert b.days[-1]["resolved"] == 1
    kpi = {k.key: k for k in b.kpis}
    on_time = kpi["on_time_shipment"]
    assert (on_time.value, on_time.numerator, on_time.denominator) == (94.5, 189, 200)
    assert (on_time.target, on_time.status, len(on_time.trend)) == (Decimal("96"), "off", 2)
    assert kpi["scan_compliance"].status == "none" and kpi["scan_compliance"].target == Decimal("98")
    assert b.adoption == [{"operator": "op-pilot", "process": "Pick", "refused": 3, "skipped": 0, "overrides": 1}]
    assert [r["subject_label"] for r in b.at_risk] == ["SO-000042"]
    assert boards["HYP1"].open_cases == 1 and boards["HYP1"].adoption == []


def test_the_htmx_refresh_returns_the_panels_only(client, admin_user, rollout):
    client.force_login(admin_user)
    response = client.get(reverse("web:hypercare"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and 'data-testid="hypercare-PIL1"' in body


def test_the_number_of_queries_does_not_grow_with_the_sites(client, admin_user, rollout):
    client.force_login(admin_user)
    url = reverse("web:hypercare")
    client.get(url)
    with CaptureQueriesContext(connection) as two:
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    for n in range(4):
        site = make_site(f"NEW{n}", S.PILOT)
        case(site, opened_ago=timedelta(hours=3), due_in=timedelta(hours=-1))
        FloorEvent.objects.create(site=site, kind=FloorEvent.Kind.REFUSED_SCAN, process="COUNT")
    with CaptureQueriesContext(connection) as six:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.content.decode().count('class="card hypercare-site"') == 6
    assert len(six.captured_queries) == len(two.captured_queries)
