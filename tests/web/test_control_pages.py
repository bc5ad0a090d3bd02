"""Supervisor pages for inventory control: approvals, cycle counts (supervisor pages and the blind count entry scan
screen), count requests, replenishment tasks and suggestions, job runs. Permissions for every page, site
isolation (404), each action through its service with its message, refusals in the service's words that change
nothing, CSV export of each list, and a count screen that never shows the expected quantity."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from governance.models import ApprovalRequest, JobRun, SiteMembership
from inventory.models import Adjustment, CycleCount, CycleCountLine, StockMove, StockQuant
from inventory.services import adjust_stock
from inventory.services.counts import create_cycle_count
from orders.models import PurchaseOrder, ReplenishmentRun, ReplenishmentSuggestion
from orders.services import create_supplier
from orders.services.replenishment import create_pick_face_policy, create_policy, execute_run
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import CountRequest, ReplenishmentTask
from warehouse.services.replenishment import sweep_pick_faces

pytestmark = pytest.mark.django_db

LISTS = [
    "web:approval-list",
    "web:approval-decided",
    "web:count-list",
    "web:count-requests",
    "web:replenishment-tasks",
    "web:suggestion-list",
    "web:job-list",
]
PAGES = [*LISTS, "web:scan-count"]
EXPECTED = 7919  # the system quantity of the blind count: no page a counter sees may contain it


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _text(response) -> str:
    """The page without tokens (a CSRF token could contain any digits)."""
    return re.sub(r"[A-Za-z0-9]{32,}", "", response.content.decode())


def _table(response) -> str:
    """The rows of the list, without the filter form (whose choices name every kind)."""
    return response.content.decode().split("<tbody>")[1]


def _stock_state():
    return (
        list(StockQuant.objects.order_by("pk").values_list("pk", "status", "quantity", "reserved")),
        StockMove.objects.count(),
        list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status")),
        list(CycleCountLine.objects.order_by("pk").values_list("pk", "status", "first_quantity", "recount_quantity")),
        list(ReplenishmentTask.objects.order_by("pk").values_list("pk", "status")),
        list(ReplenishmentSuggestion.objects.order_by("pk").values_list("pk", "status")),
        PurchaseOrder.objects.count(),
    )


@pytest.fixture
def counter(make_user, site):
    return make_user("operator", site, username="counter1")


@pytest.fixture
def counter2(make_user, site):
    return make_user("operator", site, username="counter2")


@pytest.fixture
def planner(make_user, site):
    return make_user("planner", site, username="planner1")


@pytest.fixture
def count(site, supervisor, item, storage, stock):
    """A count of A-01-01 where the system holds EXPECTED units of WIDGET."""
    stock(item, storage, EXPECTED)
    return create_cycle_count(user=supervisor, site=site, locations=[storage])


@pytest.fixture
def pending_adjustment(boss, item, storage, stock):
    stock(item, storage, 10)
    adjustment = adjust_stock(
        user=boss, location=storage, item=item, quantity_delta=60, reason_code="FOUND", note="found a pallet"
    )
    assert adjustment.status == Adjustment.Status.PENDING_APPROVAL
    return adjustment


@pytest.fixture
def suggestion(site):
    item = ItemFactory(sku="GIZMO", standard_cost="4.00")
    supplier = create_supplier(user=None, code="SUP9", name="Supplier Nine", lead_time_days=4)
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    run = ReplenishmentRun.objects.create(site=site)
    execute_run(run_id=run.pk)
    return ReplenishmentSuggestion.objects.get()


@pytest.fixture
def refill(site, item, stock):
    face = LocationFactory(site=site, code="P-09", kind="PICK", capacity=100)
    bulk = LocationFactory(site=site, code="B-09", kind="STORAGE")
    create_pick_face_policy(user=None, location=face, item=item, min_quantity=5, max_quantity=40)
    stock(item, face, 5)
    stock(item, bulk, 100)
    sweep_pick_faces()
    return ReplenishmentTask.objects.get()


# --- permissions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_go_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


@pytest.mark.parametrize(
    "role, allowed",
    [
        ("supervisor", PAGES),
        ("operator", ["web:scan-count"]),
        ("planner", ["web:suggestion-list", "web:job-list"]),
        ("coordinator", []),
        ("auditor", []),
    ],
)
def test_pages_and_menu_follow_the_role(client, make_user, site, role, allowed):
    client.force_login(make_user(role, site))
    menu = client.get(reverse("web:order-list")).content.decode()
    menu_names = {"web:approval-list", "web:count-list", "web:replenishment-tasks", "web:suggestion-list"}
    menu_names |= {"web:job-list", "web:scan-count"}
    for name in PAGES:
        response = client.get(reverse(name))
        if name in allowed:
            assert response.status_code == 200, name
        else:
            assert response.status_code == 403 and b"does not allow" in response.content, name
        if name in menu_names:
            assert (f'href="{reverse(name)}"' in menu) == (name in allowed), name


def test_another_sites_objects_are_404_and_nothing_changes(
    client, outsider, count, pending_adjustment, suggestion, refill
):
    JobRun.objects.create(kind="secret_job", site=count.site)
    approval = ApprovalRequest.objects.get()
    line = count.lines.get()
    before = _stock_state()
    client.force_login(outsider)
    for url in [
        reverse("web:count-detail", args=[count.pk]),
        reverse("web:scan-count-task", args=[count.pk]),
        reverse("web:scan-count-check", args=[count.pk]) + "?field=location&location=A-01-01",
    ]:
        assert client.get(url).status_code == 404, url
    posts = [
        (reverse("web:approval-decide", args=[approval.pk, "approve"]), {}),
        (reverse("web:count-decide", args=[count.pk, "approve"]), {}),
        (reverse("web:scan-count-task", args=[count.pk]), {"location": "A-01-01", "item": "WIDGET", "quantity": "1"}),
        (reverse("web:replenishment-task-cancel", args=[refill.pk]), {}),
        (reverse("web:suggestion-decide", args=[suggestion.pk, "accept"]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    for name in LISTS:
        page = client.get(reverse(name)).content.decode()
        assert count.number not in page and "secret_job" not in page, name
        assert "WIDGET" not in page and "GIZMO" not in page and f"REPL-{refill.pk}" not in page, name
    assert line.pk and _stock_state() == before


# --- approvals ------------------------------------------------------------------------------------------------


def test_an_approval_is_decided_by_another_approver_with_a_note(
    client, boss, supervisor, pending_adjustment, item, storage
):
    approval = ApprovalRequest.objects.get()
    client.force_login(boss)
    page = client.get(reverse("web:approval-list")).content.decode()
    assert "ADJUSTMENT" in page and escape(approval.reason) in page and "your request" in page
    before = _stock_state()
    response = client.post(reverse("web:approval-decide", args=[approval.pk, "approve"]), {"note": "x"}, follow=True)
    assert "You cannot decide a request you made yourself; another approver must." in response.content.decode()
    assert _stock_state() == before

    client.force_login(supervisor)
    response = client.post(
        reverse("web:approval-decide", args=[approval.pk, "approve"]), {"note": "checked the shelf"}, follow=True
    )
    assert f"Stock adjustment {approval.subject_label} approved." in response.content.decode()
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by, approval.decision_note) == (
        "APPROVED",
        supervisor,
        "checked the shelf",
    )
    assert StockQuant.objects.get(item=item, location=storage).quantity == 70
    response = client.post(reverse("web:approval-decide", args=[approval.pk, "reject"]), follow=True)
    assert "This request is already approved." in response.content.decode()

    assert approval.subject_label not in client.get(reverse("web:approval-list")).content.decode()
    decided = client.get(reverse("web:approval-decided")).content.decode()
    assert approval.subject_label in decided and "checked the shelf" in decided
    rows = _csv(client.get(reverse("web:approval-decided"), {"kind": "ADJUSTMENT", "format": "csv"}))
    assert rows[0][0] == "Kind" and rows[1][0] == "Stock adjustment" and "checked the shelf" in rows[1]
    assert len(_csv(client.get(reverse("web:approval-list"), {"format": "csv"}))) == 1


def test_rejecting_an_adjustment_changes_no_stock(client, supervisor, pending_adjustment, item, storage):
    approval = ApprovalRequest.objects.get()
    client.force_login(supervisor)
    rows = _csv(client.get(reverse("web:approval-list"), {"format": "csv"}))
    assert [r[0] for r in rows[1:]] == ["Stock adjustment"]
    response = client.post(reverse("web:approval-decide", args=[approval.pk, "reject"]), {"note": "no"}, follow=True)
    assert "rejected." in response.content.decode()
    assert StockQuant.objects.get(item=item, location=storage).quantity == 10
    assert client.post(reverse("web:approval-decide", args=[approval.pk, "maybe"])).status_code == 404


# --- counts: the blind scan screen, then the supervisor ------------------------------------------------------


def test_count_scan_screen_gives_immediate_feedback_and_never_shows_the_expected_quantity(client, counter, count):
    client.force_login(counter)
    seen = []
    listing = client.get(reverse("web:scan-count"))
    seen.append(listing)
    assert count.number in listing.content.decode()
    url = reverse("web:scan-count-task", args=[count.pk])
    page = client.get(url)
    seen.append(page)
    assert "A-01-01" in page.content.decode() and 'inputmode="numeric"' in page.content.decode()
    check = reverse("web:scan-count-check", args=[count.pk])
    answers = {
        ("location", "B-77"): f"B-77 is not on {count.number}; locations to count: A-01-01.",
        ("location", "A-01-01"): "Location A-01-01 ✓ — 1 item(s) to count here.",
        ("quantity", "abc"): "Enter the counted quantity as a whole number (0 when the location is empty).",
        ("quantity", "7000"): "7000 ✓",
    }
    for (field, value), message in answers.items():
        response = client.get(check, {"field": field, field: value})
        seen.append(response)
        assert escape(message) in response.content.decode(), message
    response = client.get(check, {"field": "item", "item": "NOPE", "location": "A-01-01"})
    assert "No item NOPE." in response.content.decode() and 'role="alert"' in response.content.decode()
    response = client.get(check, {"field": "item", "item": "WIDGET", "location": "A-01-01"})
    assert "Item WIDGET ✓" in response.content.decode()
    seen.append(response)

    before = _stock_state()
    for data, message in [
        ({"location": "B-77", "item": "WIDGET", "quantity": "5"}, "B-77 is not on"),
        ({"location": "A-01-01", "item": "", "quantity": "5"}, "Scan the item label."),
        ({"location": "A-01-01", "item": "WIDGET", "quantity": "-3"}, "Enter the counted quantity as a whole number"),
        ({"location": "A-01-01", "item": "NOPE", "quantity": "5"}, "No item &#x27;NOPE&#x27;."),
    ]:
        response = client.post(url, data)
        seen.append(response)
        assert response.status_code == 400 and message in response.content.decode(), message
    assert _stock_state() == before

    # beyond tolerance: a recount by another counter; the same counter cannot recount it
    response = client.post(url, {"location": "A-01-01", "item": "WIDGET", "quantity": "7000"}, follow=True)
    seen.append(response)
    assert "A-01-01 WIDGET: 7000 recorded; another counter must recount it." in response.content.decode()
    assert count.lines.get().status == CycleCountLine.Status.RECOUNT
    before = _stock_state()
    response = client.post(url, {"location": "A-01-01", "item": "WIDGET", "quantity": "7001"})
    seen.append(response)
    assert response.status_code == 400
    assert "This line needs a recount by another counter than the first one." in response.content.decode()
    assert _stock_state() == before
    for response in seen:
        assert str(EXPECTED) not in _text(response), response.request["PATH_INFO"]


def test_count_variance_waits_for_an_approver_who_did_not_count(
    client, counter, counter2, boss, supervisor, count, item, storage
):
    url = reverse("web:scan-count-task", args=[count.pk])
    client.force_login(counter)
    client.post(url, {"location": "A-01-01", "item": "WIDGET", "quantity": "7000"})
    client.force_login(counter2)
    response = client.post(url, {"location": "A-01-01", "item": "WIDGET", "quantity": "7000"}, follow=True)
    page = _text(response)
    assert "A-01-01 WIDGET: 7000 counted." in page and f"{count.number}: nothing left to count." in page
    assert str(EXPECTED) not in page
    count.refresh_from_db()
    assert count.status == CycleCount.Status.PENDING_APPROVAL

    # counters do not reach the supervisor page; supervisors see the variance there
    assert client.get(reverse("web:count-detail", args=[count.pk])).status_code == 403
    client.force_login(boss)
    page = client.get(reverse("web:count-list"), {"state": "PENDING_APPROVAL"}).content.decode()
    assert count.number in page
    rows = _csv(client.get(reverse("web:count-list"), {"state": "PENDING_APPROVAL", "format": "csv"}))
    assert [r[0] for r in rows[1:]] == [count.number]
    assert client.get(reverse("web:count-list"), {"state": "DUE"}).content.decode().count(count.number) == 0
    page = client.get(reverse("web:count-detail", args=[count.pk])).content.decode()
    assert str(EXPECTED) in page and "-919" in page and "Approve and post" in page
    approvals = client.get(reverse("web:approval-list")).content.decode()
    assert reverse("web:count-detail", args=[count.pk]) in approvals

    # someone who counted a line cannot decide it: the service's words, nothing posted
    SiteMembership.objects.get_or_create(user=counter, site=count.site, role="supervisor")
    before = _stock_state()
    client.force_login(counter)
    response = client.post(reverse("web:count-decide", args=[count.pk, "approve"]), follow=True)
    assert (
        "You counted a line of this count; an approver who did not count must decide it." in response.content.decode()
    )
    assert _stock_state() == before

    client.force_login(supervisor)
    response = client.post(reverse("web:count-decide", args=[count.pk, "approve"]), {"note": "ok"}, follow=True)
    assert f"{count.number}: variances approved and posted." in response.content.decode()
    count.refresh_from_db()
    assert count.status == CycleCount.Status.COMPLETED
    assert StockQuant.objects.get(item=item, location=storage).quantity == 7000
    response = client.post(reverse("web:count-decide", args=[count.pk, "reject"]), follow=True)
    assert escape(f"{count.number} is completed; nothing to decide.") in response.content.decode()


def test_supervisor_creates_a_count_and_refusals_use_the_services_words(client, boss, site, item, storage, stock):
    stock(item, storage, 5)
    client.force_login(boss)
    response = client.post(reverse("web:count-new"), {"locations": "A-01-01 NOPE"}, follow=True)
    assert "DC1 has no location NOPE." in response.content.decode()
    response = client.post(reverse("web:count-new"), {"locations": ""}, follow=True)
    assert "Name at least one location to count." in response.content.decode()
    assert not CycleCount.objects.exists()
    response = client.post(reverse("web:count-new"), {"locations": "A-01-01", "note": "spot"}, follow=True)
    created = CycleCount.objects.get()
    assert f"{created.number} created: 1 line(s) to count." in response.content.decode()
    response = client.post(reverse("web:count-new"), {"locations": "A-01-01"}, follow=True)
    assert "A-01-01 already wait(s) on another count" in response.content.decode()
    assert CycleCount.objects.count() == 1
    page = client.get(reverse("web:count-detail", args=[created.pk])).content.decode()
    assert "To count" in page and reverse("web:scan-count-task", args=[created.pk]) in page


def test_count_requests_list_filters_and_exports(client, boss, site, storage, storage2, item):
    CountRequest.objects.create(site=site, location=storage, item=item, reason="Short pick PICK-1")
    CountRequest.objects.create(site=site, location=storage2, reason="Asked", status=CountRequest.Status.DONE)
    client.force_login(boss)
    url = reverse("web:count-requests")
    page = client.get(url, {"status": "OPEN"}).content.decode()
    assert "Short pick PICK-1" in page and "Asked" not in page
    rows = _csv(client.get(url, {"format": "csv"}))
    assert rows[0][:3] == ["Location", "Item", "Reason"] and len(rows) == 3
    dashboard = client.get(reverse("web:dashboard")).content.decode()
    assert f"{url}?status=OPEN" in dashboard and reverse("web:receipt-list") in dashboard


# --- replenishment and job runs -------------------------------------------------------------------------------


def test_replenishment_tasks_show_their_numbers_and_are_cancelled_through_the_service(client, boss, refill):
    client.force_login(boss)
    url = reverse("web:replenishment-tasks")
    page = client.get(url, {"status": "OPEN"}).content.decode()
    assert f"REPL-{refill.pk}" in page and "min quantity 5" in page and "refill 35" in page
    rows = _csv(client.get(url, {"format": "csv"}))
    assert rows[0][:2] == ["Task", "Item"] and rows[1][0] == f"REPL-{refill.pk}"
    response = client.post(reverse("web:replenishment-task-cancel", args=[refill.pk]), follow=True)
    assert f"REPL-{refill.pk} cancelled" in response.content.decode()
    refill.refresh_from_db()
    assert refill.status == ReplenishmentTask.Status.CANCELLED
    before = _stock_state()
    response = client.post(reverse("web:replenishment-task-cancel", args=[refill.pk]), follow=True)
    assert f"REPL-{refill.pk} is cancelled; only an open task is cancelled." in response.content.decode()
    assert _stock_state() == before


def test_suggestions_are_accepted_or_dismissed_with_the_reason_numbers_shown(client, planner, operator, suggestion):
    client.force_login(planner)
    url = reverse("web:suggestion-list")
    page = client.get(url, {"status": "OPEN"}).content.decode()
    assert "order up to 50" in page and "Supplier / from site" in page and "SUP9" in page
    rows = _csv(client.get(url, {"format": "csv"}))
    assert rows[1][1:5] == ["GIZMO", "Purchase", "SUP9", "50"] and "order up to 50" in rows[1][6]
    response = client.post(
        reverse("web:suggestion-decide", args=[suggestion.pk, "accept"]), {"note": "go"}, follow=True
    )
    po = PurchaseOrder.objects.get()
    assert f"Suggestion {suggestion.pk} (GIZMO × 50) accepted: {po.number}." in response.content.decode()
    before = _stock_state()
    response = client.post(reverse("web:suggestion-decide", args=[suggestion.pk, "dismiss"]), follow=True)
    assert (
        escape(f"Suggestion {suggestion.pk} is accepted; only an open one is dismissed.") in response.content.decode()
    )
    assert _stock_state() == before
    client.force_login(operator)
    assert client.post(reverse("web:suggestion-decide", args=[suggestion.pk, "accept"])).status_code == 403


def test_dismissing_a_suggestion(client, planner, suggestion):
    client.force_login(planner)
    response = client.post(
        reverse("web:suggestion-decide", args=[suggestion.pk, "dismiss"]), {"note": "seasonal"}, follow=True
    )
    assert f"Suggestion {suggestion.pk} (GIZMO × 50) dismissed." in response.content.decode()
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.decision_note) == ("DISMISSED", "seasonal")
    assert not PurchaseOrder.objects.exists()


def test_job_runs_of_the_site_and_the_network_with_filters_and_csv(client, boss, site, other_site):
    JobRun.objects.create(kind="pick_face_replenishment", site=site, status="SUCCEEDED", counts={"tasks": 3})
    JobRun.objects.create(kind="exception_alerts", status="FAILED", error="RuntimeError: boom")
    JobRun.objects.create(kind="other_site_job", site=other_site)
    client.force_login(boss)
    url = reverse("web:job-list")
    page = client.get(url).content.decode()
    assert "Pick face replenishment" in page and "tasks 3" in page and "RuntimeError: boom" in page
    assert "Other site job" not in page and "all sites" in page
    page = _table(client.get(url, {"status": "FAILED"}))
    assert "Exception alerts" in page and "Pick face replenishment" not in page
    page = _table(client.get(url, {"scope": "site"}))
    assert "Exception alerts" not in page and "Pick face replenishment" in page
    rows = _csv(client.get(url, {"kind": "exception_alerts", "format": "csv"}))
    assert rows[0][:3] == ["Job", "Site", "Status"] and [r[0] for r in rows[1:]] == ["Exception alerts"]


def test_an_item_the_count_does_not_list_is_recorded_as_found_stock(client, counter, count, storage):
    gadget = ItemFactory(sku="GADGET", standard_cost="1.00")
    client.force_login(counter)
    check = reverse("web:scan-count-check", args=[count.pk])
    response = client.get(check, {"field": "item", "item": "GADGET", "location": storage.code})
    assert "GADGET is not listed at A-01-01: counting it records found stock." in response.content.decode()
    url = reverse("web:scan-count-task", args=[count.pk])
    response = client.post(url, {"location": storage.code, "item": "GADGET", "quantity": "3"}, follow=True)
    # the system holds none: beyond tolerance, so another counter recounts it
    assert "A-01-01 GADGET: 3 recorded; another counter must recount it." in response.content.decode()
    line = count.lines.get(item=gadget)
    assert (line.trigger, line.first_quantity, line.status) == ("FOUND", 3, "RECOUNT")
    before = _stock_state()
    response = client.post(url, {"location": storage.code, "item": "GADGET", "quantity": "4"})
    assert response.status_code == 400
    assert "This line needs a recount by another counter than the first one." in response.content.decode()
    assert _stock_state() == before


def _rows(site, item, storage, stock, boss, tag, n):
    """n more rows of each list: counts, adjustments waiting for approval, job runs, suggestions."""
    supplier = create_supplier(user=None, code=f"SUP{tag}", name=f"Supplier {tag}", lead_time_days=4)
    run = ReplenishmentRun.objects.create(site=site)
    for i in range(n):
        location = LocationFactory(site=site, code=f"C-{tag}{i:02d}", kind="STORAGE")
        stock(item, location, 5)
        create_cycle_count(user=boss, site=site, locations=[location])
        adjust_stock(user=boss, location=storage, item=item, quantity_delta=60 + i, reason_code="FOUND", note="n")
        JobRun.objects.create(kind=f"job_{tag}{i}", site=site, counts={"n": i})
        ReplenishmentSuggestion.objects.create(
            run=run,
            site=site,
            item=ItemFactory(sku=f"Q-{tag}{i}"),
            kind="PURCHASE",
            quantity=5,
            supplier=supplier,
            reason={"n": i},
        )


@pytest.mark.parametrize("name", ["web:approval-list", "web:count-list", "web:suggestion-list", "web:job-list"])
def test_lists_run_a_fixed_number_of_queries(
    client, boss, site, item, storage, stock, name, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stock(item, storage, 10)
    _rows(site, item, storage, stock, boss, "a", 1)
    client.force_login(boss)
    client.get(reverse(name))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(name)).status_code == 200
    _rows(site, item, storage, stock, boss, "b", 6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse(name))
    assert page.status_code == 200 and "1 shown" not in page.content.decode()
