"""The site dashboard, prioritized and short (issue 15): the panels in the order a supervisor acts on them (the
exception queue with the cases past their SLA first, the floor's work queues, waves, then KPIs and job runs), each
panel its first rows with a link to its whole, filtered list; and the exception actions posted from it through a
form (a bounded note, an assignee who may own the case at its site) whose refusals say why and change nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import ExceptionCase
from governance.services import open_exception, resolve_exception
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import CountRequest, ReplenishmentTask
from web.exception_forms import NOTE_MAX
from web.selectors import PANEL_ROWS

pytestmark = pytest.mark.django_db


def _dashboard(client) -> str:
    return client.get(reverse("web:dashboard")).content.decode()


def _tile_order(page: str) -> list[str]:
    return re.findall(r'<div class="l">([^<]+)</div></a>', page[page.index('data-testid="queue-tiles"') :])


def _panel(page: str, name: str) -> str:
    start = page.index(f'data-panel="{name}"')
    return page[start : page.index("</section>", start)]


# --- order ------------------------------------------------------------------------------------------------------


def test_the_panels_come_in_the_order_a_supervisor_acts_on_them(client, boss):
    client.force_login(boss)
    page = _dashboard(client)
    order = ["exceptions", "picks", "putaway", "refills", "counts", "at-risk", "transfers", "waves"]
    at = [page.index(f'data-panel="{name}"') for name in order]
    assert at == sorted(at), order
    # then the KPIs and their trends, then the job runs
    assert at[-1] < page.index('data-testid="kpi-tiles"') < page.index('data-panel="jobs"')
    tiles = _tile_order(page)
    assert tiles[:5] == [
        "Exceptions past their SLA",
        "Critical exceptions",
        "High exceptions",
        "Medium exceptions",
        "Low exceptions",
    ]
    assert tiles.index("Short picks open") < tiles.index("Picks open (open waves)") < tiles.index("Putaway tasks open")
    assert tiles.index("Putaway tasks open") < tiles.index("Refills open") < tiles.index("Count lines to count")


def test_cases_past_their_sla_come_first_in_the_queue_and_have_a_tile(client, boss, site):
    now = timezone.now()
    # a low case opened three days ago is past its SLA (2 days); a critical one opened now is not
    open_exception(
        site=site,
        code="LATE_RECEIPT",
        subject=LocationFactory(site=site, code="D-LATE"),
        summary="late and overdue",
        now=now - timedelta(days=3),
    )
    open_exception(site=site, code="LEDGER_DRIFT", subject=ItemFactory(sku="DRIFT-1"), summary="fresh critical")
    client.force_login(boss)
    page = _dashboard(client)
    queue = _panel(page, "exceptions")
    assert queue.index("late and overdue") < queue.index("fresh critical")
    assert 'data-testid="tile-overdue"><span class="sev sev-CRITICAL">1</span>' in page
    assert '<a class="tile tile-link" href="/exceptions/?overdue=yes"' in page
    assert 'data-testid="exceptions-overdue">1 past their SLA</a>' in queue
    listed = client.get("/exceptions/?overdue=yes").content.decode()
    assert "late and overdue" in listed and "fresh critical" not in listed


# --- caps -------------------------------------------------------------------------------------------------------


def test_long_panels_show_their_first_rows_and_link_to_the_whole_filtered_list(client, boss, site, item, floor):
    for n in range(PANEL_ROWS + 2):
        ReplenishmentTask.objects.create(
            site=site, item=item, from_location=floor["bulk"], to_location=floor["pick"], quantity=n + 1
        )
        where = LocationFactory(site=site, code=f"C-{n:02d}")  # one open request per location
        CountRequest.objects.create(site=site, location=where, item=item, reason=f"asked {n}")
    client.force_login(boss)
    page = _dashboard(client)
    refills = _panel(page, "refills")
    table = refills[refills.index('data-testid="replenishment-panel"') : refills.index("</table>")]
    assert table.count("<tr>") == PANEL_ROWS + 1  # the header row and the first rows
    assert f"Replenishment tasks</a> ({PANEL_ROWS + 2})" in refills
    assert f'href="/replenishment/tasks/?status=OPEN" data-testid="replenishment-more">All {PANEL_ROWS + 2} open' in (
        refills
    )
    counts = _panel(page, "counts")
    assert sum(f"asked {n} " in counts for n in range(PANEL_ROWS + 2)) == PANEL_ROWS
    assert f"All {PANEL_ROWS + 2} open count requests" in counts
    tiles = dict(
        (label, number)
        for number, label in re.findall(r'<div class="n"[^>]*>(\d+)</div><div class="l">([^<]+)</div>', page)
    )
    assert tiles["Refills open"] == tiles["Count requests open"] == str(PANEL_ROWS + 2)  # whole counts, not the cap
    listed = client.get("/replenishment/tasks/?status=OPEN").content.decode()
    assert listed.count("B-01") >= PANEL_ROWS + 2


def test_a_short_panel_has_no_more_link(client, boss, site, item, floor):
    for n in range(PANEL_ROWS):
        ReplenishmentTask.objects.create(
            site=site, item=item, from_location=floor["bulk"], to_location=floor["pick"], quantity=n + 1
        )
    client.force_login(boss)
    refills = _panel(_dashboard(client), "refills")
    assert 'data-testid="replenishment-more"' not in refills
    assert f"Replenishment tasks</a> ({PANEL_ROWS})" in refills


# --- the exception actions' form --------------------------------------------------------------------------------


@pytest.fixture
def case(site):
    return open_exception(site=site, code="STOCKOUT", subject=ItemFactory(sku="GONE-9"), summary="none left")[0]


def _state(case):
    case.refresh_from_db()
    return (case.status, case.assignee_id, case.resolution_note, dict(case.details), case.history.count())


def _post(client, case, action, data, back=None):
    url = reverse("web:exception-action", args=[case.pk, action])
    return client.post(url, {**data, **({"back": back} if back else {})}, follow=True)


def _errors(response) -> list[str]:
    return re.findall(r'<li class="msg msg-error">([^<]*)</li>', response.content.decode())


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_a_note_longer_than_the_limit_is_refused_and_changes_nothing(client, boss, case, action):
    client.force_login(boss)
    before = _state(case)
    response = _post(client, case, action, {"note": "x" * (NOTE_MAX + 1)})
    assert response.status_code == 200
    assert _errors(response) == [
        f"A note is at most {NOTE_MAX} characters (this one has {NOTE_MAX + 1}): nothing was changed."
    ]
    assert _state(case) == before
    # at the limit it is kept
    _post(client, case, action, {"note": "y" * NOTE_MAX})
    case.refresh_from_db()
    kept = case.resolution_note if action == "resolve" else case.details["acknowledge_note"]
    assert kept == "y" * NOTE_MAX


def test_the_assignee_must_be_a_user_who_may_own_the_case_at_its_site(client, make_user, site, other_site, case):
    # a supervisor of both sites: a member of the other site only is a colleague, but may not own this site's case
    boss = make_user("supervisor", site, other_site, username="two-sites")
    there_only = make_user("planner", other_site, username="there-only")
    here = make_user("planner", site, username="here-planner")
    gone = make_user("planner", site, username="gone-planner")
    gone.is_active = False
    gone.save()
    client.force_login(boss)
    refusal = f"No such colleague at {site.code} to assign the exception to: nothing was changed."
    before = _state(case)
    for wanted in (there_only.pk, gone.pk, 999_999_999, "abc", "²", "9" * 19, " ", "1" * 101):
        response = _post(client, case, "assign", {"assignee": wanted}, back="/exceptions/")
        if wanted == " ":  # blank: unassign, which it already is
            assert not _errors(response)
            continue
        assert _errors(response) == [refusal], wanted
        assert "there-only" not in response.content.decode()
        assert _state(case)[:4] == before[:4]
    response = _post(client, case, "assign", {"assignee": here.pk}, back="/exceptions/")
    assert not _errors(response) and "Stockout on GONE-9 assigned to here-planner." in response.content.decode()
    assert ExceptionCase.objects.get(pk=case.pk).assignee == here
    _post(client, case, "assign", {"assignee": ""})
    assert ExceptionCase.objects.get(pk=case.pk).assignee is None


def test_a_service_refusal_is_shown_and_changes_nothing(client, boss, case, make_user, site):
    client.force_login(boss)
    resolve_exception(case=case, user=boss, note="done")
    before = _state(case)
    response = _post(client, case, "assign", {"assignee": make_user("planner", site).pk})
    assert _errors(response) == ["A resolved exception cannot be reassigned."]
    response = _post(client, case, "acknowledge", {})
    assert _errors(response) == ["This exception is already resolved."]
    assert _state(case) == before


def test_an_unknown_action_or_case_is_not_found(client, boss, case, outsider):
    client.force_login(boss)
    assert client.post(reverse("web:exception-action", args=[case.pk, "escalate"])).status_code == 404
    assert client.post(reverse("web:exception-action", args=[999_999, "acknowledge"])).status_code == 404
    client.force_login(outsider)
    assert client.post(reverse("web:exception-action", args=[case.pk, "acknowledge"]), {"note": "x"}).status_code == 404
    assert ExceptionCase.objects.get(pk=case.pk).status == "OPEN"


def test_the_bulk_note_field_does_not_submit_acknowledge_on_enter(client, boss, case):
    """Enter in a form's text field clicks its first submit button; the bulk form's first is a disabled one."""
    client.force_login(boss)
    page = client.get("/exceptions/").content.decode()
    form = page[page.index('id="bulk-exceptions"') : page.index("</form>", page.index('id="bulk-exceptions"'))]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert "disabled" in first_button and 'data-testid="bulk-enter-guard"' in first_button
    assert form.index("bulk-enter-guard") < form.index('data-testid="bulk-acknowledge"')
    # the server still needs an action: a post without one (what Enter would send) is refused, nothing done
    response = client.post(reverse("web:exception-bulk"), {"selected": [case.pk], "note": "typed"}, follow=True)
    assert _errors(response) and ExceptionCase.objects.get(pk=case.pk).status == "OPEN"
