"""A site's roll-out lifecycle (issue 13): PLANNED -> CUTOVER -> PILOT -> LIVE with each step recorded, gates
with an enterprise admin's waiver, the cutover freeze (the ledger refuses stock-changing work but the cutover
postings; allocation takes no stock at a frozen site) and hypercare."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import NotFound, PermissionDenied, StateConflict, ValidationFailed
from governance.models import Site, SiteStageChange
from governance.services import lifecycle
from governance.services.sites import site_local_date
from inventory.models import InventoryStatus, Location, StockMove, StockQuant
from inventory.services import MoveLine, post_moves, receive_stock, virtual_location
from tests.factories import CustomerFactory, LocationFactory, SiteFactory

pytestmark = pytest.mark.django_db
S = Site.Stage


@pytest.fixture
def new_site(db):
    return SiteFactory(code="DC6", name="New DC", region="EAST", stage=S.PLANNED)


@pytest.fixture
def enterprise_admin(make_user):
    return make_user([], superuser=True, username="ent-admin")


@pytest.fixture
def site_admin(make_user, new_site):
    return make_user("admin", new_site, username="dc6-admin")


@pytest.fixture
def gate(monkeypatch):
    """A LIVE gate whose criteria the test sets."""
    criteria: list[dict] = []
    monkeypatch.setattr(lifecycle, "_gates", {S.LIVE: [lambda site: [dict(c) for c in criteria]]})
    return criteria


def test_a_site_steps_through_its_lifecycle_and_each_step_is_recorded(new_site, site_admin, enterprise_admin, gate):
    gate.append({"key": "counts", "label": "Pre-go-live count accuracy", "status": "GREEN", "value": 99.5})
    lifecycle.change_stage(user=site_admin, site=new_site, to_stage=S.CUTOVER, note="freeze starts")
    lifecycle.change_stage(user=site_admin, site=new_site, to_stage=S.PILOT)
    with pytest.raises(PermissionDenied):  # the go-live is an enterprise decision
        lifecycle.change_stage(user=site_admin, site=new_site, to_stage=S.LIVE)
    step = lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.LIVE, note="go")
    new_site.refresh_from_db()
    assert new_site.stage == S.LIVE and new_site.stage_changed_at == step.changed_at
    assert new_site.hypercare_ends_on == site_local_date(new_site) + timedelta(days=30)
    assert lifecycle.in_hypercare(new_site)
    steps = list(SiteStageChange.objects.filter(site=new_site).values_list("from_stage", "to_stage", "changed_by"))
    assert steps == [
        (S.PLANNED, S.CUTOVER, site_admin.pk),
        (S.CUTOVER, S.PILOT, site_admin.pk),
        (S.PILOT, S.LIVE, enterprise_admin.pk),
    ]
    assert step.scorecard[0]["key"] == "counts" and step.waived_by is None
    assert new_site.history.filter(stage=S.CUTOVER).exists()  # the site's history shows each stage too
    lifecycle.end_hypercare(user=site_admin, site=new_site)
    new_site.refresh_from_db()
    assert not lifecycle.in_hypercare(new_site, today=site_local_date(new_site) + timedelta(days=1))


def test_steps_out_of_order_unknown_stages_and_outsiders_are_refused(new_site, make_user, site, enterprise_admin):
    with pytest.raises(StateConflict, match="cannot move to PILOT"):
        lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.PILOT)
    with pytest.raises(ValidationFailed):
        lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage="SOMEDAY")
    elsewhere = make_user("admin", site, username="dc1-admin")
    with pytest.raises(NotFound):  # another site's admin: the site reads as unknown
        lifecycle.change_stage(user=elsewhere, site=new_site, to_stage=S.CUTOVER)
    supervisor = make_user("supervisor", new_site, username="dc6-sup")
    with pytest.raises(PermissionDenied):
        lifecycle.change_stage(user=supervisor, site=new_site, to_stage=S.CUTOVER)
    new_site.refresh_from_db()
    assert new_site.stage == S.PLANNED and not SiteStageChange.objects.exists()
    # one step back is allowed: a cutover abandoned
    lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.CUTOVER)
    lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.PLANNED, note="data not ready")
    new_site.refresh_from_db()
    assert new_site.stage == S.PLANNED


def test_a_red_gate_blocks_go_live_unless_an_enterprise_admin_waives_it(
    new_site, site_admin, enterprise_admin, make_user, gate
):
    lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.CUTOVER)
    lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.PILOT)
    gate.append({"key": "recon", "label": "Reconciliation", "status": "RED", "value": "2.1 %", "threshold": "0.5 %"})
    with pytest.raises(StateConflict, match=r"Reconciliation \(2.1 %, needs 0.5 %\)"):
        lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.LIVE)
    new_site.refresh_from_db()
    assert new_site.stage == S.PILOT
    step = lifecycle.change_stage(
        user=enterprise_admin, site=new_site, to_stage=S.LIVE, waiver_reason="legacy count was wrong; recount done"
    )
    assert step.waived_by == enterprise_admin and "recount" in step.waiver_reason
    assert step.scorecard == [gate[0]]
    new_site.refresh_from_db()
    assert new_site.stage == S.LIVE


def test_a_site_in_cutover_is_frozen_except_for_the_cutover_postings(new_site, enterprise_admin, item):
    bin_ = LocationFactory(site=new_site, code="B-01", kind=Location.Kind.STORAGE)
    receive_stock(user=None, item=item, location=bin_, quantity=5, status="AVAILABLE", check_permission=False)
    lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.CUTOVER)
    with pytest.raises(StateConflict, match="DC6 is in its cutover freeze"):
        receive_stock(user=None, item=item, location=bin_, quantity=3, status="AVAILABLE", check_permission=False)
    assert StockQuant.objects.get(location=bin_).quantity == 5
    # the opening balances of the cutover still post
    source = virtual_location(new_site.pk, Location.Kind.ADJUSTMENT)
    line = MoveLine(item.pk, None, 7, source, "", bin_, InventoryStatus.AVAILABLE)
    post_moves(lines=[line], kind=StockMove.Kind.OPENING, user=None, reference="CUTOVER-1")
    assert StockQuant.objects.get(location=bin_).quantity == 12
    lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.PILOT)
    receive_stock(user=None, item=item, location=bin_, quantity=3, status="AVAILABLE", check_permission=False)
    assert StockQuant.objects.get(location=bin_).quantity == 15


def test_allocation_takes_no_stock_at_a_frozen_site(new_site, site, enterprise_admin, item, make_user):
    from orders.models import SalesOrder
    from orders.services import allocate_orders, create_order, release_order

    frozen_bin = LocationFactory(site=new_site, code="B-01", kind=Location.Kind.STORAGE)
    receive_stock(user=None, item=item, location=frozen_bin, quantity=50, status="AVAILABLE", check_permission=False)
    lifecycle.change_stage(user=enterprise_admin, site=new_site, to_stage=S.CUTOVER)
    coordinator = make_user("coordinator", new_site, site, username="coord")

    def order_at(home):
        order = create_order(
            user=coordinator,
            customer=CustomerFactory(home_site=home, credit_limit="100000"),
            promised_date=timezone.localdate() + timedelta(days=3),
            lines=[{"item": item.sku, "quantity": 4}],
        )
        release_order(user=coordinator, order=order)
        allocate_orders([order.pk])
        order.refresh_from_db()
        return order

    waiting = order_at(new_site)
    assert waiting.status in (SalesOrder.Status.BACKORDERED, SalesOrder.Status.RELEASED)
    assert not waiting.lines.get().allocations.exists()
    # with stock at a live site it routes there
    live_bin = LocationFactory(site=site, code="L-01", kind=Location.Kind.STORAGE)
    receive_stock(user=None, item=item, location=live_bin, quantity=10, status="AVAILABLE", check_permission=False)
    routed = order_at(new_site)
    assert routed.status == SalesOrder.Status.ALLOCATED
    assert set(routed.lines.get().allocations.values_list("site_id", flat=True)) == {site.pk}


def test_the_api_steps_a_site_and_lists_its_steps(api, new_site, site_admin, enterprise_admin, make_user, site, gate):
    url = f"/api/v1/sites/{new_site.code}/stage/"
    client = api(site_admin)
    assert client.get(f"/api/v1/sites/{new_site.code}/").json()["stage"] == "PLANNED"
    bad = client.post(url, {"stage": "SOMEDAY"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "stage"
    wrong = client.post(url, {"stage": "LIVE"}, format="json")
    assert wrong.status_code == 403
    made = client.post(url, {"stage": "CUTOVER", "note": "freeze from Friday 18:00"}, format="json")
    assert made.status_code == 201, made.json()
    assert (made.json()["from_stage"], made.json()["to_stage"], made.json()["changed_by"]) == (
        "PLANNED",
        "CUTOVER",
        site_admin.username,
    )
    boss = api(enterprise_admin)
    assert boss.post(url, {"stage": "LIVE"}, format="json").status_code == 409  # not the next step
    client.post(url, {"stage": "PILOT"}, format="json")
    gate.append({"key": "roles", "label": "Every role staffed", "status": "RED", "value": 5, "threshold": 7})
    blocked = boss.post(url, {"stage": "LIVE"}, format="json")
    assert blocked.status_code == 409 and "Every role staffed" in blocked.json()["detail"]
    waived = boss.post(url, {"stage": "LIVE", "waiver_reason": "two roles covered by DC1"}, format="json")
    assert waived.status_code == 201 and waived.json()["waived_by"] == enterprise_admin.username
    steps = client.get(url).json()
    assert [s["to_stage"] for s in steps] == ["CUTOVER", "PILOT", "LIVE"]
    assert steps[-1]["scorecard"][0]["key"] == "roles"
    outsider = make_user("admin", site, username="dc1-admin")
    assert api(outsider).get(url).status_code == 404
    assert api(outsider).post(url, {"stage": "PLANNED"}, format="json").status_code == 404
