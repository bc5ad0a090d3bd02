"""View tests of the browser pages: who may open what, site isolation (404), and that each action calls the
service and shows its message."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from governance.models import ApprovalRequest, ExceptionCase
from orders.models import SalesOrder
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import PickTask, PutawayTask, ReplenishmentTask, Wave
from warehouse.services import plan_wave, receive, release_wave

pytestmark = pytest.mark.django_db

SIMPLE_PAGES = [
    "web:home",
    "web:search",
    "web:order-list",
    "web:order-new",
    "web:dashboard",
    "web:wave-list",
    "web:scan-pick",
    "web:scan-putaway",
]


@pytest.mark.parametrize("name", SIMPLE_PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)


def test_anonymous_users_cannot_open_an_order_or_post_an_action(client, draft):
    order = draft()
    assert client.get(reverse("web:order-detail", args=[order.number])).status_code == 302
    response = client.post(reverse("web:order-action", args=[order.number, "release"]))
    assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.DRAFT


def test_login_logs_in_and_logout_logs_out(client, coordinator):
    response = client.post(reverse("web:login"), {"username": "coord1", "password": "pass-word-123"})
    assert response.status_code == 302
    assert client.get(reverse("web:order-list")).status_code == 200
    client.post(reverse("web:logout"))
    assert client.get(reverse("web:order-list")).status_code == 302


def test_repeated_failed_logins_are_slowed_down_like_the_api(client, coordinator, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        response = client.post(reverse("web:login"), {"username": "coord1", "password": "wrong"})
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    response = client.post(reverse("web:login"), {"username": "coord1", "password": "pass-word-123"})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "role, allowed, refused",
    [
        ("coordinator", ["web:order-list", "web:order-new"], ["web:dashboard", "web:wave-list", "web:scan-pick"]),
        ("supervisor", ["web:order-list", "web:dashboard", "web:wave-list", "web:scan-pick"], ["web:order-new"]),
        ("operator", ["web:scan-pick", "web:scan-putaway"], ["web:order-new", "web:dashboard", "web:wave-list"]),
        ("auditor", ["web:order-list"], ["web:order-new", "web:dashboard", "web:scan-pick"]),
    ],
)
def test_pages_and_menus_follow_the_role_at_the_current_site(client, make_user, site, role, allowed, refused):
    client.force_login(make_user(role, site))
    page = client.get(reverse("web:order-list")).content.decode()
    for name in allowed:
        assert client.get(reverse(name)).status_code == 200, name
        if name != "web:order-list":
            assert f'href="{reverse(name)}"' in page, f"{name} missing from the menu"
    for name in refused:
        response = client.get(reverse(name))
        assert response.status_code == 403, name
        assert b"does not allow" in response.content
        assert f'href="{reverse(name)}"' not in page, f"{name} in the menu of a {role}"


def test_a_user_without_a_site_is_told_so(client, make_user):
    client.force_login(make_user("coordinator"))
    response = client.get(reverse("web:order-list"))
    assert response.status_code == 403
    assert b"do not belong to any active site" in response.content


def test_site_switcher_offers_only_the_users_sites_and_refuses_others(client, make_user, site, other_site):
    from tests.factories import SiteFactory

    third = SiteFactory(code="DC3", name="North DC")
    user = make_user("coordinator", site, other_site)
    client.force_login(user)
    page = client.get(reverse("web:order-list")).content.decode()
    assert "DC1 · Central DC" in page and "DC2 · West DC" in page and "DC3" not in page
    response = client.post(reverse("web:switch-site"), {"site": other_site.pk, "next": reverse("web:order-list")})
    assert response.status_code == 302
    assert "Orders at DC2" in client.get(reverse("web:order-list")).content.decode()
    assert client.post(reverse("web:switch-site"), {"site": third.pk}).status_code == 404
    assert "Orders at DC2" in client.get(reverse("web:order-list")).content.decode()


def test_switch_site_does_not_redirect_off_the_site(client, coordinator, site):
    client.force_login(coordinator)
    response = client.post(reverse("web:switch-site"), {"site": site.pk, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_other_sites_orders_waves_and_tasks_are_404(
    client, outsider, draft, allocated, boss, site, item, floor, stock, purchase_order
):
    order = draft()
    stock(item, floor["pick"], 10)
    task_order = allocated(3)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    pick = PickTask.objects.first()
    receive(user=boss, purchase_order=purchase_order(4), lines=[{"item": item.sku, "quantity": 4}])
    putaway = PutawayTask.objects.get()
    client.force_login(outsider)
    urls = [
        reverse("web:order-detail", args=[order.number]),
        reverse("web:order-edit", args=[order.number]),
        reverse("web:order-detail", args=[task_order.number]),
        reverse("web:scan-pick-task", args=[pick.pk]),
        reverse("web:scan-pick-check", args=[pick.pk]) + "?field=location&location=P-01",
        reverse("web:scan-putaway-task", args=[putaway.pk]),
        reverse("web:wave-detail", args=[wave.pk]),
        reverse("web:wave-pick-list", args=[wave.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for action in ("validate", "release", "cancel", "hold"):
        assert client.post(reverse("web:order-action", args=[order.number, action])).status_code == 404
    assert client.post(reverse("web:wave-release", args=[wave.pk])).status_code == 404
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.DRAFT
    assert "Nothing matches" in client.get(reverse("web:search"), {"q": order.number}).content.decode()


@pytest.fixture
def _allocated_order_and_wave(boss, site, item, floor, stock, allocated):
    stock(item, floor["pick"], 10)
    order = allocated(5)
    return order


def test_order_list_filters_by_status_with_counts_and_sorts(client, coordinator, draft, site):
    for quantity in (1, 2, 3):
        draft(quantity)
    cancelled = draft(4)
    from orders.services import cancel_order

    cancel_order(user=coordinator, order=cancelled)
    client.force_login(coordinator)
    page = client.get(reverse("web:order-list")).content.decode()
    assert "All <b>4</b>" in page and "Draft <b>3</b>" in page and "Cancelled <b>1</b>" in page
    page = client.get(reverse("web:order-list") + "?status=CANCELLED").content.decode()
    assert cancelled.number in page and page.count('href="/orders/SO') == 1
    page = client.get(reverse("web:order-list") + "?sort=number").content.decode()
    numbers = sorted(SalesOrder.objects.values_list("number", flat=True))
    assert page.index(numbers[0]) < page.index(numbers[-1])
    assert client.get(reverse("web:order-list") + "?sort=nonsense&page=99").status_code == 200


def test_order_entry_shows_the_services_errors_inline_and_creates_nothing(client, coordinator, customer, item, site):
    client.force_login(coordinator)
    response = client.post(
        reverse("web:order-new"),
        {
            "customer": "ACME",
            "promised_date": "2001-01-01",
            "ship_from": site.code,
            "channel": "PHONE",
            "item-0": item.sku,
            "quantity-0": "2",
            "item-1": "",
            "quantity-1": "",
            "item-2": "NOPE",
            "quantity-2": "1",
            "item-3": item.sku,
            "quantity-3": "1.05",
            "unit-3": "CASE",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "is in the past" in page
    assert "No item &#x27;NOPE&#x27;." in page
    assert "is not a whole number of" in page
    rows = response.context["rows"]
    assert rows[2]["errors"]["item"] == ["No item 'NOPE'."]
    assert "quantity" in rows[3]["errors"]
    assert "errors" not in rows[0]
    assert SalesOrder.objects.count() == 0


def test_order_entry_creates_a_draft_in_the_unit_chosen(client, coordinator, customer, item, site, tomorrow):
    client.force_login(coordinator)
    response = client.post(
        reverse("web:order-new"),
        {
            "customer": "ACME",
            "promised_date": tomorrow.isoformat(),
            "ship_from": "",
            "channel": "PHONE",
            "item-0": item.sku,
            "quantity-0": "2",
            "unit-0": "CASE",
        },
    )
    order = SalesOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:order-detail", args=[order.number])
    line = order.lines.get()
    assert (line.unit, line.quantity_base, order.status, order.created_by) == ("CASE", 24, "DRAFT", coordinator)


def test_editing_a_draft_goes_through_update_draft(client, coordinator, draft, item):
    order = draft(5)
    client.force_login(coordinator)
    page = client.get(reverse("web:order-edit", args=[order.number]))
    assert page.status_code == 200 and page.context["rows"][0]["quantity"] == "5"
    response = client.post(
        reverse("web:order-edit", args=[order.number]),
        {
            "version": order.version,
            "customer": "ACME",
            "promised_date": order.promised_date.isoformat(),
            "priority": "2",
            "item-0": item.sku,
            "quantity-0": "7",
        },
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.lines.get().quantity_base, order.priority, order.version) == (7, 2, 2)


def test_releasing_from_the_order_page_allocates_and_shows_decisions(
    client, boss, draft, item, floor, stock, django_capture_on_commit_callbacks
):
    stock(item, floor["pick"], 10)
    order = draft(4, user=boss)
    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("web:order-action", args=[order.number, "release"]))
    response = client.get(reverse("web:order-detail", args=[order.number]))
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.ALLOCATED
    page = response.content.decode()
    assert f"{order.number} released." in page
    assert 'data-testid="order-status">Allocated' in page
    assert "Allocation decisions" in page and order.decisions.exists()
    assert escape(order.decisions.first().message) in page
    assert "Released" in page  # history timeline


def test_refused_actions_show_the_service_message_and_change_nothing(client, coordinator, draft):
    order = draft()
    client.force_login(coordinator)
    response = client.post(reverse("web:order-action", args=[order.number, "hold"]), {"reason": ""}, follow=True)
    assert "Say why the order is held." in response.content.decode()
    response = client.post(reverse("web:order-action", args=[order.number, "hold"]), {"reason": "x"}, follow=True)
    assert "is draft; it cannot be put on hold" in response.content.decode()
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.DRAFT and order.version == 1


def test_a_credit_hold_is_released_by_an_approver_not_by_the_requester(
    client, coordinator, supervisor, draft, customer, item, floor, stock, django_capture_on_commit_callbacks
):
    stock(item, floor["pick"], 10)
    customer.credit_overdue = True
    customer.save()
    order = draft(2)
    client.force_login(coordinator)
    response = client.post(reverse("web:order-action", args=[order.number, "release"]), follow=True)
    assert "is on hold: Credit hold" in response.content.decode()
    assert "An approver (supervisor or admin) must release the hold." in response.content.decode()
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.ON_HOLD
    response = client.post(reverse("web:order-action", args=[order.number, "approve-hold"]), follow=True)
    assert "does not allow this" in response.content.decode()
    client.force_login(supervisor)
    page = client.get(reverse("web:order-detail", args=[order.number])).content.decode()
    assert "Release hold" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:order-action", args=[order.number, "approve-hold"]), follow=True)
    assert "released from hold" in response.content.decode()
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.ALLOCATED
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.APPROVED


def test_atp_panel_shows_per_site_availability_and_units(client, coordinator, item, floor, stock, site):
    stock(item, floor["pick"], 30)
    client.force_login(coordinator)
    url = reverse("web:order-atp")
    page = client.get(url, {"row": "1", "item-1": item.sku, "quantity-1": "2", "unit-1": "CASE"}).content.decode()
    assert "24 EA" in page and "DC1" in page and "ATP 30" in page and 'id="units-1"' in page and "CASE" in page
    page = client.get(url, {"row": "0", "item-0": item.sku, "quantity-0": "3", "unit-0": "CASE"}).content.decode()
    assert "ATP 30" in page and "from" in page or "no supply" in page
    page = client.get(url, {"row": "0", "item-0": "NOPE"}).content.decode()
    assert "No item &#x27;NOPE&#x27;." in page


def test_customer_lookup_shows_credit_status(client, coordinator, customer, draft):
    customer.credit_limit = 100
    customer.save()
    client.force_login(coordinator)
    page = client.get(reverse("web:order-customer"), {"customer": "acme"}).content.decode()
    assert "Credit limit 100.00 USD" in page and "100.00 available" in page
    customer.credit_overdue = True
    customer.save()
    page = client.get(reverse("web:order-customer"), {"customer": "ACME"}).content.decode()
    assert "overdue invoices" in page
    page = client.get(reverse("web:order-customer"), {"customer": "Acme St"}).content.decode()
    assert "Did you mean" in page and "ACME" in page


def test_search_finds_documents_items_and_customers(client, coordinator, draft, customer):
    order = draft()
    ItemFactory(sku="GADGET-9")
    client.force_login(coordinator)
    response = client.get(reverse("web:search"), {"q": order.number})
    assert response.status_code == 302 and response["Location"] == reverse("web:order-detail", args=[order.number])
    page = client.get(reverse("web:search"), {"q": "gadget"}).content.decode()
    assert "GADGET-9" in page
    page = client.get(reverse("web:search"), {"q": "Acme"}).content.decode()
    assert "Acme Stores" in page
    assert "Nothing matches" in client.get(reverse("web:search"), {"q": "zzz"}).content.decode()


def test_dashboard_runs_a_fixed_number_of_queries(
    client, boss, site, item, floor, stock, allocated, django_assert_max_num_queries, purchase_order
):
    client.force_login(boss)
    client.get(reverse("web:dashboard"))  # warm the session and content types
    with django_assert_max_num_queries(35) as small:  # 14 of them for the KPI tiles
        assert client.get(reverse("web:dashboard")).status_code == 200
    stock(item, floor["pick"], 50)
    for _ in range(4):
        allocated(2)
    wave = plan_wave(user=boss, site=site)
    release_wave(user=boss, wave=wave)
    for task in PickTask.objects.all()[:2]:
        from warehouse.services import confirm_pick

        confirm_pick(user=boss, task=task, quantity=task.quantity - 1, location_code=task.location.code)
    for _ in range(3):
        receive(user=boss, purchase_order=purchase_order(5), lines=[{"item": item.sku, "quantity": 5}])
    for quantity in (7, 8):
        ReplenishmentTask.objects.create(
            site=site, item=item, from_location=floor["bulk"], to_location=floor["pick"], quantity=quantity
        )
    from inventory.services.counts import create_cycle_count

    count = create_cycle_count(user=boss, site=site, locations=[floor["bulk"], floor["pick"]])
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        response = client.get(reverse("web:dashboard"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page  # the htmx refresh gets the panels only
    assert page.count(">Short pick</a>") == 2 and "Short pick PICK-" in page
    assert "Replenishment tasks</a> (2)" in page and "B-01" in page
    lines = count.lines.count()
    assert f"{count.number}</a>" in page and f"{lines} of {lines} lines to count" in page
    assert f'data-testid="tile-count-lines">{lines}<' in page
    assert len(big.captured_queries) <= len(small.captured_queries)


def test_exception_queue_actions_go_through_governance_services(
    client, boss, outsider, site, item, floor, stock, allocated
):
    stock(item, floor["pick"], 10)
    allocated(3)
    wave = plan_wave(user=boss, site=site)
    release_wave(user=boss, wave=wave)
    from warehouse.services import confirm_pick

    task = PickTask.objects.get()
    confirm_pick(user=boss, task=task, quantity=1, location_code="P-01")
    case = ExceptionCase.objects.get(code__code="SHORT_PICK")
    client.force_login(outsider)
    assert client.post(reverse("web:exception-action", args=[case.pk, "acknowledge"])).status_code == 404
    client.force_login(boss)
    client.post(reverse("web:exception-action", args=[case.pk, "acknowledge"]))
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.ACKNOWLEDGED and case.assignee == boss
    response = client.post(reverse("web:exception-action", args=[case.pk, "resolve"]), {"note": ""}, follow=True)
    assert "Say how the exception was resolved." in response.content.decode()
    # a user of a site boss cannot see reads like an unknown one (issue 12, finding 5)
    response = client.post(
        reverse("web:exception-action", args=[case.pk, "assign"]), {"assignee": outsider.pk}, follow=True
    )
    page = response.content.decode()
    assert "No such colleague at DC1 to assign the exception to: nothing was changed." in page
    assert "outsider" not in page
    client.post(reverse("web:exception-action", args=[case.pk, "resolve"]), {"note": "counted, found 2 missing"})
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.RESOLVED and case.assignee == boss


def test_pick_scan_refuses_a_wrong_scan_and_confirms_a_short_pick(client, boss, site, item, floor, stock, allocated):
    stock(item, floor["pick"], 10)
    order = allocated(4)
    release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = PickTask.objects.get()
    client.force_login(boss)
    check = reverse("web:scan-pick-check", args=[task.pk])
    assert (
        "Wrong location: scanned B-01, go to P-01."
        in client.get(check, {"field": "location", "location": "B-01"}).content.decode()
    )
    assert "Location P-01" in client.get(check, {"field": "location", "location": " P-01\r"}).content.decode()
    assert "Wrong item" in client.get(check, {"field": "item", "item": "OTHER"}).content.decode()
    assert (
        "the rest will be reported short" in client.get(check, {"field": "quantity", "quantity": "3"}).content.decode()
    )
    url = reverse("web:scan-pick-task", args=[task.pk])
    response = client.post(url, {"location": "B-01", "item": item.sku, "quantity": "4"})
    assert response.status_code == 400
    assert "Wrong location: scanned &#x27;B-01&#x27;, the task is at P-01." in response.content.decode()
    response = client.post(url, {"location": "P-01", "item": "OTHER", "quantity": "4"})
    assert response.status_code == 400
    assert "Wrong item: scanned &#x27;OTHER&#x27;, the task is for WIDGET." in response.content.decode()
    response = client.post(url, {"location": "P-01", "item": item.sku, "quantity": "nine"})
    assert response.status_code == 400 and "Give the picked quantity, 0 to 4." in response.content.decode()
    task.refresh_from_db()
    assert task.status == PickTask.Status.OPEN
    # a short quantity first asks for a reason and a confirmation; nothing is written until then
    response = client.post(url, {"location": "P-01", "item": item.sku, "quantity": "3"})
    page = response.content.decode()
    assert response.status_code == 400 and 'data-testid="short-pick-confirm"' in page
    assert "Only 3 of 4: 1 short." in page and "Units found damaged" in page
    response = client.post(url, {"location": "P-01", "item": item.sku, "quantity": "3", "confirm_short": "1"})
    assert response.status_code == 400 and "choose why it is short" in response.content.decode()
    task.refresh_from_db()
    assert task.status == PickTask.Status.OPEN and not ExceptionCase.objects.filter(code__code="SHORT_PICK").exists()
    response = client.post(
        url,
        {"location": "P-01", "item": item.sku, "quantity": "3", "confirm_short": "1", "short_reason": "DAMAGED"},
        follow=True,
    )
    assert "picked 3 of 4 (units found damaged); short pick reported" in response.content.decode()
    task.refresh_from_db()
    assert (task.status, task.picked_quantity, task.confirmed_by) == (PickTask.Status.SHORT, 3, boss)
    assert task.short_reason == "DAMAGED"
    assert ExceptionCase.objects.get(code__code="SHORT_PICK").details["reason"] == "DAMAGED"
    assert ExceptionCase.objects.filter(code__code="SHORT_PICK").count() == 1
    order.refresh_from_db()
    assert order.lines.get().picked_quantity == 3


def test_putaway_scan_needs_a_reason_away_from_the_suggestion(client, boss, site, item, floor, purchase_order):
    other = LocationFactory(site=site, code="B-09")
    receive(user=boss, purchase_order=purchase_order(6), lines=[{"item": item.sku, "quantity": 6}])
    task = PutawayTask.objects.get()
    client.force_login(boss)
    assert "PUT-" in client.get(reverse("web:scan-putaway")).content.decode()
    check = reverse("web:scan-putaway-check", args=[task.pk])
    assert (
        "No location NOWHERE at this site."
        in client.get(check, {"field": "location", "location": "NOWHERE"}).content.decode()
    )
    url = reverse("web:scan-putaway-task", args=[task.pk])
    response = client.post(url, {"item": item.sku, "location": other.code, "quantity": "6"})
    assert response.status_code == 400
    assert "needs a reason" in response.content.decode()
    task.refresh_from_db()
    assert task.status == PutawayTask.Status.OPEN
    response = client.post(
        url, {"item": item.sku, "location": other.code, "quantity": "6", "reason_code": "LOCATION_FULL"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.confirmed_location, task.reason_code) == ("CONFIRMED", other, "LOCATION_FULL")


def test_waves_are_planned_released_and_printed_from_the_page(client, boss, site, item, floor, stock, allocated):
    client.force_login(boss)
    response = client.post(reverse("web:wave-plan"), {}, follow=True)
    assert "nothing to plan" in response.content.decode()
    stock(item, floor["pick"], 10)
    allocated(3)
    response = client.post(reverse("web:wave-plan"), {"max_orders": "5"})
    wave = Wave.objects.get()
    assert response["Location"] == reverse("web:wave-detail", args=[wave.pk])
    client.post(reverse("web:wave-release", args=[wave.pk]))
    wave.refresh_from_db()
    assert wave.status == Wave.Status.RELEASED
    page = client.get(reverse("web:wave-pick-list", args=[wave.pk])).content.decode()
    assert f"Pick list {wave.number}" in page and "P-01" in page


def test_the_wave_form_plans_by_route_and_cutoff_and_refuses_a_bad_cutoff(
    client, boss, site, item, floor, stock, allocated
):
    client.force_login(boss)
    stock(item, floor["pick"], 10)
    east, west = allocated(2), allocated(3)
    SalesOrder.objects.filter(pk=east.pk).update(route="EAST")
    SalesOrder.objects.filter(pk=west.pk).update(route="WEST")
    response = client.post(reverse("web:wave-plan"), {"cutoff_before": "2026-02-30T10:00"}, follow=True)
    assert "Ship-by cutoff before: give a date and time." in response.content.decode()
    assert not Wave.objects.exists()
    client.post(reverse("web:wave-plan"), {"route": "west"})
    wave = Wave.objects.get()
    assert {line.order_line.order_id for line in wave.lines.select_related("order_line")} == {west.pk}


def test_the_printed_pick_list_groups_by_zone_in_walk_order_in_handling_units_with_barcodes(
    client, boss, site, item, floor, stock, allocated, django_assert_max_num_queries
):
    from inventory.models import ItemBarcode, Location, Zone
    from warehouse.selectors import pick_list

    zone = Zone.objects.create(site=site, code="FAST", name="Fast movers")
    Location.objects.filter(pk=floor["pick"].pk).update(zone=zone)
    ItemBarcode.objects.create(item=item, gtin="04006381333931")
    stock(item, floor["pick"], 38)
    stock(item, floor["bulk"], 40)
    allocated(38)
    allocated(30)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    with django_assert_max_num_queries(4):
        zones = pick_list(wave)
    assert {z.code for z in zones} == {"FAST", ""}  # the pick face's zone, and the bulk bin without one
    firsts = [z.lines[0].task.sequence for z in zones]
    assert firsts == sorted(firsts)  # zones in the order the walk reaches them
    for z in zones:  # walk order within each zone
        assert [line.task.sequence for line in z.lines] == sorted(line.task.sequence for line in z.lines)
    listed = sorted(line.task.pk for z in zones for line in z.lines)
    assert listed == sorted(wave.pick_tasks.values_list("pk", flat=True))
    client.force_login(boss)
    page = client.get(reverse("web:wave-pick-list", args=[wave.pk])).content.decode()
    assert 'data-testid="pick-zone-FAST"' in page and "Fast movers" in page
    big = next(line for z in zones for line in z.lines if line.task.quantity == 38)
    assert big.in_units == "3 CASE + 2 EA" and "= 38 EA" in page
    assert "<svg" in page and 'data-code="4006381333931"' in page and f'data-code="{floor["pick"].code}"' in page


def test_the_wave_page_shows_how_far_picking_is(client, boss, site, item, floor, stock, allocated):
    from warehouse.services import confirm_pick

    stock(item, floor["pick"], 20)
    allocated(4)
    allocated(6)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    client.force_login(boss)
    url = reverse("web:wave-detail", args=[wave.pk])
    assert client.get(url).context["progress"].percent == 0
    four = wave.pick_tasks.get(quantity=4)
    confirm_pick(user=boss, task=four, quantity=4, location_code=floor["pick"].code)
    response = client.get(url)
    progress = response.context["progress"]
    assert (progress.units_picked, progress.units, progress.tasks_done, progress.tasks, progress.percent) == (
        4,
        10,
        1,
        2,
        40,
    )
    assert '<progress max="100" value="40"' in response.content.decode()
