"""Issue 12, finding 3: approval controls that could be walked around, each replayed as an attacker did it.

- splitting one adjustment into several just under the approval value (4 x 498.18 under 500.00, all applied);
- a site admin raising ``inventory.adjustment_approval_value`` alone, adjusting, and removing the override;
- blind counts that were not blind (quantities in stock-quants/, stock-levels/, stock-moves/ while counting);
- a planner of one site changing another site's customer's credit limit and overdue flag.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from core.errors import PermissionDenied, SegregationOfDuties, StateConflict
from governance.models import ApprovalRequest, RuleChange, SiteRuleValue
from governance.rules import REGISTRY
from governance.services import clear_rule_value, decide_approval, get_rule, set_rule_value
from inventory.models import Adjustment, StockMove
from inventory.policy.adjustments import AdjustmentExposure, adjustment_needs_approval
from inventory.services import adjust_stock
from inventory.services.counts import create_cycle_count, enter_count
from orders.models import Customer
from orders.services import create_customer, update_customer
from tests.factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.django_db

APPROVAL = "inventory.adjustment_approval_value"
WINDOW = "inventory.adjustment_approval_window_hours"


def _adjust(user, location, item, delta):
    return adjust_stock(
        user=user,
        location=location,
        item=item,
        quantity_delta=delta,
        reason_code="LOST" if delta < 0 else "FOUND",
        note="shrink",
    )


@pytest.fixture
def costly(db):
    return ItemFactory(sku="COSTLY", standard_cost="498.18")


# --- 1. splitting an adjustment under the approval value ------------------------------------------------------


def test_four_adjustments_of_498_18_under_500_add_up_and_the_second_waits_for_approval(
    supervisor, site, costly, storage, stock
):
    stock(costly, storage, 10)
    results = [_adjust(supervisor, storage, costly, -1) for _ in range(4)]
    assert [a.status for a in results] == [
        Adjustment.Status.APPLIED,
        Adjustment.Status.PENDING_APPROVAL,
        Adjustment.Status.PENDING_APPROVAL,
        Adjustment.Status.PENDING_APPROVAL,
    ]
    assert StockMove.objects.filter(kind="ADJUST").count() == 1  # only the first one moved stock
    approval = ApprovalRequest.objects.filter(kind="ADJUSTMENT").order_by("pk").first()
    assert approval.subject == results[1]
    assert "in the last 24 hours" in approval.reason and "996.36" in approval.reason


def test_a_location_sums_the_adjustments_of_every_user(supervisor, make_user, site, costly, storage, stock):
    stock(costly, storage, 10)
    other = make_user("operator", site, username="operator-b")
    assert _adjust(supervisor, storage, costly, -1).status == Adjustment.Status.APPLIED
    assert _adjust(other, storage, costly, -1).status == Adjustment.Status.PENDING_APPROVAL


def test_adjustments_older_than_the_window_do_not_count(supervisor, site, costly, storage, stock):
    stock(costly, storage, 10)
    first = _adjust(supervisor, storage, costly, -1)
    Adjustment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert _adjust(supervisor, storage, costly, -1).status == Adjustment.Status.APPLIED


def test_rejected_and_approved_adjustments_do_not_count_towards_the_window(
    supervisor, make_user, site, costly, storage, stock
):
    from inventory.services import decide_adjustment

    stock(costly, storage, 10)
    approver = make_user("supervisor", site, username="approver-x")
    big = _adjust(supervisor, storage, costly, -2)  # 996.36 alone: waits
    assert big.status == Adjustment.Status.PENDING_APPROVAL
    decide_adjustment(user=approver, adjustment=big, approve=True)  # a second person looked at it
    assert _adjust(supervisor, storage, costly, -1).status == Adjustment.Status.APPLIED


def test_the_window_is_a_declared_control_rule():
    window = REGISTRY[WINDOW]
    assert (window.type, window.default, window.standardization, window.control) == ("int", 24, "LOCAL", True)
    assert (window.min_value, window.max_value) == (1, 720)


def test_the_policy_counts_the_user_and_the_location_separately():
    threshold = Decimal("500.00")
    alone = AdjustmentExposure(value=Decimal("498.18"), user_recent=Decimal("0"), location_recent=Decimal("0"))
    assert not adjustment_needs_approval(alone, threshold).needed
    by_user = AdjustmentExposure(value=Decimal("1.00"), user_recent=Decimal("499.01"), location_recent=Decimal("0"))
    decision = adjustment_needs_approval(by_user, threshold)
    assert decision.needed and decision.cumulative == Decimal("500.01") and decision.scope == "user"
    at_location = AdjustmentExposure(value=Decimal("1.00"), user_recent=Decimal("0"), location_recent=Decimal("499.01"))
    assert adjustment_needs_approval(at_location, threshold).scope == "location"
    exactly = AdjustmentExposure(value=Decimal("1.00"), user_recent=Decimal("499.00"), location_recent=Decimal("0"))
    assert not adjustment_needs_approval(exactly, threshold).needed
    single = AdjustmentExposure(value=Decimal("500.01"), user_recent=Decimal("0"), location_recent=Decimal("0"))
    assert adjustment_needs_approval(single, threshold).scope == "single"


# --- 2. control thresholds need a second person ------------------------------------------------------------


@pytest.fixture
def site_admin(make_user, site):
    return make_user("admin", site, username="dc1-admin")


@pytest.fixture
def second_admin(make_user, site):
    return make_user("admin", site, username="dc1-admin-2")


def test_approval_values_and_tolerances_are_declared_as_controls():
    for key in (
        APPROVAL,
        WINDOW,
        "counting.approval_value",
        "counting.tolerance_percent",
        "receiving.over_receipt_tolerance_percent",
        "transfers.approval_value",
        "returns.authorization_value",
        "returns.credit_approval_value",
        "replenishment.auto_approve_value",
        "counting.blind_stock_scope",
    ):
        assert REGISTRY[key].control, key
    assert not REGISTRY["receiving.overdue_grace_days"].control


def test_a_site_admin_raising_the_approval_value_alone_changes_nothing_until_another_admin_approves(
    site_admin, second_admin, site, costly, storage, stock
):
    stock(costly, storage, 3000)
    change = set_rule_value(user=site_admin, key=APPROVAL, value="1000000", reason="year end", site=site)
    assert isinstance(change, RuleChange) and change.status == RuleChange.Status.PENDING
    assert get_rule(APPROVAL, site) == Decimal("500.00")  # not in effect yet
    assert not SiteRuleValue.objects.filter(key=APPROVAL, site=site).exists()
    # the attacker's next step: adjust alone. Still above the old value: waits.
    assert _adjust(site_admin, storage, costly, -2000).status == Adjustment.Status.PENDING_APPROVAL
    approval = ApprovalRequest.objects.get(kind="RULE_CHANGE")
    assert (approval.site, approval.rule_key, approval.threshold, approval.value, approval.requested_by) == (
        site,
        APPROVAL,
        "500.00",
        "1000000",
        site_admin,
    )
    with pytest.raises(SegregationOfDuties):
        decide_approval(approval=approval, user=site_admin, approve=True)
    assert get_rule(APPROVAL, site) == Decimal("500.00")

    decide_approval(approval=approval, user=second_admin, approve=True, note="agreed for year end")
    assert get_rule(APPROVAL, site) == Decimal("1000000")
    row = SiteRuleValue.objects.get(key=APPROVAL, site=site)
    assert (row.updated_by, row.approved_by) == (site_admin, second_admin)
    record = row.history.latest()
    assert (record.updated_by_id, record.approved_by_id, record.history_user_id) == (
        site_admin.pk,
        second_admin.pk,
        second_admin.pk,
    )
    change.refresh_from_db()
    assert (change.status, change.requested_by, change.decided_by) == (
        RuleChange.Status.APPLIED,
        site_admin,
        second_admin,
    )


def test_a_rejected_rule_change_leaves_the_value_and_is_in_history(site_admin, second_admin, site):
    change = set_rule_value(user=site_admin, key=APPROVAL, value="900", reason="bigger pallets", site=site)
    approval = ApprovalRequest.objects.get(kind="RULE_CHANGE")
    decide_approval(approval=approval, user=second_admin, approve=False, note="no")
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (RuleChange.Status.REJECTED, second_admin)
    assert get_rule(APPROVAL, site) == Decimal("500.00")
    assert change.history.count() >= 2


def test_removing_an_override_of_a_control_rule_needs_the_same_approval(site_admin, second_admin, site):
    # a strict site: every adjustment waits (value 0), approved by two people
    set_rule_value(user=site_admin, key=APPROVAL, value="0", reason="audit", site=site)
    decide_approval(approval=ApprovalRequest.objects.get(kind="RULE_CHANGE"), user=second_admin, approve=True)
    assert get_rule(APPROVAL, site) == Decimal("0")
    # the attacker removes the override alone: that would raise the effective value back to 500
    change = clear_rule_value(user=site_admin, key=APPROVAL, site=site)
    assert isinstance(change, RuleChange) and change.action == RuleChange.Action.CLEAR
    assert get_rule(APPROVAL, site) == Decimal("0")
    approval = ApprovalRequest.objects.get(kind="RULE_CHANGE", status="PENDING")
    assert approval.value == "(enterprise value 500.00)"
    decide_approval(approval=approval, user=second_admin, approve=True)
    assert get_rule(APPROVAL, site) == Decimal("500.00")
    deleted = SiteRuleValue.history.filter(key=APPROVAL, site_id=site.pk, history_type="-").get()
    assert (deleted.updated_by_id, deleted.approved_by_id, deleted.history_user_id) == (
        site_admin.pk,
        second_admin.pk,
        second_admin.pk,
    )


def test_one_pending_change_per_rule_and_site(site_admin, site):
    set_rule_value(user=site_admin, key=APPROVAL, value="600", reason="a", site=site)
    with pytest.raises(StateConflict):
        set_rule_value(user=site_admin, key=APPROVAL, value="700", reason="b", site=site)


def test_a_rule_change_is_checked_again_when_approved(site_admin, second_admin, site):
    from governance.models import SiteMembership

    set_rule_value(user=site_admin, key=APPROVAL, value="600", reason="a", site=site)
    approval = ApprovalRequest.objects.get(kind="RULE_CHANGE")
    SiteMembership.objects.filter(user=second_admin).update(role="supervisor")
    with pytest.raises(PermissionDenied):  # deciding a rule change needs the site.manage role
        decide_approval(approval=approval, user=second_admin, approve=True)
    assert get_rule(APPROVAL, site) == Decimal("500.00")


def test_rules_that_are_no_controls_still_apply_at_once(site_admin, site):
    row = set_rule_value(user=site_admin, key="receiving.overdue_grace_days", value=4, reason="slow", site=site)
    assert isinstance(row, SiteRuleValue) and get_rule("receiving.overdue_grace_days", site) == 4
    assert not ApprovalRequest.objects.filter(kind="RULE_CHANGE").exists()


def test_the_api_answers_202_with_the_approval_and_changes_nothing(api, site_admin, second_admin, site):
    client = api(site_admin)
    body = {"site": "DC1", "value": "1000000", "reason": "year end"}
    response = client.put(f"/api/v1/site-rules/{APPROVAL}/", body, format="json")
    assert response.status_code == 202, response.content
    data = response.json()
    assert (data["kind"], data["status"], data["rule_key"], data["requested_by"]) == (
        "RULE_CHANGE",
        "PENDING",
        APPROVAL,
        "dc1-admin",
    )
    assert get_rule(APPROVAL, site) == Decimal("500.00")
    assert client.post(f"/api/v1/approvals/{data['id']}/approve/", {}, format="json").status_code == 422
    assert api(second_admin).post(f"/api/v1/approvals/{data['id']}/approve/", {}, format="json").status_code == 200
    assert get_rule(APPROVAL, site) == Decimal("1000000")
    response = client.delete(f"/api/v1/site-rules/{APPROVAL}/?site=DC1")
    assert response.status_code == 202 and response.json()["kind"] == "RULE_CHANGE"
    assert get_rule(APPROVAL, site) == Decimal("1000000")


def test_the_enterprise_value_of_a_control_rule_needs_a_second_enterprise_admin(api, django_user_model, site_admin):
    first = django_user_model.objects.create_superuser("ent-1", "ent-1@example.com", "x")
    second = django_user_model.objects.create_superuser("ent-2", "ent-2@example.com", "x")
    change = set_rule_value(user=first, key=APPROVAL, value="1000000", reason="year end")
    assert isinstance(change, RuleChange) and change.site is None
    assert get_rule(APPROVAL, None) == Decimal("500.00")
    approval = ApprovalRequest.objects.get(kind="RULE_CHANGE", status="PENDING")
    assert approval.site is None and "enterprise level" in approval.reason
    with pytest.raises(SegregationOfDuties):
        decide_approval(approval=approval, user=first, approve=True)
    from core.errors import NotFound

    with pytest.raises(NotFound):  # a site admin neither sees nor decides an enterprise matter
        decide_approval(approval=approval, user=site_admin, approve=True)
    assert [a["id"] for a in api(site_admin).get("/api/v1/approvals/").json()["results"]] == []
    (seen,) = api(second).get("/api/v1/approvals/").json()["results"]
    assert seen["site"] is None and seen["kind"] == "RULE_CHANGE"
    with pytest.raises(StateConflict):  # one pending change of the enterprise value at a time
        set_rule_value(user=second, key=APPROVAL, value="700", reason="other idea")
    decide_approval(approval=approval, user=second, approve=True)
    assert get_rule(APPROVAL, None) == Decimal("1000000")
    row = SiteRuleValue.objects.get(key=APPROVAL, site=None)
    assert (row.updated_by, row.approved_by) == (first, second)
    # removing it again is a change too
    pending = clear_rule_value(user=second, key=APPROVAL)
    assert isinstance(pending, RuleChange) and get_rule(APPROVAL, None) == Decimal("1000000")
    decide_approval(approval=ApprovalRequest.objects.get(status="PENDING"), user=first, approve=True)
    assert get_rule(APPROVAL, None) == Decimal("500.00")


def test_rules_that_are_no_controls_still_apply_at_once_at_enterprise_level(admin_user):
    set_rule_value(user=admin_user, key="receiving.overdue_grace_days", value=3, reason="enterprise policy")
    assert get_rule("receiving.overdue_grace_days", None) == 3


def _staff(user, *codenames):
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_the_admin_does_not_bypass_the_approval(client, site_admin, site):
    _staff(site_admin, "view_siterulevalue", "add_siterulevalue", "change_siterulevalue", "delete_siterulevalue")
    client.force_login(site_admin)
    response = client.post(
        "/admin/governance/siterulevalue/add/",
        {"key": APPROVAL, "site": site.pk, "value": "1000000", "reason": "year end"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert get_rule(APPROVAL, site) == Decimal("500.00")
    assert ApprovalRequest.objects.filter(kind="RULE_CHANGE", status="PENDING").count() == 1
    response = client.post(
        "/admin/governance/siterulevalue/effective/",
        {"key": "counting.tolerance_percent", "site": "DC1", "value": "50", "reason": "noisy scales"},
    )
    assert response.status_code == 302
    assert get_rule("counting.tolerance_percent", site) == Decimal("2")
    assert ApprovalRequest.objects.filter(kind="RULE_CHANGE", status="PENDING").count() == 2


# --- 3. blind counts are blind ---------------------------------------------------------------------------------


@pytest.fixture
def open_count(supervisor, site, item, storage, storage2, stock):
    stock(item, storage, 40)
    stock(item, storage2, 60)
    return create_cycle_count(user=supervisor, site=site, locations=[storage])


def _rows(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_an_operator_does_not_see_quantities_at_a_location_being_counted(api, operator, open_count, storage):
    client = api(operator)
    quants = {row["location"]: row for row in _rows(client, "/api/v1/stock-quants/")}
    assert (quants["A-01-01"]["quantity"], quants["A-01-01"]["reserved"]) == (None, None)
    assert quants["A-01-02"]["quantity"] == 60  # not on the count
    (level,) = _rows(client, "/api/v1/stock-levels/?item=WIDGET")
    assert level["on_hand"] is None and level["available"] is None and level["available_to_promise"] is None
    moves = _rows(client, "/api/v1/stock-moves/?item=WIDGET")
    by_location = {row["to_location"]: row["quantity"] for row in moves}
    assert by_location == {"A-01-01": None, "A-01-02": 60}


def test_quantity_filters_do_not_reveal_what_is_hidden(api, operator, open_count):
    client = api(operator)
    assert _rows(client, "/api/v1/stock-levels/?available_below=1000") == []
    assert [r["location"] for r in _rows(client, "/api/v1/stock-quants/?nonzero=true")] == ["A-01-02"]
    ordered = _rows(client, "/api/v1/stock-quants/?ordering=quantity")
    assert "A-01-01" not in [r["location"] for r in ordered]


def test_a_supervisor_who_counted_does_not_see_until_the_line_is_settled(
    api, make_user, site, supervisor, open_count, storage
):
    counter = make_user("supervisor", site, username="sup-counter")
    line = open_count.lines.get()
    enter_count(user=counter, line=line, quantity=10)  # far from 40: recount by someone else
    line.refresh_from_db()
    assert line.status == "RECOUNT"
    rows = {r["location"]: r for r in _rows(api(counter), "/api/v1/stock-quants/")}
    assert rows["A-01-01"]["quantity"] is None
    # a supervisor who has not counted it sees it (default scope COUNTERS)
    rows = {r["location"]: r for r in _rows(api(supervisor), "/api/v1/stock-quants/")}
    assert rows["A-01-01"]["quantity"] == 40


def test_quantities_show_again_once_the_count_is_done(api, operator, open_count):
    enter_count(user=operator, line=open_count.lines.get(), quantity=40)
    rows = {r["location"]: r for r in _rows(api(operator), "/api/v1/stock-quants/")}
    assert rows["A-01-01"]["quantity"] == 40


def test_the_strict_scope_hides_quantities_from_every_counter(api, supervisor, site, open_count, make_user):
    from governance.models import SiteRuleValue as Row

    Row.objects.create(key="counting.blind_stock_scope", site=site, value="ALL_COUNTERS", reason="strict audit")
    rows = {r["location"]: r for r in _rows(api(supervisor), "/api/v1/stock-quants/")}
    assert rows["A-01-01"]["quantity"] is None
    planner = make_user("planner", site, username="planner-x")  # cannot count: sees
    rows = {r["location"]: r for r in _rows(api(planner), "/api/v1/stock-quants/")}
    assert rows["A-01-01"]["quantity"] == 40


def test_the_schema_documents_hidden_quantities_as_nullable():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    quant = schema["components"]["schemas"]["StockQuant"]["properties"]
    level = schema["components"]["schemas"]["StockLevel"]["properties"]
    move = schema["components"]["schemas"]["StockMove"]["properties"]
    assert quant["quantity"].get("nullable") and quant["reserved"].get("nullable")
    assert level["available"].get("nullable") and level["on_hand"].get("nullable")
    assert move["quantity"].get("nullable")


def test_atp_hides_the_site_figures_of_an_item_being_counted(api, operator, supervisor, open_count):
    """ATP is available less allocated: the site total a counter must not read (API and the order-entry panel)."""
    body = api(operator).get("/api/v1/atp/?item=WIDGET").json()
    (row,) = body["sites"]
    assert row["blind"] is True
    assert [row[k] for k in ("available", "allocated", "available_to_promise", "can_promise_now")] == [None] * 4
    (row,) = api(supervisor).get("/api/v1/atp/?item=WIDGET").json()["sites"]
    assert (row["blind"], row["available"], row["available_to_promise"]) == (False, 100, 100)


def test_the_order_entry_atp_panel_and_the_item_page_hide_them_too(client, operator, site, open_count):
    client.force_login(operator)
    panel = client.get("/orders/atp/", {"row": "1", "item-1": "WIDGET", "quantity-1": "5"}, HTTP_HX_REQUEST="true")
    assert panel.status_code == 200
    text = panel.content.decode()
    assert "blind count" in text and "ATP 100" not in text
    page = client.get("/items/WIDGET/")
    assert page.status_code == 200
    assert "blind count" in page.content.decode()
    assert '<td class="num">100</td>' not in page.content.decode()


def test_count_exceptions_and_approvals_carry_no_variance_value_for_counters(
    api, make_user, site, supervisor, operator, open_count
):
    """value / unit cost = units: the variance value betrays the expected quantity to whoever counted."""
    from governance.models import ExceptionCase
    from tests.factories import set_rule_now

    set_rule_now(key="counting.approval_value", value="50.00", site=site)
    line = open_count.lines.get()
    enter_count(user=operator, line=line, quantity=10)  # 40 expected: beyond tolerance, recount
    other = make_user("operator", site, username="operator2")
    line.refresh_from_db()
    enter_count(user=other, line=line, quantity=10)  # confirmed: 30 x 10.00 = 300 waits for approval
    case = ExceptionCase.objects.get(code__code="COUNT_VARIANCE")
    assert "300" not in case.summary and "value" not in case.details
    approval = ApprovalRequest.objects.get(kind="COUNT")
    assert "300" not in approval.reason
    (seen,) = [a for a in api(operator).get("/api/v1/approvals/").json()["results"] if a["kind"] == "COUNT"]
    assert seen["value"] is None
    (seen,) = [a for a in api(supervisor).get("/api/v1/approvals/").json()["results"] if a["kind"] == "COUNT"]
    assert Decimal(seen["value"]) == Decimal("300.00")


def test_the_stock_admin_leaves_out_what_a_counter_may_not_see(client, operator, open_count, storage, storage2):
    from inventory.models import StockLevel, StockQuant

    _staff(operator, "view_stockquant", "view_stocklevel", "view_stockmove")
    client.force_login(operator)
    hidden = StockQuant.objects.get(location=storage)
    shown = StockQuant.objects.get(location=storage2)
    listing = client.get("/admin/inventory/stockquant/")
    assert listing.status_code == 200
    assert f"/admin/inventory/stockquant/{shown.pk}/change/" in listing.content.decode()
    assert f"/admin/inventory/stockquant/{hidden.pk}/change/" not in listing.content.decode()
    assert client.get(f"/admin/inventory/stockquant/{hidden.pk}/change/").status_code in (302, 404)
    level = StockLevel.objects.get(item=hidden.item)
    assert client.get(f"/admin/inventory/stocklevel/{level.pk}/change/").status_code in (302, 404)
    moves = client.get("/admin/inventory/stockmove/").content.decode()
    assert "A-01-01" not in moves and "A-01-02" in moves


# --- 4. credit fields need a credit role or the home-site admin ---------------------------------------------


@pytest.fixture
def far_customer(other_site):
    return CustomerFactory(code="FARCO", home_site=other_site, credit_limit=Decimal("1000.00"))


def test_a_planner_of_another_site_cannot_change_credit_fields(api, make_user, site, far_customer):
    planner = make_user("planner", site, username="planner-dc1")
    client = api(planner)
    response = client.patch("/api/v1/customers/FARCO/", {"credit_limit": "9999999", "credit_overdue": False})
    assert response.status_code == 403, response.content
    far_customer.refresh_from_db()
    assert far_customer.credit_limit == Decimal("1000.00")
    # the same planner may still change the customer's other master data
    response = client.patch("/api/v1/customers/FARCO/", {"priority": 2}, format="json")
    assert response.status_code == 200, response.content


def test_a_planner_of_the_home_site_is_no_credit_controller_either(make_user, other_site, far_customer):
    planner = make_user("planner", other_site, username="planner-dc2")
    with pytest.raises(PermissionDenied):
        update_customer(user=planner, customer=far_customer, credit_overdue=True)
    with pytest.raises(PermissionDenied):  # moving the customer home is a credit decision too
        update_customer(user=planner, customer=far_customer, home_site=None)


def test_the_credit_role_or_the_home_site_admin_changes_credit_and_it_is_in_history(
    make_user, site, other_site, far_customer
):
    controller = make_user("credit", other_site, username="credit-dc2")
    update_customer(user=controller, customer=far_customer, credit_limit=Decimal("2500.00"))
    home_admin = make_user("admin", other_site, username="admin-dc2")
    update_customer(user=home_admin, customer=far_customer, credit_overdue=True)
    far_customer.refresh_from_db()
    assert (far_customer.credit_limit, far_customer.credit_overdue) == (Decimal("2500.00"), True)
    users = list(far_customer.history.order_by("history_id").values_list("history_user__username", flat=True))
    assert users[-2:] == ["credit-dc2", "admin-dc2"]
    # a credit controller of another site is not this customer's
    with pytest.raises(PermissionDenied):
        update_customer(user=make_user("credit", site, username="credit-dc1"), customer=far_customer, credit_limit=1)


def test_creating_a_customer_with_credit_needs_the_credit_role(make_user, site):
    planner = make_user("planner", site, username="planner-new")
    with pytest.raises(PermissionDenied):
        create_customer(user=planner, code="NEWCO", name="New", home_site=site, credit_limit=Decimal("5000"))
    assert not Customer.objects.filter(code="NEWCO").exists()
    create_customer(user=planner, code="NEWCO", name="New", home_site=site)  # no credit given: allowed


def test_the_customer_admin_does_not_bypass_the_credit_check(client, make_user, site, far_customer):
    planner = _staff(make_user("planner", site, username="planner-staff"), "view_customer", "change_customer")
    client.force_login(planner)
    url = f"/admin/orders/customer/{far_customer.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    for flag in ("active", "allow_partial_shipment", "allow_backorders", "allow_substitution"):
        if not data.get(flag):
            data.pop(flag, None)
    data.update(credit_limit="9999999.00", credit_overdue="on", home_site=str(far_customer.home_site_id))
    client.post(url, data)
    far_customer.refresh_from_db()
    assert (far_customer.credit_limit, far_customer.credit_overdue) == (Decimal("1000.00"), False)
