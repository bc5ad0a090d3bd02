"""Transfers pages: the list of transfers in and out of the current site, the transfer page (lines, approval,
history) and its actions through warehouse.services.transfers / decide_approval; who may open what."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from governance.models import ApprovalRequest, ExceptionCase
from inventory.models import Location
from orders.models import TransferOrder
from tests.factories import LocationFactory, SiteFactory
from warehouse.services.transfers import create_transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(site, other_site, make_user, item, stock):
    """A planner/supervisor/operator at both sites, 1000 WIDGET in a bin at ``site``."""
    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="netplanner")
    for s in (site, other_site):
        LocationFactory(site=s, code="DOCK", kind=Location.Kind.RECEIVING)
        LocationFactory(site=s, code="BIN", kind=Location.Kind.STORAGE)
        LocationFactory(site=s, code="STAGE", kind=Location.Kind.STAGING)
    stock(item, Location.objects.get(site=site, code="BIN"), 1000)
    return user


@pytest.fixture
def outbound(network, site, other_site):
    """out(qty) -> a transfer from ``site`` to ``other_site`` (above 500 units it waits for approval)."""

    def _make(quantity=20):
        return create_transfer(
            user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": quantity}]
        )

    return _make


def test_anonymous_users_go_to_login_and_nothing_changes(client, outbound):
    transfer = outbound()
    for url in (reverse("web:transfer-list"), reverse("web:transfer-detail", args=[transfer.number])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL), url
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "ship"]))
    assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.APPROVED


@pytest.mark.parametrize("role", ["coordinator", "operator", "auditor"])
def test_roles_without_replenishment_planning_get_403(client, make_user, site, outbound, role):
    transfer = outbound()
    client.force_login(make_user(role, site))
    for url in (reverse("web:transfer-list"), reverse("web:transfer-detail", args=[transfer.number])):
        response = client.get(url)
        assert response.status_code == 403 and b"does not allow" in response.content, url
    assert client.post(reverse("web:transfer-action", args=[transfer.number, "cancel"])).status_code == 403
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.APPROVED


def test_a_third_sites_user_gets_404_for_the_transfer(client, make_user, outbound):
    transfer = outbound()
    third = SiteFactory(code="DC3", name="North DC")
    client.force_login(make_user("supervisor", third))
    assert client.get(reverse("web:transfer-detail", args=[transfer.number])).status_code == 404
    assert client.post(reverse("web:transfer-action", args=[transfer.number, "cancel"])).status_code == 404
    assert transfer.number not in client.get(reverse("web:transfer-list")).content.decode()
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.APPROVED


def test_the_list_shows_both_directions_with_a_direction_filter(client, network, site, other_site, outbound):
    out = outbound()
    back = create_transfer(user=network, from_site=other_site, to_site=site, lines=[{"item": "WIDGET", "quantity": 1}])
    client.force_login(network)
    url = reverse("web:transfer-list")
    page = client.get(url).content.decode()
    assert out.number in page and back.number in page and "out to DC2" in page and "in from DC2" in page
    page = client.get(url, {"direction": "out"}).content.decode()
    assert out.number in page and back.number not in page
    page = client.get(url, {"direction": "in"}).content.decode()
    assert back.number in page and out.number not in page
    assert f'href="{url}"' in page  # in the menu
    response = client.get(url, {"format": "csv", "direction": "in"})
    text = b"".join(response.streaming_content).decode()
    assert back.number in text and out.number not in text


def test_approval_is_decided_by_someone_else_from_the_page(client, network, make_user, site, outbound):
    transfer = outbound(600)  # 600 x 10.00 > 5000: needs approval
    assert transfer.status == TransferOrder.Status.PENDING_APPROVAL
    client.force_login(network)
    page = client.get(reverse("web:transfer-detail", args=[transfer.number])).content.decode()
    assert "Pending approval" in page and "exceeds DC1" in page and ">Approve</button>" not in page  # the requester
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "approve"]), follow=True)
    assert "You cannot decide a request you made yourself; another approver must." in response.content.decode()
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "ship"]), follow=True)
    assert f"{transfer.number} waits for approval." in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.PENDING_APPROVAL
    client.force_login(make_user("supervisor", site, username="approver"))
    page = client.get(reverse("web:transfer-detail", args=[transfer.number])).content.decode()
    assert ">Approve</button>" in page
    response = client.post(
        reverse("web:transfer-action", args=[transfer.number, "approve"]), {"note": "ok"}, follow=True
    )
    assert f"{transfer.number} approved. Now approved." in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.APPROVED
    assert ApprovalRequest.objects.get(kind="TRANSFER").decision_note == "ok"


def _pick_on_the_scan_screen(client, transfer):
    """Confirm every open pick of the transfer on the pick scan screen (the operator's page)."""
    from warehouse.models import PickTask

    tasks = list(PickTask.objects.filter(transfer_line__transfer=transfer, status="OPEN").select_related("location"))
    assert tasks
    page = client.get(reverse("web:scan-pick")).content.decode()
    assert transfer.number in page  # the transfer's picks are on the operator's list
    for task in tasks:
        response = client.post(
            reverse("web:scan-pick-task", args=[task.pk]),
            {"location": task.location.code, "item": "WIDGET", "quantity": str(task.quantity)},
        )
        assert response.status_code == 302, response.content.decode()


def test_release_pick_ship_cancel_and_receive_with_a_discrepancy(client, network, outbound):
    transfer = outbound(20)
    cancelled = outbound(5)
    client.force_login(network)
    response = client.post(reverse("web:transfer-action", args=[cancelled.number, "cancel"]), follow=True)
    assert "cancelled. Now cancelled." in response.content.decode()
    detail = reverse("web:transfer-detail", args=[transfer.number])
    # shipping goes through pick tasks at the source
    assert ">Release for picking at DC1</button>" in client.get(detail).content.decode()
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "release"]), follow=True)
    assert f"{transfer.number} released for picking at DC1:" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == "PICKING"
    board = client.get(reverse("web:dashboard")).content.decode()  # being picked: still on the source's dashboard
    assert transfer.number in board and "Picking at the source" in board
    page = client.get(detail).content.decode()
    assert 'data-testid="transfer-picks"' in page and "pick task(s) still open" in page
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "ship"]), follow=True)
    assert "confirm them before shipping" in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == "PICKING"
    _pick_on_the_scan_screen(client, transfer)
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "ship"]), follow=True)
    assert f"{transfer.number} shipped." in response.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.SHIPPED
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "cancel"]), follow=True)
    assert "only a transfer not yet shipped is cancelled" in response.content.decode()
    page = client.get(detail).content.decode()
    assert 'data-testid="receive-form"' in page and 'name="quantity-1" value="20"' in page
    url = reverse("web:transfer-action", args=[transfer.number, "receive"])
    response = client.post(url, {"quantity-1": "25", "damaged-1": "0"})
    assert response.status_code in (400, 409, 422)
    assert "Only 20 WIDGET were shipped." in response.content.decode()
    assert 'value="25"' in response.content.decode()  # what was typed stays
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.SHIPPED
    response = client.post(url, {"quantity-1": "18", "damaged-1": "1"}, follow=True)
    page = response.content.decode()
    assert f"{transfer.number} received as RCV-" in page
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.RECEIVED
    assert ExceptionCase.objects.filter(code__code="TRANSFER_DISCREPANCY").count() == 1


def test_search_finds_transfers_and_shipments_by_number(client, network, outbound):
    transfer, other = outbound(), outbound(3)
    client.force_login(network)
    response = client.get(reverse("web:search"), {"q": transfer.number})
    assert response["Location"] == reverse("web:transfer-detail", args=[transfer.number])
    page = client.get(reverse("web:search"), {"q": "TO-"}).content.decode()
    assert reverse("web:transfer-detail", args=[transfer.number]) in page
    assert reverse("web:transfer-detail", args=[other.number]) in page


def test_shipping_a_transfer_the_site_cannot_pick_shows_the_services_words(client, network, outbound, item):
    from inventory.services import change_allocated

    transfer = outbound(20)
    change_allocated(deltas={(item.pk, transfer.from_site_id): 995})  # only 5 left to take
    client.force_login(network)
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "ship"]), follow=True)
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.APPROVED
    assert 'class="msg msg-error"' in response.content.decode()


def test_a_new_transfer_is_made_through_the_service_with_its_errors_inline(client, network, site, other_site):
    client.force_login(network)
    url = reverse("web:transfer-new")
    page = client.get(url).content.decode()
    assert 'value="DC2"' in page and 'value="DC1"' not in page  # to another site only
    response = client.post(url, {"to_site": "DC2", "priority": "3", "item-0": "NOPE", "quantity-0": "2"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "No item &#x27;NOPE&#x27;." in page and 'value="NOPE"' in page
    response = client.post(url, {"to_site": "", "priority": "9", "item-0": "WIDGET", "quantity-0": "2"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "No such site." in page and "Give a priority from 1 to 5." in page
    assert not TransferOrder.objects.exists()
    response = client.post(
        url, {"to_site": "DC2", "priority": "2", "reason": "rebalance", "item-1": "WIDGET", "quantity-1": "7"}
    )
    transfer = TransferOrder.objects.get()
    assert response["Location"] == reverse("web:transfer-detail", args=[transfer.number])
    assert (transfer.from_site, transfer.to_site, transfer.priority, transfer.reason) == (
        site,
        other_site,
        2,
        "rebalance",
    )
    assert list(transfer.lines.values_list("item__sku", "quantity")) == [("WIDGET", 7)]


def test_only_planning_roles_make_transfers(client, make_user, site):
    client.force_login(make_user("operator", site))
    assert client.get(reverse("web:transfer-new")).status_code == 403
    response = client.post(reverse("web:transfer-new"), {"to_site": "DC2", "item-0": "WIDGET", "quantity-0": "1"})
    assert response.status_code == 403
    assert not TransferOrder.objects.exists()


def test_cancelling_while_picking_cancels_the_open_picks(client, network, outbound):
    from warehouse.models import PickTask

    transfer = outbound(20)
    client.force_login(network)
    client.post(reverse("web:transfer-action", args=[transfer.number, "release"]))
    assert PickTask.objects.filter(transfer_line__transfer=transfer, status="OPEN").exists()
    response = client.post(reverse("web:transfer-action", args=[transfer.number, "cancel"]), follow=True)
    assert f"{transfer.number} cancelled. Now cancelled." in response.content.decode()
    assert not PickTask.objects.filter(transfer_line__transfer=transfer, status="OPEN").exists()
    assert transfer.number not in client.get(reverse("web:scan-pick")).content.decode()


def test_the_transfers_list_runs_a_fixed_number_of_queries(
    client, network, site, other_site, outbound, django_assert_max_num_queries
):
    outbound(1)
    client.force_login(network)
    url = reverse("web:transfer-list")
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for _ in range(4):
        outbound(1)
        create_transfer(user=network, from_site=other_site, to_site=site, lines=[{"item": "WIDGET", "quantity": 1}])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count('href="/transfers/TO-') == 9
