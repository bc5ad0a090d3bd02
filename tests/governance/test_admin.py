"""Django admin: every page loads, the ledger is read only, rules and approvals go through services."""

import pytest
from django.contrib import admin
from django.urls import reverse

from governance.models import SiteRuleValue
from inventory.models import Adjustment, StockMove
from inventory.services import adjust_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(client, admin_user):
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    return client


def test_every_registered_model_has_a_working_changelist_and_add_or_view_page(
    admin_client_logged, item, storage, stock
):
    stock(item, storage, 5)
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = admin_client_logged.get(url)
        assert response.status_code == 200, url
        obj = model._default_manager.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert admin_client_logged.get(change).status_code == 200, change


def test_the_ledger_cannot_be_added_changed_or_deleted_in_admin(admin_client_logged, item, storage, stock):
    stock(item, storage, 5)
    move = StockMove.objects.get()
    assert admin_client_logged.get(reverse("admin:inventory_stockmove_add")).status_code == 403
    assert (
        admin_client_logged.post(
            reverse("admin:inventory_stockmove_delete", args=[move.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert StockMove.objects.count() == 1


def test_effective_rules_page_shows_deviations_and_refuses_enterprise_overrides(admin_client_logged, site):
    url = reverse("admin:governance_siterulevalue_effective")
    response = admin_client_logged.post(
        url, {"key": "orders.credit_check_enabled", "site": "DC1", "value": "false", "reason": "try"}, follow=True
    )
    assert "Refused" in response.content.decode()
    assert not SiteRuleValue.objects.exists()
    admin_client_logged.post(
        url, {"key": "inventory.adjustment_approval_value", "site": "DC1", "value": "100", "reason": "small site"}
    )
    page = admin_client_logged.get(url).content.decode()
    assert "deviates" in page and "DC1</strong>: 1" in page


def test_adjustment_approval_in_admin_keeps_segregation_of_duties(client, supervisor, item, storage, stock):
    stock(item, storage, 100)
    supervisor.is_staff = True
    supervisor.is_superuser = True
    supervisor.save()
    adjustment = adjust_stock(
        user=supervisor, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="x"
    )
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:inventory_adjustment_changelist"),
        {"action": "approve", "_selected_action": [adjustment.pk]},
        follow=True,
    )
    assert "cannot decide a request you made yourself" in response.content.decode()
    assert Adjustment.objects.get().status == "PENDING_APPROVAL"
