"""cycle-counts/ through the API: blind counting, recount, approval by someone who did not count, refusals and
other sites."""

import json

import pytest

from governance.models import ApprovalRequest
from inventory.models import CycleCount, CycleCountLine, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import move_stock
from tests.inventory.test_counts import set_rule, snapshot

pytestmark = pytest.mark.django_db

EXPECTED = 4321  # a number that cannot appear by chance in a response
BLIND = {"expected_quantity", "counted_quantity", "first_quantity", "recount_quantity", "variance", "variance_value"}


@pytest.fixture
def counter(make_user, site):
    return make_user("operator", site, username="counter1")


@pytest.fixture
def counter2(make_user, site):
    return make_user("operator", site, username="counter2")


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="approver")


@pytest.fixture
def counted_site(site, item, storage, stock):
    stock(item, storage, EXPECTED)
    return site


def make_count(api, supervisor, **extra):
    response = api(supervisor).post(
        "/api/v1/cycle-counts/", {"site": "DC1", "locations": ["A-01-01"], **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def count_line(api, user, count, line, quantity, **extra):
    return api(user).post(
        f"/api/v1/cycle-counts/{count['id']}/lines/{line['id']}/count/", {"quantity": quantity, **extra}, format="json"
    )


def assert_blind(response):
    text = response.content.decode()
    assert str(EXPECTED) not in text

    def walk(value):
        if isinstance(value, dict):
            assert all(value[name] is None for name in BLIND & set(value)), value  # null, as the schema says
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(json.loads(text))


def test_counters_never_see_the_expected_quantity(api, counted_site, supervisor, counter, counter2):
    count = make_count(api, supervisor)
    assert_blind(api(counter).get(f"/api/v1/cycle-counts/{count['id']}/"))
    assert_blind(api(supervisor).get(f"/api/v1/cycle-counts/{count['id']}/"))  # not before counting either
    assert_blind(api(counter).get("/api/v1/cycle-counts/"))
    (line,) = count["lines"]
    assert set(line) >= {"id", "location", "item", "lot", "status"} and line["location"] == "A-01-01"

    first = count_line(api, counter, count, line, 4000)  # far off: recount
    assert first.status_code == 200 and first.json()["status"] == "RECOUNT"
    assert_blind(first)
    assert_blind(api(counter2).get(f"/api/v1/cycle-counts/{count['id']}/"))  # the recounter sees no first count

    second = count_line(api, counter2, count, line, 4000)
    assert second.status_code == 200 and second.json()["status"] in ("POSTED", "PENDING_APPROVAL")
    assert_blind(second)
    assert_blind(api(counter).get(f"/api/v1/cycle-counts/{count['id']}/"))


def test_approvers_who_did_not_count_see_quantities_after_counting(api, counted_site, supervisor, counter, approver):
    count = make_count(api, supervisor)
    count_line(api, counter, count, count["lines"][0], EXPECTED)
    (line,) = api(approver).get(f"/api/v1/cycle-counts/{count['id']}/").json()["lines"]
    assert (line["expected_quantity"], line["counted_quantity"], line["variance"]) == (EXPECTED, EXPECTED, 0)
    assert line["first_counted_by"] == "counter1"


def test_count_in_another_unit_is_converted_and_fractions_are_refused(api, counted_site, supervisor, counter, item):
    count = make_count(api, supervisor)
    line = count["lines"][0]
    before = snapshot()
    for bad in ({"quantity": "1.5"}, {"quantity": -1}, {"quantity": "abc"}, {"quantity": 1, "unit": "BOX"}):
        response = api(counter).post(
            f"/api/v1/cycle-counts/{count['id']}/lines/{line['id']}/count/", bad, format="json"
        )
        assert response.status_code == 400, (bad, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    assert snapshot() == before
    # 360 cases of 12 = 4320 of 4321: within tolerance, 10.00 a unit: posted at once
    response = count_line(api, counter, count, line, 360, unit="CASE")
    assert response.status_code == 200 and response.json()["status"] == "POSTED"
    assert StockQuant.objects.get(item=item, location__code="A-01-01").quantity == 4320
    assert find_inventory_drift() == []


def test_recount_by_the_same_counter_is_refused_and_changes_nothing(api, counted_site, supervisor, counter):
    count = make_count(api, supervisor)
    line = count["lines"][0]
    count_line(api, counter, count, line, 1)
    before = snapshot()
    response = count_line(api, counter, count, line, 2)
    assert response.status_code == 422
    assert snapshot() == before


def test_moves_between_creating_and_counting_are_no_variance(
    api, counted_site, supervisor, counter, item, storage, storage2
):
    count = make_count(api, supervisor)
    move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=321)
    response = count_line(api, counter, count, count["lines"][0], 4000)
    assert response.json()["status"] == "POSTED"
    assert not StockMove.objects.filter(kind="COUNT").exists()


def test_variance_above_threshold_is_approved_only_by_someone_who_did_not_count(
    api, counted_site, supervisor, counter, approver, item, make_user
):
    set_rule(counted_site, "counting.approval_value", "50")
    count = make_count(api, supervisor)
    line = count["lines"][0]
    counting_boss = make_user(["supervisor", "operator"], counted_site, username="counting-boss")
    count_line(api, counter, count, line, 4300)  # -21 (0.49%): within tolerance, worth 210.00 > 50
    pending = api(approver).get("/api/v1/cycle-counts/", {"status": "PENDING_APPROVAL"}).json()["results"]
    assert [c["number"] for c in pending] == [count["number"]]
    assert ApprovalRequest.objects.filter(kind="COUNT", status="PENDING").count() == 1

    before = snapshot()
    assert api(counter).post(f"/api/v1/cycle-counts/{count['id']}/approve/", {}, format="json").status_code == 403
    CycleCountLine.objects.filter(pk=line["id"]).update(first_counted_by=counting_boss)
    before = snapshot()
    response = api(counting_boss).post(f"/api/v1/cycle-counts/{count['id']}/approve/", {}, format="json")
    assert response.status_code == 422
    assert snapshot() == before

    response = api(approver).post(f"/api/v1/cycle-counts/{count['id']}/approve/", {"note": "ok"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "COMPLETED" and body["lines"][0]["variance"] == -21
    assert StockQuant.objects.get(item=item, location__code="A-01-01").quantity == 4300
    assert api(approver).post(f"/api/v1/cycle-counts/{count['id']}/reject/", {}, format="json").status_code == 409
    assert find_inventory_drift() == []


def test_other_sites_counts_are_not_found(api, counted_site, supervisor, counter, outsider):
    count = make_count(api, supervisor)
    line = count["lines"][0]
    before = snapshot()
    assert api(outsider).get(f"/api/v1/cycle-counts/{count['id']}/").status_code == 404
    assert api(outsider).get("/api/v1/cycle-counts/").json()["results"] == []
    assert count_line(api, outsider, count, line, 1).status_code == 404
    assert api(outsider).post(f"/api/v1/cycle-counts/{count['id']}/approve/", {}, format="json").status_code == 404
    response = api(outsider).post("/api/v1/cycle-counts/", {"site": "DC1", "locations": ["A-01-01"]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "site"
    assert snapshot() == before


def test_creating_counts_needs_a_supervisor_and_known_locations(api, counted_site, supervisor, counter):
    before = snapshot()
    response = api(counter).post("/api/v1/cycle-counts/", {"site": "DC1", "locations": ["A-01-01"]}, format="json")
    assert response.status_code == 403
    response = api(supervisor).post("/api/v1/cycle-counts/", {"site": "DC1", "locations": ["NOPE"]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "locations"
    response = api(supervisor).post("/api/v1/cycle-counts/", {"site": "DC1", "locations": []}, format="json")
    assert response.status_code == 400
    assert snapshot() == before
    make_count(api, supervisor)
    response = api(supervisor).post("/api/v1/cycle-counts/", {"site": "DC1", "locations": ["A-01-01"]}, format="json")
    assert response.status_code == 409  # already waiting on a count


def test_create_honours_the_idempotency_key(api, counted_site, supervisor):
    client = api(supervisor)
    body = {"site": "DC1", "locations": ["A-01-01"]}
    first = client.post("/api/v1/cycle-counts/", body, format="json", HTTP_IDEMPOTENCY_KEY="count-key-1")
    again = client.post("/api/v1/cycle-counts/", body, format="json", HTTP_IDEMPOTENCY_KEY="count-key-1")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert CycleCount.objects.count() == 1


def test_found_stock_is_recorded_on_the_count(api, counted_site, supervisor, counter, counter2):
    from tests.factories import ItemFactory

    ItemFactory(sku="GADGET")
    count = make_count(api, supervisor)
    response = api(counter).post(
        f"/api/v1/cycle-counts/{count['id']}/found/",
        {"location": "A-01-01", "item": "GADGET", "quantity": 2},
        format="json",
    )
    assert response.status_code == 201, response.content
    found = response.json()
    assert found["status"] == "RECOUNT" and found["trigger"] == "FOUND"
    assert count_line(api, counter2, count, found, 2).json()["status"] == "POSTED"
    assert StockQuant.objects.get(item__sku="GADGET").quantity == 2
    assert find_inventory_drift() == []


def test_counts_are_in_history(api, counted_site, supervisor, counter):
    count = make_count(api, supervisor)
    count_line(api, counter, count, count["lines"][0], EXPECTED)
    obj = CycleCount.objects.get(pk=count["id"])
    assert obj.history.filter(history_user__username="supervisor1").exists()
    assert obj.lines.get().history.filter(history_user__username="counter1").exists()


def test_exceptions_approvals_and_the_ledger_stay_blind_for_counters(
    api, counted_site, supervisor, counter, counter2, approver
):
    """Every response a counter can read about a count (the count, its exceptions, its approval request, the
    and the COUNT move's note) names no expected quantity, counted quantity or variance, even after counting is over."""
    set_rule(counted_site, "counting.approval_value", "50")
    count = make_count(api, supervisor)
    line = count["lines"][0]
    assert count_line(api, counter, count, line, 4000).json()["status"] == "RECOUNT"
    second = count_line(api, counter2, count, line, 4001)  # -320, worth 3200.00: waits for approval
    assert second.status_code == 200 and second.json()["status"] == "PENDING_APPROVAL"
    for user in (counter, counter2):
        for path in ("/api/v1/exceptions/", "/api/v1/approvals/", f"/api/v1/cycle-counts/{count['id']}/"):
            response = api(user).get(path)
            assert response.status_code == 200
            assert_blind(response)
            assert "4001" not in response.content.decode() and "-320" not in response.content.decode()
    assert api(approver).post(f"/api/v1/cycle-counts/{count['id']}/approve/", {}, format="json").status_code == 200
    for user in (counter, counter2):
        assert_blind(api(user).get("/api/v1/exceptions/"))
    (move,) = StockMove.objects.filter(kind="COUNT")
    assert "4001" not in move.note and str(EXPECTED) not in move.note
    (seen,) = api(approver).get(f"/api/v1/cycle-counts/{count['id']}/").json()["lines"]
    assert (seen["expected_quantity"], seen["counted_quantity"], seen["variance"]) == (EXPECTED, 4001, -320)
    assert find_inventory_drift() == []


def test_a_loss_on_reserved_units_is_accepted_blind_not_refused_with_numbers(
    api, counted_site, supervisor, counter, item
):
    from inventory.services import reserve_stock

    reserve_stock(user=supervisor, quant=StockQuant.objects.get(item=item, location__code="A-01-01"), quantity=4321)
    count = make_count(api, supervisor)
    response = count_line(api, counter, count, count["lines"][0], 4320)  # one missing; no free unit
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "PENDING_APPROVAL"
    assert_blind(response)
    assert not StockMove.objects.filter(kind="COUNT").exists()


def test_the_generic_approvals_endpoint_keeps_segregation_of_duties(
    api, counted_site, supervisor, approver, item, make_user
):
    set_rule(counted_site, "counting.approval_value", "50")
    count = make_count(api, supervisor)
    counting_boss = make_user(["supervisor", "operator"], counted_site, username="counting-boss")
    assert count_line(api, counting_boss, count, count["lines"][0], 4300).json()["status"] == "PENDING_APPROVAL"
    approval = ApprovalRequest.objects.get(kind="COUNT", status="PENDING")
    other_boss = make_user(["supervisor", "operator"], counted_site, username="other-boss")
    CycleCountLine.objects.filter(pk=count["lines"][0]["id"]).update(first_counted_by=other_boss)  # counted too
    before = snapshot()
    for user in (counting_boss, other_boss):  # the requester; someone else who counted
        response = api(user).post(f"/api/v1/approvals/{approval.pk}/approve/", {}, format="json")
        assert response.status_code == 422, response.content
        assert response["Content-Type"].startswith("application/problem+json")
    assert snapshot() == before
    response = api(approver).post(f"/api/v1/approvals/{approval.pk}/approve/", {}, format="json")
    assert response.status_code == 200, response.content
    assert StockQuant.objects.get(item=item, location__code="A-01-01").quantity == 4300
    assert CycleCount.objects.get(pk=count["id"]).status == "COMPLETED"
    assert find_inventory_drift() == []
