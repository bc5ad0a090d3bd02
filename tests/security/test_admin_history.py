"""Issue 12, finding 1: Django admin history is scoped like the change views, read only, and 404 for anything else.

The replays first (each failed before the fix), then a walk over every model registered with ``admin.site`` as
one-site staff users: another site's object answers 404 on its change, history and history-version pages, the own
site's history answers 200 without revert controls, no POST to a history page is accepted (and nothing changes),
and ids that are no ids answer 404.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from core.errors import DomainError
from governance.admin import HistoryAdmin, ScopedModelAdmin
from governance.models import ApprovalRequest, SiteMembership
from governance.services import open_exception
from inventory.models import Adjustment, CycleCountLine, Location, StockMove, StockQuant
from inventory.services import adjust_stock, decide_adjustment
from tests.factories import ItemFactory, LocationFactory, ZoneFactory, set_rule_now

pytestmark = pytest.mark.django_db

APPS = ("governance", "inventory", "orders", "warehouse", "cutover", "reporting")


def _staff(make_user, role, site, *, username, perms=("view",)):
    """A staff user (not superuser) of one site with Django model permissions on the project's apps."""
    user = make_user(role, site, username=username)
    user.is_staff = True
    user.save()
    wanted = Permission.objects.filter(content_type__app_label__in=APPS)
    user.user_permissions.set([p for p in wanted if p.codename.split("_", 1)[0] in perms])
    return user


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _version_url(model, pk, version):
    """``.../<pk>/history/<version>/`` (for an admin without history pages too: that path is no page there)."""
    return f"{_url(model, 'history', pk)}{version}/"


def _first_version(obj):
    return obj.history.order_by("history_id").values_list("history_id", flat=True).first()


def _state(model, pk):
    rows = list(model._default_manager.filter(pk=pk).values())
    history = getattr(model, "history", None)
    return rows, history.filter(**{model._meta.pk.attname: pk}).count() if history is not None else None


def _no_revert_controls(page: str) -> bool:
    return 'name="_save"' not in page and "Revert" not in page and "revert" not in page.lower().replace("reverted", "")


@pytest.fixture
def dc1_staff(make_user, site):
    return _staff(make_user, "supervisor", site, username="dc1-staff")


# --- replays ------------------------------------------------------------------------------------------------


def test_another_sites_history_and_versions_answer_404(client, admin_user, dc1_staff, make_user, other_site, stock):
    dc2 = make_user("supervisor", other_site, username="dc2-supervisor")
    item = ItemFactory(sku="DC2-ITEM", standard_cost="10.00")
    zone = ZoneFactory(site=other_site, code="DC2-Z")
    location = LocationFactory(site=other_site, code="DC2-A", zone=zone)
    stock(item, location, 100)
    adjustment = adjust_stock(user=dc2, location=location, item=item, quantity_delta=-60, reason_code="LOST", note="x")
    assert adjustment.status == "PENDING_APPROVAL"
    rule = set_rule_now(
        user=admin_user, key="inventory.adjustment_approval_value", value="250", reason="small", site=other_site
    )
    case, _ = open_exception(site=other_site, code="SHORT_PICK", subject=location, summary="short")
    from inventory.services.counts import create_cycle_count

    count = create_cycle_count(user=dc2, site=other_site, locations=[location])
    theirs = [
        ApprovalRequest.objects.get(site=other_site, kind="ADJUSTMENT"),
        case,
        SiteMembership.objects.get(user=dc2),
        rule,
        adjustment,
        count,
        count.lines.first(),
        location,
        zone,
    ]
    client.force_login(dc1_staff)

    for obj in theirs:
        model = type(obj)
        version = _first_version(obj)
        assert version is not None, model
        for url in (
            _url(model, "history", obj.pk),
            _version_url(model, obj.pk, version),
            _url(model, "change", obj.pk),
        ):
            assert client.get(url).status_code == 404, url


def test_a_version_of_another_object_answers_404_under_an_own_objects_url(client, dc1_staff, site, other_site):
    mine = LocationFactory(site=site, code="MINE-01")
    theirs = LocationFactory(site=other_site, code="THEIRS-01")
    client.force_login(dc1_staff)

    assert client.get(_version_url(Location, mine.pk, _first_version(mine))).status_code == 200
    assert client.get(_version_url(Location, mine.pk, _first_version(theirs))).status_code == 404
    assert client.get(_version_url(Location, theirs.pk, _first_version(mine))).status_code == 404


@pytest.mark.parametrize("who", ["site staff with view permission", "enterprise admin"])
def test_a_post_to_a_history_version_reverts_nothing(
    client, who, admin_user, dc1_staff, supervisor, item, storage, stock
):
    """The attack: an approved adjustment set back to PENDING from its history, then approved again, posted its
    ledger move twice."""
    stock(item, storage, 100)
    adjustment = adjust_stock(
        user=supervisor, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="x"
    )
    pending = _first_version(adjustment)
    decide_adjustment(user=admin_user, adjustment=adjustment, approve=True)
    adjustment.refresh_from_db()
    assert adjustment.status == "APPLIED"
    before = (_state(Adjustment, adjustment.pk), StockMove.objects.count(), list(StockQuant.objects.values()))
    client.force_login(dc1_staff if who.startswith("site") else admin_user)
    url = _version_url(Adjustment, adjustment.pk, pending)
    data = {
        f.attname: getattr(adjustment.history.get(history_id=pending), f.attname) or ""
        for f in Adjustment._meta.concrete_fields
    }

    for payload in ({**data, "_save": "Revert"}, {}):
        response = client.post(url, payload)
        assert response.status_code == 405, response.status_code
    assert client.post(_url(Adjustment, "history", adjustment.pk), data).status_code == 405

    assert (_state(Adjustment, adjustment.pk), StockMove.objects.count(), list(StockQuant.objects.values())) == before
    with pytest.raises(DomainError):
        decide_adjustment(user=admin_user, adjustment=Adjustment.objects.get(pk=adjustment.pk), approve=True)
    assert StockMove.objects.count() == before[1]


def test_a_history_version_is_shown_read_only_without_revert(client, dc1_staff, admin_user, site):
    zone = ZoneFactory(site=site, code="PICK")
    location = LocationFactory(site=site, code="A-01", zone=zone)
    location.aisle = "B"
    location.save()
    for user in (dc1_staff, admin_user):
        client.force_login(user)
        listing = client.get(_url(Location, "history", location.pk))
        version = client.get(_version_url(Location, location.pk, _first_version(location)))
        for response in (listing, version):
            assert response.status_code == 200
            assert _no_revert_controls(response.content.decode()), response.content.decode()
        page = version.content.decode()
        assert "A-01" in page
        assert 'name="aisle"' not in page and 'name="code"' not in page  # shown, not editable


def test_history_of_a_model_without_history_is_the_admin_log_and_has_no_versions(
    client, admin_user, dc1_staff, site, other_site
):
    from orders.models import ReplenishmentRun
    from orders.services.replenishment import request_run

    run = request_run(user=admin_user, site=site)
    far = request_run(user=admin_user, site=other_site)
    assert not hasattr(ReplenishmentRun, "history")
    for user in (dc1_staff, admin_user):
        client.force_login(user)
        assert client.get(_url(ReplenishmentRun, "change", run.pk)).status_code == 200
        # the change page's History link: Django's admin log of the run, not a 404
        assert client.get(_url(ReplenishmentRun, "history", run.pk)).status_code == 200
        assert client.get(_version_url(ReplenishmentRun, run.pk, 1)).status_code == 404
        assert client.post(_url(ReplenishmentRun, "history", run.pk)).status_code == 405
    client.force_login(dc1_staff)
    assert client.get(_url(ReplenishmentRun, "history", far.pk)).status_code == 404  # another site's run


@pytest.mark.parametrize("bad", ["abc", "1x", "1.5", "-1"])
def test_ids_that_are_no_ids_answer_404(client, dc1_staff, admin_user, site, bad):
    location = LocationFactory(site=site, code="A-01")
    for user in (dc1_staff, admin_user):
        client.force_login(user)
        for url in (
            _url(Location, "change", bad),
            _url(Location, "history", bad),
            _version_url(Location, bad, _first_version(location)),
            _version_url(Location, location.pk, bad),
        ):
            assert client.get(url).status_code == 404, url


def test_count_lines_stay_blind_in_history_and_another_sites_line_is_404(
    client, make_user, site, other_site, item, storage, stock
):
    staff = _staff(make_user, "supervisor", site, username="dc1-counter")
    stock(item, storage, 10)
    from inventory.services.counts import create_cycle_count

    mine = create_cycle_count(user=staff, site=site, locations=[storage]).lines.get()
    dc2 = make_user("supervisor", other_site, username="dc2-supervisor")
    their_location = LocationFactory(site=other_site, code="DC2-A")
    stock(item, their_location, 5)
    theirs = create_cycle_count(user=dc2, site=other_site, locations=[their_location]).lines.get()
    client.force_login(staff)

    assert client.get(_url(CycleCountLine, "history", mine.pk)).status_code == 403
    assert client.get(_version_url(CycleCountLine, mine.pk, _first_version(mine))).status_code == 403
    assert client.get(_url(CycleCountLine, "history", theirs.pk)).status_code == 404
    assert client.get(_version_url(CycleCountLine, theirs.pk, _first_version(theirs))).status_code == 404


# --- every registered model ---------------------------------------------------------------------------------

#: where a model's site is, for those not on their own ``site`` field (several: visible when any is the user's)
SITE_PATHS = {
    "governance.site": ("pk",),
    "inventory.cyclecountline": ("count__site",),
    "inventory.stockmove": ("from_location__site", "to_location__site"),
    "orders.transferorder": ("from_site", "to_site"),
    "orders.shipnoticeline": ("po_line__purchase_order__site",),
    "warehouse.discrepancy": ("receipt__site",),
    "cutover.reconciliation": ("batch__site",),
    "governance.rolloutwave": ("sites",),
}
#: rows of a user: another user's are not visible
USER_PATHS = {
    "governance.apitoken": "user",
    "governance.idempotencyrecord": "user",
    "governance.webhooksubscription": "owner",
}
#: master data shared by every site (no site): all visible to staff with the permission
SHARED = {
    "governance.exceptioncode",
    "governance.documentsequence",
    "inventory.item",
    "inventory.itemunit",
    "inventory.itemsubstitute",
    "inventory.lot",
    "orders.customer",
    "orders.supplier",
}
#: models of other apps (auth, periodic tasks): a site's staff has no permission on them at all
FOREIGN_APPS = {"auth", "django_celery_beat"}
#: empty in the walk (Django's and django-celery-beat's schedule kinds the demo does not use)
MAY_BE_EMPTY = {"django_celery_beat.clockedschedule", "django_celery_beat.solarschedule"}


def _label(model) -> str:
    return model._meta.label_lower


def _site_paths(model):
    if _label(model) in SITE_PATHS:
        return SITE_PATHS[_label(model)]
    names = {f.name for f in model._meta.fields}
    return ("site",) if "site" in names else ()


def _own_and_other(model, user, site):
    """(a row the user's site owns, a row of another site or user), either may be None."""
    qs = model._default_manager.order_by("pk")
    if hasattr(model, "history"):  # rows with versions first
        versioned = model.history.values(model._meta.pk.attname)
        qs = qs.alias(versioned=Q(pk__in=versioned)).order_by("-versioned", "pk")
    label = _label(model)
    if model._meta.app_label in FOREIGN_APPS:
        return None, qs.first()
    if label in USER_PATHS:
        field = USER_PATHS[label]
        return qs.filter(**{field: user}).first(), qs.exclude(**{field: user}).first()
    if label in SHARED:
        return qs.first(), None
    paths = _site_paths(model)
    assert paths, f"{label}: where is its site? (add it to SITE_PATHS or SHARED)"
    mine = Q()
    for path in paths:
        mine |= Q(**{path: site.pk})
    others = qs.exclude(mine)
    for path in paths:
        others = others.filter(**{f"{path}__isnull": False})
    return qs.filter(mine).first(), others.first()


def _cutover_batch(site, *, lead, approver):
    """An opening-balance batch of ``site``, posted (approved by ``approver``) and reconciled, through the services."""
    from cutover.services import create_batch, reconcile_batch, request_post, validate_batch
    from governance.services import decide_approval
    from inventory.models import Item

    location = LocationFactory(site=site, code=f"CUT-{site.code}", kind=Location.Kind.STORAGE)
    sku = Item.objects.filter(lot_tracked=False, active=True).order_by("pk").values_list("sku", flat=True).first()
    content = f"location,sku,quantity\r\n{location.code},{sku},1\r\n".encode()
    batch = create_batch(user=lead, site=site, kind="OPENING_BALANCES", content=content)
    batch = validate_batch(user=lead, batch=batch)
    batch, approval = request_post(user=lead, batch=batch)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()
    reconcile_batch(user=lead, batch=batch, rows=[{"sku": sku, "units": 1}])


def _going_live_rows(site, *, admin, trainee):
    """A training record of ``trainee`` at ``site`` (through the service) and a decided go-live request there."""
    from django.utils import timezone

    from cutover.models import GoLiveRequest
    from cutover.services import record_training

    record_training(user=admin, site=site, trainee=trainee, process="PICKING")
    GoLiveRequest.objects.create(site=site, requested_by=admin, status="REJECTED", decided_at=timezone.now())


@pytest.fixture
def network(admin_user, make_user, django_capture_on_commit_callbacks):
    """The small demo network (5 sites with activity, through the services) and what it lacks, also through the
    services: job runs, tokens, a return, replenishment runs and suggestions, a putaway rule at two sites."""
    from distribution_erp import demo
    from governance.api.authentication import generate_token
    from governance.models import IdempotencyRecord, Site
    from governance.services import record_job
    from orders.models import ReturnLine, SalesOrder
    from orders.services.replenishment import request_run
    from orders.services.returns import create_return
    from warehouse.models import PutawayRule

    demo.load_demo(scale=demo.SMALL)
    east, west = Site.objects.get(code="DC-EAST"), Site.objects.get(code="DC-WEST")
    users = {
        east: _staff(make_user, "supervisor", east, username="east-staff", perms=("view", "change")),
        west: _staff(make_user, "supervisor", west, username="west-staff", perms=("view", "change")),
    }
    for site, user in users.items():
        with record_job("walk", site=site) as counts:
            counts["done"] = 1
        generate_token(user=user, name="walk")
        IdempotencyRecord.objects.create(
            user=user, key=f"k-{site.code}", method="POST", path="/x/", request_hash="0" * 64
        )
        PutawayRule.objects.create(site=site, priority=1, abc_class="A", location_kinds="STORAGE")
        _cutover_batch(site, lead=admin_user, approver=user)
        _going_live_rows(site, admin=admin_user, trainee=user)
        from datetime import timedelta

        from django.utils import timezone

        from governance.services.rollout import create_wave

        today = timezone.localdate()
        create_wave(
            user=admin_user,
            code=f"W-{site.code}",
            planned_cutover=today,
            planned_go_live=today + timedelta(days=9),
            sites=[site],
        )
        with django_capture_on_commit_callbacks(execute=True):
            request_run(user=admin_user, site=site)
        # a webhook subscription of each site's staff and a delivery of an event of its site
        from governance.models import OutboxMessage
        from governance.services import open_exception
        from governance.services.webhooks import create_subscription, fan_out

        create_subscription(user=user, url="http://127.0.0.1:9/hook", sites=[site.code], name=f"walk {site.code}")
        open_exception(site=site, code="SHORT_PICK", subject=site, summary="walk")
        fan_out(OutboxMessage.objects.filter(kind="EVENT", topic="exception.opened", site=site).latest("pk"))
    # an adjustment waiting at DC-EAST too (the demo's one is at DC-WEST)
    quant = StockQuant.objects.filter(site=east, location__kind="STORAGE", quantity__gt=10).order_by("pk").first()
    adjust_stock(
        user=admin_user, location=quant.location, item=quant.item, quantity_delta=-1, reason_code="LOST", note="w"
    )
    # versions of rows that are made without history: suggestions (bulk) and the code catalog (a migration)
    from governance.models import ExceptionCode
    from orders.models import ReplenishmentSuggestion
    from orders.services.replenishment import dismiss_suggestion

    for suggestion in ReplenishmentSuggestion.objects.filter(status="OPEN").order_by("site_id", "pk"):
        if not suggestion.history.exists():
            dismiss_suggestion(user=admin_user, suggestion=suggestion)
            break
    code = ExceptionCode.objects.order_by("pk").first()
    code.sla_minutes += 1
    code.save()  # as the catalog's admin page saves it
    shipped = SalesOrder.objects.filter(status="SHIPPED").order_by("pk").first()
    line = shipped.lines.filter(shipped_quantity__gt=0).first()
    create_return(
        user=admin_user, order=shipped, lines=[{"line": line, "quantity": 1, "reason": ReturnLine.Reason.DAMAGED}]
    )
    return users


def _check(client, results, method, url, expected, *, data=None, follow=False):
    response = client.post(url, data or {}, follow=follow) if method == "POST" else client.get(url, follow=follow)
    results[(method, response.status_code)] += 1
    assert response.status_code in expected, f"{method} {url}: {response.status_code}, expected {expected}"
    return response


def test_walk_every_registered_models_admin_history_as_one_site_staff(client, network):
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    # the migrations write these rows, but a transactional test earlier in the same process flushes them
    interval, _ = IntervalSchedule.objects.get_or_create(every=30, period="minutes")
    CrontabSchedule.objects.get_or_create(minute="0", hour="3")
    PeriodicTask.objects.get_or_create(name="admin history walker", defaults={"task": "noop", "interval": interval})
    results: Counter = Counter()
    seen_other, seen_own, no_rows, unversioned = set(), set(), set(), set()
    for model, model_admin in admin.site._registry.items():
        label = _label(model)
        foreign = model._meta.app_label in FOREIGN_APPS
        if not foreign:
            assert isinstance(model_admin, ScopedModelAdmin), f"{label}: its admin must derive from ScopedModelAdmin"
        history_pages = isinstance(model_admin, HistoryAdmin) and hasattr(model, "history")
        try:
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history", args=[1, 1])
            assert isinstance(model_admin, HistoryAdmin) or foreign, (
                f"{label}: history versions from SimpleHistoryAdmin"
            )
        except NoReverseMatch:
            pass
        # a user outside the staff's sites is not in the scoped user admin's queryset: 404, as an id of nobody
        refused = ({403, 404} if label == "auth.user" else {403}) if foreign else {404}
        for site, user in network.items():
            client.force_login(user)
            own, other = _own_and_other(model, user, site)
            if own is None and other is None:
                no_rows.add(label)
            if other is not None:
                seen_other.add(label)
                before = _state(model, other.pk)
                version = _first_version(other) if hasattr(model, "history") else 1
                _check(client, results, "GET", _url(model, "change", other.pk), refused)
                _check(client, results, "GET", _url(model, "history", other.pk), refused)
                _check(client, results, "GET", _version_url(model, other.pk, version), refused, follow=True)
                _check(client, results, "POST", _url(model, "history", other.pk), refused | {405, 403})
                _check(
                    client, results, "POST", _version_url(model, other.pk, version), refused | {405, 403}, follow=True
                )
                assert _state(model, other.pk) == before, label
            if own is not None:
                seen_own.add(label)
                blind = label == "inventory.cyclecountline" and own.status in ("OPEN", "RECOUNT")
                if blind:
                    expected = {403}
                else:
                    # django-simple-history's list, or Django's admin log for models without history of their own
                    # (replenishment runs: the change page's History link must not lead to a 404)
                    expected = {200}
                listing = _check(client, results, "GET", _url(model, "history", own.pk), expected)
                if listing.status_code == 200:
                    assert _no_revert_controls(listing.content.decode()), label
                before = _state(model, own.pk)
                _check(client, results, "POST", _url(model, "history", own.pk), {405})
                if history_pages and _first_version(own) is None:
                    unversioned.add(label)
                elif history_pages:
                    version = _first_version(own)
                    shown = _check(
                        client, results, "GET", _version_url(model, own.pk, version), {403} if blind else {200}
                    )
                    if shown.status_code == 200:
                        assert _no_revert_controls(shown.content.decode()), label
                    record = model.history.get(history_id=version)
                    data = {f.attname: getattr(record, f.attname, None) for f in model._meta.concrete_fields}
                    payload = {k: "" if v is None else v for k, v in data.items()} | {"_save": "Revert"}
                    _check(client, results, "POST", _version_url(model, own.pk, version), {405}, data=payload)
                    _check(client, results, "GET", _version_url(model, own.pk, "abc"), {403} if blind else {404})
                assert _state(model, own.pk) == before, label
            for bad in ("abc", "1x"):
                # Django's own admins (users, groups, periodic tasks) send an id of nothing to the index (302)
                no_id = ({302, 403} | (refused & {404})) if foreign else {404}
                _check(client, results, "GET", _url(model, "change", bad), no_id)
                _check(client, results, "GET", _url(model, "history", bad), no_id)
    registered = {_label(m) for m in admin.site._registry}
    site_bound = {
        label
        for label in registered
        if label not in SHARED and label.split(".")[0] not in FOREIGN_APPS and label not in MAY_BE_EMPTY
    }
    assert no_rows <= MAY_BE_EMPTY, f"no rows to walk: {sorted(no_rows - MAY_BE_EMPTY)}"
    assert site_bound <= seen_other, f"never saw another site's row of {sorted(site_bound - seen_other)}"
    assert (
        registered - MAY_BE_EMPTY - {label for label in registered if label.split(".")[0] in FOREIGN_APPS}
    ) <= seen_own
    print(f"\nno versions to open (rows made without history): {sorted(unversioned)}")
    print(f"\nadmin walk: {len(registered)} models, {sum(results.values())} requests:", dict(sorted(results.items())))
