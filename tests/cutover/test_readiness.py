"""The readiness scorecard (issue 13): each criterion computed from the data, its threshold a site rule; pure
policy over counts tested without a database, the selector against PostgreSQL, one criterion broken at a time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from cutover import readiness as policy
from cutover.models import TrainingRecord
from cutover.readiness import AMBER, GREEN, RED, Facts, Subscription, Thresholds
from cutover.selectors import readiness_facts, scorecard
from governance.models import (
    ExceptionCase,
    ExceptionCode,
    SiteMembership,
    WebhookDelivery,
    WebhookSubscription,
)
from inventory.models import Location
from inventory.services import receive_stock
from orders.models import ReplenishmentPolicy
from tests.factories import ItemFactory, LocationFactory, UserFactory, set_rule_now
from warehouse.models import Discrepancy, PutawayRule, Receipt

from .readiness_helpers import certify, complete_item, counted, posted_batch, ready_site

T = Thresholds()


def by_key(criteria):
    return {c["key"]: c for c in criteria}


# --- pure policy ------------------------------------------------------------------------------------------------


def test_a_percentage_meets_its_minimum_exactly_at_the_boundary():
    assert policy.meets_percent(49, 50, Decimal("98"))  # 98.0 %
    assert not policy.meets_percent(97, 99, Decimal("98"))  # 97.98 % would round to 98.0 but is below
    assert policy.percent(97, 99) == Decimal("98.0")


def test_item_completeness_is_red_below_the_minimum_green_at_it_and_amber_with_nothing_to_measure():
    at = policy.items_criterion(Facts(items_total=50, items_complete=49, items_without_barcode=1), T)
    below = policy.items_criterion(
        Facts(items_total=50, items_complete=48, items_without_weight=2, items_incomplete_examples=("A", "B")), T
    )
    assert at["status"] == GREEN and at["value"] == "98 %" and at["threshold"] == ">= 98 %"
    assert below["status"] == RED and "2 without a weight (e.g. A, B)" in below["evidence"]
    assert "Fix:" in below["evidence"]
    assert policy.items_criterion(Facts(), T)["status"] == AMBER


def test_reconciliation_is_red_without_a_posted_batch_or_a_reconciliation_and_above_its_lines_outside():
    assert policy.reconciliation_criterion(Facts(), T)["value"] == "no posted batch"
    assert policy.reconciliation_criterion(Facts(batch_number="IMP-1"), T)["value"] == "not reconciled"
    done = Facts(batch_number="IMP-1", reconciled=True, reconciliation_lines=10, reconciliation_lines_outside=1)
    assert policy.reconciliation_criterion(done, T)["status"] == RED
    assert policy.reconciliation_criterion(done, Thresholds(max_reconciliation_lines_outside=1))["status"] == GREEN


def test_people_trained_counts_a_person_only_when_every_process_of_their_roles_is_valid():
    roles = {1: {"operator"}, 2: {"supervisor"}, 3: {"operator", "supervisor"}, 4: {"coordinator"}}
    operator_processes = policy.TRAINING_BY_ROLE["operator"]
    valid = {(1, p) for p in operator_processes} | {(2, p) for p in operator_processes}
    valid |= {(3, p) for p in policy.TRAINING_BY_ROLE["supervisor"]}
    to_train, trained, missing = policy.people_trained(roles, valid)
    assert (to_train, trained) == (3, 2)  # the coordinator is not counted; the supervisor lacks EXCEPTIONS
    assert missing == {"EXCEPTIONS": 1}


def test_integrations_are_amber_without_subscriptions_and_red_when_one_gave_up_or_is_silent():
    now = timezone.now()
    assert policy.integrations_criterion(Facts(), T)["status"] == AMBER
    fine = Subscription("wms", now, 3, 0)
    assert policy.integrations_criterion(Facts(subscriptions=(fine,)), T)["status"] == GREEN
    gave_up = Subscription("erp", now, 3, 1)
    silent = Subscription("tms", None, 0, 0)
    red = policy.integrations_criterion(Facts(subscriptions=(fine, gave_up, silent)), T)
    assert red["status"] == RED and red["value"] == "1 of 3 green"
    assert "erp: 1 given up" in red["evidence"] and "tms: no success in 72 h" in red["evidence"]


def test_exceptions_are_amber_when_open_within_the_limits_and_red_beyond():
    assert policy.exceptions_criterion(Facts(), T)["status"] == GREEN
    assert policy.exceptions_criterion(Facts(open_exceptions=10), T)["status"] == AMBER
    assert policy.exceptions_criterion(Facts(open_exceptions=11), T)["status"] == RED
    assert policy.exceptions_criterion(Facts(open_exceptions=1, overdue_exceptions=1), T)["status"] == RED


def test_the_overall_status_is_the_worst_criterion():
    assert policy.overall([{"status": GREEN}, {"status": AMBER}]) == AMBER
    assert policy.overall([{"status": AMBER}, {"status": RED}]) == RED
    assert policy.overall([{"status": GREEN}]) == GREEN


# --- computed from the data -------------------------------------------------------------------------------------


@pytest.fixture
def ready(db):
    return ready_site()


@pytest.mark.django_db
def test_a_prepared_site_scores_green_on_every_criterion_but_integrations(ready, django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
        criteria = scorecard(ready.site)
    statuses = {c["key"]: c["status"] for c in criteria}
    assert statuses.pop("integrations.webhooks") == AMBER  # no subscription: not applicable
    assert set(statuses.values()) == {GREEN}, statuses
    for c in criteria:
        assert set(c) >= {"key", "label", "status", "value", "threshold", "evidence"}


@pytest.mark.django_db
def test_items_missing_a_barcode_weight_or_case_turn_master_data_red_at_the_sites_minimum(ready):
    for n in range(3):  # 3 more complete items: 4 stocked in all
        other = complete_item(f"OK-{n}")
        ReplenishmentPolicy.objects.create(site=ready.site, item=other, min_quantity=0, max_quantity=10)
    bare = ItemFactory(sku="BARE", units={"EA": 1})  # only its base unit, no weight, no barcode
    receive_stock(user=None, item=bare, location=ready.bin, quantity=1, status="AVAILABLE", check_permission=False)
    items = by_key(scorecard(ready.site))["master_data.items"]
    assert items["status"] == RED and items["value"] == "80 %"
    assert "1 without a handling unit" in items["evidence"] and "BARE" in items["evidence"]
    set_rule_now(key="readiness.master_data_min_percent", value="80", site=ready.site)
    assert by_key(scorecard(ready.site))["master_data.items"]["status"] == GREEN  # exactly at the minimum


@pytest.mark.django_db
def test_pick_faces_without_min_max_locations_without_capacity_and_no_putaway_rule_are_red(ready):
    LocationFactory(site=ready.site, code="P-02", kind=Location.Kind.PICK, capacity=10)
    LocationFactory(site=ready.site, code="R-02", kind=Location.Kind.STORAGE)  # no capacity
    LocationFactory(site=ready.site, code="R-OLD", kind=Location.Kind.STORAGE, active=False)  # not counted
    PutawayRule.objects.filter(site=ready.site).update(active=False)
    c = by_key(scorecard(ready.site))
    assert c["master_data.pick_faces"]["status"] == RED and "P-02" in c["master_data.pick_faces"]["evidence"]
    assert c["master_data.locations"]["value"] == "75 %" and "R-02" in c["master_data.locations"]["evidence"]
    assert c["master_data.putaway_rules"]["status"] == RED


@pytest.mark.django_db
def test_reconciliation_reads_the_latest_posted_batch_and_its_latest_reconciliation(ready):
    c = by_key(scorecard(ready.site))["cutover.reconciliation"]
    assert c["status"] == GREEN and ready.batch.number in c["evidence"]
    later = posted_batch(ready.site, ready.lead, lines_outside=2)
    c = by_key(scorecard(ready.site))["cutover.reconciliation"]
    assert c["status"] == RED and c["value"] == "2 outside" and later.number in c["evidence"]
    set_rule_now(key="readiness.max_reconciliation_lines_outside", value=2, site=ready.site)
    assert by_key(scorecard(ready.site))["cutover.reconciliation"]["status"] == GREEN
    later.reconciliations.all().delete()
    assert by_key(scorecard(ready.site))["cutover.reconciliation"]["value"] == "not reconciled"


@pytest.mark.django_db
def test_open_receiving_discrepancies_count_until_their_exception_is_resolved(ready, site):
    receipt = Receipt.objects.create(number="RCV-9", site=ready.site, location=ready.bin)
    disc = Discrepancy.objects.create(receipt=receipt, item=ready.item, code="SHORT", detail="2 missing")
    code = ExceptionCode.objects.get_or_create(
        code="SHORT_RECEIPT",
        defaults={"name": "Short", "severity": "LOW", "owner_role": "supervisor", "sla_minutes": 60},
    )[0]
    case = ExceptionCase.objects.create(
        site=ready.site,
        code=code,
        content_type=ContentType.objects.get_for_model(Discrepancy),
        object_id=disc.pk,
        subject_label="RCV-9",
        severity="LOW",
        owner_role="supervisor",
        due_at=timezone.now() + timedelta(hours=1),
    )
    c = by_key(scorecard(ready.site))
    assert c["operations.discrepancies"]["status"] == RED and "1 SHORT" in c["operations.discrepancies"]["evidence"]
    assert c["operations.exceptions"]["status"] == AMBER  # open, not overdue, within the limit
    set_rule_now(key="readiness.max_open_discrepancies", value=1, site=ready.site)
    assert by_key(scorecard(ready.site))["operations.discrepancies"]["status"] == GREEN
    case.status = ExceptionCase.Status.RESOLVED
    case.resolved_at = timezone.now()
    case.save()
    assert readiness_facts(ready.site).open_discrepancies == 0


@pytest.mark.django_db
def test_overdue_exceptions_turn_the_exceptions_criterion_red(ready):
    code = ExceptionCode.objects.get_or_create(
        code="TEST_CASE", defaults={"name": "Test", "severity": "LOW", "owner_role": "supervisor", "sla_minutes": 60}
    )[0]
    ExceptionCase.objects.create(
        site=ready.site,
        code=code,
        content_type=ContentType.objects.get_for_model(Location),
        object_id=ready.bin.pk,
        subject_label="R-01",
        severity="LOW",
        owner_role="supervisor",
        due_at=timezone.now() - timedelta(minutes=1),
    )
    c = by_key(scorecard(ready.site))["operations.exceptions"]
    assert c["status"] == RED and c["value"] == "1 open, 1 overdue"


@pytest.mark.django_db
def test_count_accuracy_is_the_share_of_recent_lines_without_variance(ready):
    other = complete_item("CNT-2")
    for n in range(48):
        loc = LocationFactory(site=ready.site, code=f"C-{n:02d}", kind=Location.Kind.STORAGE, capacity=10)
        counted(ready.count, loc, other, counted_qty=5, expected=5)
    off = LocationFactory(site=ready.site, code="C-OFF", kind=Location.Kind.STORAGE, capacity=10)
    line = counted(ready.count, off, other, counted_qty=4, expected=5)
    c = by_key(scorecard(ready.site))["operations.count_accuracy"]
    assert c["status"] == GREEN and c["value"] == "98 %"  # 49 of 50: at the minimum
    line.counted_quantity = 3
    line.save()
    off2 = LocationFactory(site=ready.site, code="C-OFF2", kind=Location.Kind.STORAGE, capacity=10)
    counted(ready.count, off2, other, counted_qty=0, expected=5)
    c = by_key(scorecard(ready.site))["operations.count_accuracy"]
    assert c["status"] == RED and "49 of 51" in c["evidence"]
    # lines counted before the window do not count
    ready.count.lines.update(first_counted_at=timezone.now() - timedelta(days=15))
    assert by_key(scorecard(ready.site))["operations.count_accuracy"]["value"] == "no count"


@pytest.mark.django_db
def test_every_required_role_needs_its_minimum_of_active_users(ready):
    c = by_key(scorecard(ready.site))["people.roles"]
    assert c["status"] == GREEN and c["value"] == "4 of 4 roles"
    ready.coordinator.is_active = False
    ready.coordinator.save()
    c = by_key(scorecard(ready.site))["people.roles"]
    assert c["status"] == RED and "coordinator: 0" in c["evidence"]
    set_rule_now(key="readiness.min_staff_per_role", value=2, site=ready.site)
    assert "admin" in by_key(scorecard(ready.site))["people.roles"]["evidence"].split("Fix:")[1]


@pytest.mark.django_db
def test_training_counts_valid_certifications_of_operators_and_supervisors(ready):
    assert by_key(scorecard(ready.site))["people.training"]["value"] == "100 %"
    newcomer = UserFactory(username="dc7-new-op")
    SiteMembership.objects.create(user=newcomer, site=ready.site, role="operator")
    c = by_key(scorecard(ready.site))["people.training"]
    assert c["status"] == RED and c["value"] == "66.7 %" and "PICKING: 1" in c["evidence"]
    # an expired certification, or one of another site, does not count
    certify(
        ready.site,
        newcomer,
        recorded_by=ready.lead,
        valid_until=timezone.localdate() - timedelta(days=1),
        certified_on=timezone.localdate() - timedelta(days=30),
    )
    assert by_key(scorecard(ready.site))["people.training"]["status"] == RED
    certify(ready.site, newcomer, recorded_by=ready.lead)
    assert by_key(scorecard(ready.site))["people.training"]["status"] == GREEN
    TrainingRecord.objects.filter(user=newcomer, process="PICKING").update(revoked_at=timezone.now())
    assert by_key(scorecard(ready.site))["people.training"]["status"] == RED
    set_rule_now(key="readiness.training_min_percent", value="66.6", site=ready.site)
    assert by_key(scorecard(ready.site))["people.training"]["status"] == GREEN


@pytest.mark.django_db
def test_integrations_need_a_recent_success_of_the_site_and_nothing_given_up(ready, make_user, site):
    owner = make_user("integrator", ready.site, site, username="dc7-integrator")
    sub = WebhookSubscription.objects.create(owner=owner, name="wms", url="https://example.com/hook", secret="s")
    sub.sites.add(ready.site)
    everywhere = WebhookSubscription.objects.create(owner=owner, name="all", url="https://example.com/a", secret="s")
    assert everywhere  # no sites: not scoped to the site, not judged
    c = by_key(scorecard(ready.site))["integrations.webhooks"]
    assert c["status"] == RED and "wms: no success" in c["evidence"]
    now = timezone.now()

    def delivery(n, status, site_, at):
        return WebhookDelivery.objects.create(
            subscription=sub,
            event_id=n,
            event_uuid=f"00000000-0000-0000-0000-{n:012d}",
            event_type="stock.moved",
            site=site_,
            status=status,
            last_attempt_at=at,
            delivered_at=at if status == "SUCCEEDED" else None,
        )

    delivery(1, "SUCCEEDED", site, now)  # another site's event: not evidence for this one
    assert by_key(scorecard(ready.site))["integrations.webhooks"]["status"] == RED
    delivery(2, "SUCCEEDED", ready.site, now - timedelta(hours=71))
    assert by_key(scorecard(ready.site))["integrations.webhooks"]["status"] == GREEN
    delivery(3, "GAVE_UP", ready.site, now - timedelta(hours=1))
    c = by_key(scorecard(ready.site))["integrations.webhooks"]
    assert c["status"] == RED and "wms: 1 given up" in c["evidence"]
    set_rule_now(key="readiness.integration_window_hours", value=1, site=ready.site)  # both fall out of it
    assert "no success in 1 h" in by_key(scorecard(ready.site))["integrations.webhooks"]["evidence"]


def test_in_flight_document_batches_must_each_be_reconciled_within_the_tolerance():
    from cutover.readiness import DocumentBatch, documents_criterion

    assert documents_criterion(Facts(), T)["status"] == GREEN  # nothing imported: nothing to reconcile
    unreconciled = Facts(document_batches=(DocumentBatch("IMP-1", "OPEN_SALES_ORDERS"),))
    red = documents_criterion(unreconciled, T)
    assert red["status"] == RED and "not reconciled: IMP-1" in red["evidence"]
    outside = Facts(document_batches=(DocumentBatch("IMP-2", "OPEN_PURCHASE_ORDERS", lines_total=4, lines_outside=1),))
    assert (
        documents_criterion(outside, T)["status"] == RED
        and "IMP-2 (1 of 4)" in documents_criterion(outside, T)["evidence"]
    )
    fine = Facts(document_batches=(DocumentBatch("IMP-3", "TRANSFERS_IN_TRANSIT", lines_total=4, lines_outside=0),))
    assert documents_criterion(fine, T)["status"] == GREEN
    assert "cutover.documents" in {c["key"] for c in policy.evaluate(Facts(), T)}


def test_the_document_facts_read_each_posted_batch_and_its_latest_reconciliation(site, make_user, item):
    from cutover.models import ImportBatch, Reconciliation

    lead = make_user("admin", site)
    batch = ImportBatch.objects.create(
        site=site,
        kind="OPEN_PURCHASE_ORDERS",
        status="POSTED",
        number="IMP-9",
        created_by=lead,
        posted_at=timezone.now(),
    )
    assert readiness_facts(site).document_batches[0].lines_total is None
    Reconciliation.objects.create(
        batch=batch, created_by=lead, lines_total=3, lines_outside=2, tolerance_percent=Decimal("0.5")
    )
    Reconciliation.objects.create(
        batch=batch, created_by=lead, lines_total=3, lines_outside=0, tolerance_percent=Decimal("0.5")
    )
    facts = readiness_facts(site)
    assert [(b.number, b.lines_outside) for b in facts.document_batches] == [("IMP-9", 0)]  # the latest one
