"""shipments/{id}/labels/ (ZPL with each package's SSCC) and the packages' `sscc` in shipments/; another site's
shipment is a 404; the carrier registry and the manual adapter."""

import pytest

from inventory.models import Location
from inventory.policy.barcodes import check_digit
from tests.factories import LocationFactory
from warehouse.models import Package

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipment_id(site, item, stock, make_user, api):
    from datetime import timedelta

    from django.utils import timezone

    from orders.services import allocate_orders, create_order, release_order
    from tests.factories import CustomerFactory

    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    stock(item, LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE), 20)
    user = make_user(["coordinator", "supervisor", "operator"], site, username="floor")
    order = create_order(
        user=user,
        customer=CustomerFactory(code="C1", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "WIDGET", "quantity": 5}],
    )
    release_order(user=user, order=order)
    allocate_orders([order.pk])
    client = api(user)
    wave = client.post("/api/v1/waves/", {"site": "DC1", "max_orders": 10}, format="json").json()
    task = client.post(f"/api/v1/waves/{wave['id']}/release/").json()["pick_tasks"][0]
    client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 5, "location": "B-01"}, format="json")
    packed = client.post(
        f"/api/v1/waves/{wave['id']}/pack/", {"packages": [{"weight_grams": 500}, {"weight_grams": 700}]}, format="json"
    )
    assert packed.status_code in (200, 201), packed.json()
    return packed.json()[0]["id"], user


def test_zpl_labels_carry_each_packages_sscc_with_its_check_digit(api, shipment_id, outsider):
    pk, user = shipment_id
    client = api(user)
    answer = client.get(f"/api/v1/shipments/{pk}/labels/")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/zpl")
    text = answer.content.decode()
    ssccs = list(Package.objects.filter(shipment_id=pk).order_by("number").values_list("sscc", flat=True))
    assert len(ssccs) == 2
    for code in ssccs:
        assert int(code[-1]) == check_digit(code[:-1])
        assert f"^BCN,150,Y,N,N,D^FH_^FD(00){code}^FS" in text
    assert text.count("^BY3,3,150") == 2
    shown = client.get(f"/api/v1/shipments/{pk}/").json()["packages"]
    assert [p["sscc"] for p in shown] == ssccs
    slip = client.get(f"/api/v1/shipments/{pk}/packing-slip/").content.decode()
    assert all(f"(00){code}" in slip for code in ssccs)
    assert api(outsider).get(f"/api/v1/shipments/{pk}/labels/").status_code == 404


def test_packing_gives_the_ssccs_and_printing_only_reads(api, shipment_id, make_user, site):
    from governance.models import DocumentSequence

    pk, _ = shipment_id
    given = list(Package.objects.filter(shipment_id=pk).order_by("number").values_list("sscc", flat=True))
    assert len(given) == 2 and all(len(code) == 18 for code in given) and len(set(given)) == 2
    serials = DocumentSequence.objects.get(prefix="SSCC").last_value
    auditor = make_user("auditor", site)
    for _ in range(2):  # a reader prints them as often as it likes: nothing is written
        answer = api(auditor).get(f"/api/v1/shipments/{pk}/labels/")
        assert answer.status_code == 200
        assert all(code in answer.content.decode() for code in given)
        assert api(auditor).get(f"/api/v1/shipments/{pk}/packing-slip/").status_code == 200
    assert list(Package.objects.filter(shipment_id=pk).order_by("number").values_list("sscc", flat=True)) == given
    assert DocumentSequence.objects.get(prefix="SSCC").last_value == serials


def test_a_package_packed_without_an_sscc_gets_it_when_the_shipment_ships(api, shipment_id):
    """Packages packed before SSCCs were given at packing (older data): labels answer 409 and the confirmation
    gives them their SSCCs before the shipment leaves."""
    pk, user = shipment_id
    Package.objects.filter(shipment_id=pk).update(sscc=None)
    client = api(user)
    refused = client.get(f"/api/v1/shipments/{pk}/labels/")
    assert refused.status_code == 409 and "confirmed" in refused.json()["detail"]
    shipped = client.post(
        f"/api/v1/shipments/{pk}/confirm/", {"carrier": "MANUAL", "tracking_number": "PRO-1"}, format="json"
    )
    assert shipped.status_code == 200, shipped.json()
    codes = list(Package.objects.filter(shipment_id=pk).values_list("sscc", flat=True))
    assert len(codes) == 2 and all(int(c[-1]) == check_digit(c[:-1]) for c in codes)
    assert client.get(f"/api/v1/shipments/{pk}/labels/").status_code == 200


def test_the_registry_falls_back_to_the_manual_adapter_and_loads_plug_ins(settings):
    from warehouse import carriers
    from warehouse.carriers.manual import ManualCarrier

    carriers.registry.cache_clear()
    try:
        assert isinstance(carriers.adapter_for("SOME-LTL"), ManualCarrier)

        settings.CARRIER_ADAPTERS = {"acme": "tests.warehouse.test_labels_api.AcmeCarrier"}
        carriers.registry.cache_clear()
        assert isinstance(carriers.adapter_for("ACME"), AcmeCarrier)
        settings.CARRIER_ADAPTERS = {"BAD": "tests.warehouse.test_labels_api.NotACarrier"}
        carriers.registry.cache_clear()
        with pytest.raises(TypeError, match="has no rate"):
            carriers.registry()
    finally:
        carriers.registry.cache_clear()


def test_manual_adapter_cleans_tracking_numbers():
    from core.errors import ValidationFailed
    from warehouse.carriers.manual import ManualCarrier

    adapter = ManualCarrier()
    assert adapter.clean_tracking_number(" pro 1234-5\r") == "PRO1234-5"
    for bad in ("", "??", "x" * 41):
        with pytest.raises(ValidationFailed) as exc:
            adapter.clean_tracking_number(bad)
        assert exc.value.errors[0]["field"] == "tracking_number"


class AcmeCarrier:
    code = "ACME"

    def rate(self, shipment, packages):
        return []

    def label(self, shipment, packages, *, request=None):
        from warehouse.carriers import CarrierDocument

        return CarrierDocument(b"%PDF-1.4", "application/pdf", "acme.pdf")

    def track(self, shipment):
        raise NotImplementedError

    def clean_tracking_number(self, raw):
        return raw.strip()


class NotACarrier:
    code = "BAD"


def test_carrier_rates_tracking_and_label_through_the_api(api, shipment_id, make_user, site, outsider):
    from governance.models import OutboxMessage
    from warehouse.models import Shipment

    pk, user = shipment_id
    client = api(user)
    rates = client.get(f"/api/v1/shipments/{pk}/rates/")
    assert rates.status_code == 200, rates.json()
    body = rates.json()
    assert body["adapter"] == "MANUAL" and body["rates"][0]["service"] == "LTL" and body["rates"][0]["amount"] is None
    assert "2 piece(s), 1.2 kg" in body["rates"][0]["note"]
    label = client.get(f"/api/v1/shipments/{pk}/carrier-label/")
    assert label.status_code == 200 and label["Content-Type"].startswith("text/html")
    assert "bill of lading" in label.content.decode().lower()
    # a bad number is a field error and ships nothing
    no_carrier = client.post(f"/api/v1/shipments/{pk}/tracking/", {"tracking_number": "PRO-1"}, format="json")
    assert no_carrier.status_code == 400 and no_carrier.json()["errors"][0]["field"] == "carrier"
    bad = client.post(f"/api/v1/shipments/{pk}/tracking/", {"tracking_number": "??", "carrier": "LTL-X"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "tracking_number"
    assert Shipment.objects.get(pk=pk).status == Shipment.Status.PACKED
    # a reader may look but not ship
    auditor = make_user("auditor", site)
    assert api(auditor).get(f"/api/v1/shipments/{pk}/tracking/").status_code == 200
    refused = api(auditor).post(
        f"/api/v1/shipments/{pk}/tracking/", {"tracking_number": "PRO-9", "carrier": "LTL-X"}, format="json"
    )
    assert refused.status_code == 403
    assert Shipment.objects.get(pk=pk).status == Shipment.Status.PACKED
    # the scanned number, cleaned by the adapter, confirms the shipment
    done = client.post(
        f"/api/v1/shipments/{pk}/tracking/", {"tracking_number": " pro 777\r", "carrier": "ltl-x"}, format="json"
    )
    assert done.status_code == 200, done.json()
    assert (done.json()["status"], done.json()["carrier"], done.json()["tracking_number"]) == (
        "SHIPPED",
        "LTL-X",
        "PRO777",
    )
    tracked = client.get(f"/api/v1/shipments/{pk}/tracking/").json()
    assert (tracked["number"], tracked["status"]) == ("PRO777", "SHIPPED") and tracked["shipped_at"]
    # a second number without correct keeps the first (409); with correct it replaces it and emits the correction
    again = client.post(f"/api/v1/shipments/{pk}/tracking/", {"tracking_number": "PRO778"}, format="json")
    assert again.status_code == 409
    fixed = client.post(
        f"/api/v1/shipments/{pk}/tracking/", {"tracking_number": "PRO778", "correct": True}, format="json"
    )
    assert fixed.status_code == 200 and fixed.json()["tracking_number"] == "PRO778"
    assert OutboxMessage.objects.filter(topic="shipment.tracking_corrected", document_key=f"shipment:{pk}").count() == 1
    assert api(outsider).get(f"/api/v1/shipments/{pk}/rates/").status_code == 404
    assert api(outsider).post(f"/api/v1/shipments/{pk}/tracking/", {"tracking_number": "X-1"}).status_code == 404
