"""History (django-simple-history) of the decisions on replenishment suggestions (accept, dismiss, the run's
auto-accept) and of count requests (opened, closed by a count), and the admin pages that show it."""

from __future__ import annotations

import pytest

from inventory.services.counts import create_cycle_count, enter_count
from orders.models import ReplenishmentSuggestion
from orders.services.replenishment import accept_suggestion, create_policy, dismiss_suggestion
from tests.factories import ItemFactory, set_rule_now
from tests.orders.test_replenishment_planning import _fast_password_hashing, plan, planner, supplier  # noqa: F401
from warehouse.models import CountRequest

pytestmark = pytest.mark.django_db


def test_accepting_and_dismissing_suggestions_are_in_history(planner, site, item, supplier):  # noqa: F811
    gadget = ItemFactory(sku="GADGET")
    for it in (item, gadget):
        create_policy(user=None, site=site, item=it, min_quantity=5, max_quantity=50, supplier=supplier)
    plan(site, planner)
    widget_sug = ReplenishmentSuggestion.objects.get(item=item)
    gadget_sug = ReplenishmentSuggestion.objects.get(item=gadget)

    accept_suggestion(user=planner, suggestion=widget_sug, note="go")
    dismiss_suggestion(user=planner, suggestion=gadget_sug, note="not now")

    accepted = widget_sug.history.first()
    assert (accepted.status, accepted.history_user, accepted.purchase_order_id) == (
        "ACCEPTED",
        planner,
        ReplenishmentSuggestion.objects.get(pk=widget_sug.pk).purchase_order_id,
    )
    assert accepted.purchase_order_id is not None
    dismissed = gadget_sug.history.first()
    assert (dismissed.status, dismissed.history_user, dismissed.decision_note) == ("DISMISSED", planner, "not now")


def test_the_runs_auto_accept_is_in_history_without_a_user(admin_user, site, item, supplier):  # noqa: F811
    set_rule_now(user=admin_user, key="replenishment.auto_approve_value", value="1000000", reason="t", site=site)
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)

    plan(site)

    (row,) = ReplenishmentSuggestion.objects.get().history.all()
    assert (row.status, row.auto_accepted, row.history_user) == ("ACCEPTED", True, None)


def test_a_count_request_closed_by_a_count_is_in_history(site, supervisor, item, storage, stock, make_user):
    stock(item, storage, 10)
    request = CountRequest.objects.create(site=site, location=storage, item=item, reason="Supervisor's ask")
    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    enter_count(user=make_user("operator", site, username="counter1"), line=count.lines.get(), quantity=10)

    request.refresh_from_db()
    assert request.status == "DONE"
    assert [h.status for h in request.history.order_by("history_date")] == ["OPEN", "DONE"]


@pytest.mark.parametrize("model", ["orders/replenishmentsuggestion", "warehouse/countrequest"])
def test_the_admin_shows_the_history(admin_client, planner, site, item, supplier, storage, model):  # noqa: F811
    if model.endswith("suggestion"):
        create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
        plan(site, planner)
        obj = ReplenishmentSuggestion.objects.get()
        dismiss_suggestion(user=planner, suggestion=obj)
    else:
        obj = CountRequest.objects.create(site=site, location=storage, item=item, reason="ask")
    response = admin_client.get(f"/admin/{model}/{obj.pk}/history/")
    assert response.status_code == 200
