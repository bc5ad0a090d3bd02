"""The hypercare command centre in a real Chromium: an operator at a pilot site scans a wrong location on the count
screen (htmx refuses it, and it is recorded), the roll-out lead opens the command centre and finds the site with its
exceptions, its KPI trend against the target (uPlot) and the refused scan under the operator; a new refusal shows
after the panels refresh (htmx)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from governance.catalog import ensure_exception_codes
from governance.models import ExceptionCase, ExceptionCode, Site
from inventory.services.counts import create_cycle_count
from reporting.models import KpiSnapshot
from warehouse.models import FloorEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_rollout_lead_follows_a_pilot_site_on_the_command_centre(
    open_page, log_in, make_user, site, supervisor, item, storage, stock
):
    Site.objects.filter(pk=site.pk).update(stage=Site.Stage.PILOT)
    stock(item, storage, 5)
    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    operator = make_user("operator", site, username="pilot-op")
    lead = make_user(username="rollout-lead", superuser=True)
    ensure_exception_codes()
    now = timezone.now()
    ExceptionCase.objects.create(
        site=site,
        code=ExceptionCode.objects.get(code="SHORT_PICK"),
        content_type=ContentType.objects.get_for_model(Site),
        object_id=site.pk,
        subject_label="PICK-1",
        severity="HIGH",
        owner_role="supervisor",
        opened_at=now - timedelta(days=2),
        due_at=now - timedelta(days=1),
    )
    for offset, value in enumerate([97, 91, 95, 99]):
        KpiSnapshot.objects.create(
            site=site,
            key="on_time_shipment",
            date=now.date() - timedelta(days=offset + 1),
            value=Decimal(value),
            numerator=value,
            denominator=100,
            unit="%",
        )

    page = open_page(width=600, height=1024)
    log_in(page, operator.username)
    page.goto(f"/scan/count/{count.pk}/")
    page.wait_for_selector("[data-testid=count-task]")
    page.keyboard.type("B-77")
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-location .bad")
    assert FloorEvent.objects.filter(site=site, user=operator, kind="REFUSED_SCAN", scanned="B-77").count() == 1

    errors: list[str] = []
    board = open_page(width=1400, height=1000)
    board.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(board, lead.username)
    board.goto("/hypercare/")
    board.wait_for_selector(f"[data-testid=hypercare-{site.code}]")
    assert board.inner_text(f"[data-testid=overdue-{site.code}]") == "1"
    assert "pilot-op" in board.inner_text(f"[data-testid=adoption-{site.code}]")
    assert "Cycle count" in board.inner_text(f"[data-testid=adoption-{site.code}]")
    kpis = board.inner_text(f"[data-testid=kpis-{site.code}]")
    assert "On-time shipment" in kpis and "≥ 95.0 %" in kpis and "95.5 %" in kpis  # 382 / 400 over 4 days
    board.wait_for_selector(f"[data-kpi-trend=hc-trend-{site.code}-on_time_shipment] canvas")  # uPlot drew it
    board.shot("command-centre")

    FloorEvent.objects.create(site=site, user=operator, kind="REFUSED_SCAN", process="PICK", field="location")
    # what the poll does every minute
    board.evaluate("htmx.ajax('GET', '/hypercare/', {target: '#hypercare', swap: 'innerHTML'})")
    board.wait_for_selector(f"[data-testid=adoption-{site.code}] >> text=Pick")
    board.wait_for_selector(f"[data-kpi-trend=hc-trend-{site.code}-on_time_shipment] canvas")  # drawn again
    board.shot("refreshed")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
