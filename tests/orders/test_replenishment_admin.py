"""Replenishment in Django admin: pages load, policies are saved through the services (refusals on the form),
suggestions are accepted and dismissed through the services, other sites' rows are not listed."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import Location
from orders.models import PickFacePolicy, PurchaseOrder, ReplenishmentPolicy, ReplenishmentRun, ReplenishmentSuggestion
from orders.services import create_supplier
from orders.services.replenishment import create_pick_face_policy, create_policy, execute_run
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import ReplenishmentTask
from warehouse.services.replenishment import sweep_pick_faces

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_planner(client, make_user, site):
    user = make_user("planner", site, username="planner-staff")
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["orders", "warehouse"]))
    client.force_login(user)
    return user


@pytest.fixture
def supplier(db):
    return create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=4)


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def planned(site, other_site, item, supplier, stock):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    create_policy(user=None, site=other_site, item=item, min_quantity=5, max_quantity=60, supplier=supplier)
    for s in (site, other_site):
        execute_run(run_id=ReplenishmentRun.objects.create(site=s).pk)
    face = LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK)
    stock(item, LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE), 100)
    create_pick_face_policy(user=None, location=face, item=item, min_quantity=5, max_quantity=40)
    sweep_pick_faces()


def test_replenishment_pages_load_and_show_only_the_users_sites(client, staff_planner, planned):
    for model in (ReplenishmentPolicy, PickFacePolicy, ReplenishmentRun, ReplenishmentSuggestion, ReplenishmentTask):
        response = client.get(url(model, "changelist"))
        assert response.status_code == 200, model
        assert response.context["cl"].result_count == model.objects.filter(site__code="DC1").count() >= 1, model
        obj = model.objects.filter(site__code="DC1").first()
        assert client.get(url(model, "change", obj.pk)).status_code == 200, model
    hidden = ReplenishmentSuggestion.objects.get(site__code="DC2")
    assert client.get(url(ReplenishmentSuggestion, "change", hidden.pk)).status_code == 404  # not visible: not found


def test_a_policy_added_in_admin_goes_through_the_service(client, staff_planner, site, supplier):
    gadget = ItemFactory(sku="GADGET")
    form = {
        "site": site.pk,
        "item": gadget.pk,
        "method": "MIN_MAX",
        "min_quantity": 10,
        "max_quantity": 5,
        "service_level": "0.95",
        "review_days": 7,
        "pack_multiple": 1,
        "min_order_quantity": 0,
        "supplier": supplier.pk,
        "active": "on",
    }
    invalid = client.post(url(ReplenishmentPolicy, "add"), form)
    assert invalid.status_code == 200 and "replenishment_policy_min_max" in invalid.content.decode()
    retired = create_supplier(user=None, code="OLD", name="Retired", active=False)
    refused = client.post(url(ReplenishmentPolicy, "add"), {**form, "max_quantity": 50, "supplier": retired.pk})
    assert refused.status_code == 200 and "Refused: Supplier OLD is inactive." in refused.content.decode()
    assert ReplenishmentPolicy.objects.count() == 0
    created = client.post(url(ReplenishmentPolicy, "add"), {**form, "max_quantity": 50})
    assert created.status_code == 302
    policy = ReplenishmentPolicy.objects.get()
    assert (policy.max_quantity, policy.history.first().history_user) == (50, staff_planner)


def test_suggestions_are_accepted_and_dismissed_from_the_list(client, staff_planner, planned):
    mine = ReplenishmentSuggestion.objects.get(site__code="DC1")
    response = client.post(
        url(ReplenishmentSuggestion, "changelist"), {"action": "accept_selected", "_selected_action": [mine.pk]}
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "ACCEPTED" and mine.purchase_order == PurchaseOrder.objects.get()
    client.post(
        url(ReplenishmentSuggestion, "changelist"), {"action": "dismiss_selected", "_selected_action": [mine.pk]}
    )
    mine.refresh_from_db()
    assert mine.status == "ACCEPTED"  # refused: already accepted


def test_refills_are_cancelled_from_the_list(client, make_user, site, planned):
    boss = make_user("supervisor", site, username="boss-staff")
    boss.is_staff = True
    boss.save()
    boss.user_permissions.set(Permission.objects.filter(content_type__app_label="warehouse"))
    client.force_login(boss)
    task = ReplenishmentTask.objects.get()
    client.post(url(ReplenishmentTask, "changelist"), {"action": "cancel_selected", "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.status == "CANCELLED"
