"""Bulk actions on the exception list (issue 15): tick cases, then acknowledge, resolve or assign them all. Each case
goes through its governance service one by one: a refusal of one (already resolved, another site's, unknown) is
reported by name and the others are still done. Only exception handlers see the list and may post."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from governance.models import ExceptionCase
from governance.services import open_exception, resolve_exception
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

URL = "/exceptions/bulk/"


@pytest.fixture
def handler(make_user, site):
    return make_user("supervisor", site, username="sup-bulk")


@pytest.fixture
def cases(handler, site, other_site, item):
    """Three open cases at the site, one resolved there, one open at the other site."""
    out = {}
    for n in range(3):
        out[f"open{n}"], _ = open_exception(
            site=site, code="LATE_RECEIPT", subject=LocationFactory(site=site, code=f"D-{n}"), summary=f"late {n}"
        )
    out["done"], _ = open_exception(
        site=site, code="COUNT_VARIANCE", subject=LocationFactory(site=site, code="B-9"), summary="counted"
    )
    resolve_exception(case=out["done"], user=handler, note="recounted")
    out["theirs"], _ = open_exception(site=other_site, code="STOCKOUT", subject=item, summary="theirs")
    return out


def statuses():
    return dict(ExceptionCase.objects.values_list("pk", "status"))


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_list_has_a_checkbox_per_row_and_the_bulk_buttons(client, handler, cases):
    client.force_login(handler)
    body = client.get(reverse("web:exception-list")).content.decode()
    assert 'data-testid="bulk-acknowledge"' in body and "Resolve selected" in body and "Assign selected to" in body
    assert f'name="selected" value="{cases["open0"].pk}" form="bulk-exceptions"' in body


def test_bulk_acknowledge_does_every_case_and_reports_the_refused_ones(client, handler, cases):
    client.force_login(handler)
    picked = [cases["open0"].pk, cases["open1"].pk, cases["done"].pk, cases["theirs"].pk]
    response = client.post(URL, {"action": "acknowledge", "selected": picked, "back": "/exceptions/"})
    assert response.status_code == 302 and response["Location"] == "/exceptions/"
    after = statuses()
    assert after[cases["open0"].pk] == after[cases["open1"].pk] == "ACKNOWLEDGED"
    assert after[cases["open2"].pk] == "OPEN"  # not ticked
    assert after[cases["done"].pk] == "RESOLVED" and after[cases["theirs"].pk] == "OPEN"
    said = " ".join(texts(response))
    assert "2 exceptions acknowledged." in said
    assert "2 not acknowledged" in said and "already resolved" in said
    assert f"#{cases['theirs'].pk}: no such exception at" in said and "STOCKOUT" not in said
    assert ExceptionCase.objects.get(pk=cases["open0"].pk).acknowledged_by == handler


def test_bulk_resolve_needs_a_note_and_then_resolves_each(client, handler, cases):
    client.force_login(handler)
    picked = [cases["open0"].pk, cases["open2"].pk]
    before = statuses()
    response = client.post(URL, {"action": "resolve", "selected": picked})
    assert "Say how the selected exceptions were resolved." in texts(response) and statuses() == before
    client.post(URL, {"action": "resolve", "selected": picked, "note": "supplier called"})
    resolved = ExceptionCase.objects.filter(pk__in=picked)
    assert {c.status for c in resolved} == {"RESOLVED"} and {c.resolution_note for c in resolved} == {"supplier called"}


def test_bulk_assign_to_a_colleague(client, handler, make_user, site, cases):
    colleague = make_user("coordinator", site, username="coord-bulk")
    client.force_login(handler)
    picked = [cases["open0"].pk, cases["open1"].pk]
    response = client.post(URL, {"action": "assign", "selected": picked, "assignee": str(colleague.pk)})
    assert "2 exceptions assigned to coord-bulk." in texts(response)
    assert set(ExceptionCase.objects.filter(pk__in=picked).values_list("assignee", flat=True)) == {colleague.pk}


def test_bulk_assign_to_a_stranger_changes_nothing(client, handler, make_user, other_site, cases):
    stranger = make_user("supervisor", other_site, username="far-away")
    client.force_login(handler)
    before = list(ExceptionCase.objects.order_by("pk").values_list("pk", "assignee"))
    response = client.post(URL, {"action": "assign", "selected": [cases["open0"].pk], "assignee": str(stranger.pk)})
    assert "No such colleague to assign to: nothing was changed." in texts(response)
    assert list(ExceptionCase.objects.order_by("pk").values_list("pk", "assignee")) == before


@pytest.mark.parametrize(
    "data, said",
    [
        ({"action": "acknowledge"}, "Select the exceptions first (tick their boxes)."),
        ({"action": "burn", "selected": ["1"]}, "Select a valid choice."),
        ({"action": "acknowledge", "selected": ["1x"]}, "A selected row is not a row of the list."),
    ],
)
def test_bad_bulk_posts_change_nothing(client, handler, cases, data, said):
    client.force_login(handler)
    before = statuses()
    response = client.post(URL, data)
    assert any(said in t for t in texts(response)) and statuses() == before


def test_a_user_who_does_not_handle_exceptions_may_not_post(client, make_user, site, cases):
    auditor = make_user("auditor", site, username="auditor-bulk")
    client.force_login(auditor)
    before = statuses()
    assert client.get(reverse("web:exception-list")).status_code == 403
    assert client.post(URL, {"action": "acknowledge", "selected": [cases["open0"].pk]}).status_code == 403
    assert statuses() == before


def test_another_sites_handler_changes_nothing_here(client, make_user, other_site, cases):
    theirs = make_user("supervisor", other_site, username="sup-other")
    client.force_login(theirs)
    before = statuses()
    response = client.post(URL, {"action": "acknowledge", "selected": [cases["open0"].pk]})
    assert "1 not acknowledged" in " ".join(texts(response))
    assert statuses() == before
