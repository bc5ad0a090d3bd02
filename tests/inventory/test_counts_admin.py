"""Cycle counts in admin: blind for counters, history kept, variances decided through the service."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from governance.models import ApprovalRequest
from inventory.models import CycleCount, StockQuant
from inventory.services.counts import create_cycle_count, enter_count
from tests.inventory.test_counts import set_rule

pytestmark = pytest.mark.django_db

EXPECTED = 4321


def staff(make_user, roles, site, username):
    user = make_user(roles, site, username=username)
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="inventory", codename__startswith="view")
    )
    return user


@pytest.fixture
def counted(site, supervisor, item, storage, stock, make_user):
    set_rule(site, "counting.approval_value", "0")
    stock(item, storage, EXPECTED)
    counter = staff(make_user, ["operator", "supervisor"], site, "counting-staff")
    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    enter_count(user=counter, line=count.lines.get(), quantity=EXPECTED - 1)
    return count, counter


def pages(client, count):
    line = count.lines.get()
    return [
        client.get(reverse("admin:inventory_cyclecount_change", args=[count.pk])),
        client.get(reverse("admin:inventory_cyclecountline_changelist")),
        client.get(reverse("admin:inventory_cyclecountline_change", args=[line.pk])),
    ]


def test_counters_do_not_see_quantities_in_admin(client, counted):
    count, counter = counted
    client.force_login(counter)
    for response in pages(client, count):
        assert response.status_code == 200
        assert str(EXPECTED) not in response.content.decode() and str(EXPECTED - 1) not in response.content.decode()
    version = count.lines.get().history.first()
    url = reverse("admin:inventory_cyclecountline_simple_history", args=[count.lines.get().pk, version.pk])
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:inventory_cyclecountline_history", args=[count.lines.get().pk])).status_code == 403
    # the list cannot be asked "is the expected quantity N?" through a URL filter
    changelist = reverse("admin:inventory_cyclecountline_changelist")
    for lookup in ("first_expected", "first_quantity__gte", "variance"):
        response = client.get(changelist, {lookup: EXPECTED})
        assert response.status_code in (302, 400) or "?e=1" in response.get("Location", "")


def test_approvers_see_quantities_and_decide_through_the_service(client, counted, make_user, site, item, storage):
    count, counter = counted
    approver = staff(make_user, "supervisor", site, "approving-staff")
    client.force_login(approver)
    assert all(str(EXPECTED) in r.content.decode() for r in pages(client, count))
    assert client.get(reverse("admin:inventory_cyclecount_history", args=[count.pk])).status_code == 200

    client.force_login(counter)
    response = client.post(
        reverse("admin:inventory_cyclecount_changelist"),
        {"action": "approve", "_selected_action": [count.pk]},
        follow=True,
    )
    assert "another approver must" in response.content.decode()  # the counter asked for the approval
    assert CycleCount.objects.get().status == "PENDING_APPROVAL"

    client.force_login(approver)
    client.post(reverse("admin:inventory_cyclecount_changelist"), {"action": "approve", "_selected_action": [count.pk]})
    assert CycleCount.objects.get().status == "COMPLETED"
    assert ApprovalRequest.objects.get(kind="COUNT").decided_by == approver
    assert StockQuant.objects.get(item=item, location=storage).quantity == EXPECTED - 1
