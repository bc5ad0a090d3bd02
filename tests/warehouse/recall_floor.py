"""A floor for recall tests: lot L-RECALL of JAM at DC1 (some shipped to ACME, some reserved by an open pick) and
at DC2; used by the API, page and browser tests of the lot recall."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from governance.models import SiteMembership
from inventory.models import Location
from inventory.services import receive_stock
from orders.services import allocate_orders, create_order, release_order
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, LotFactory
from warehouse.services import confirm_pick, confirm_shipment, pack_wave, plan_wave, release_wave


def make_recall_floor(site, other_site, boss) -> dict:
    """DC1: 50 JAM of lot L-RECALL in B-01, 5 shipped to ACME (SHP), 4 picked-for by an open pick task; DC2: 30 in
    B-01. ``boss`` must be coordinator, supervisor and operator at ``site`` (made so here) and supervisor at
    ``other_site``."""
    for role in ("coordinator", "supervisor", "operator"):
        SiteMembership.objects.get_or_create(user=boss, site=site, role=role)
    SiteMembership.objects.get_or_create(user=boss, site=other_site, role="supervisor")
    item = ItemFactory(sku="JAM", description="Strawberry jam", lot_tracked=True)
    lot = LotFactory(item=item, number="L-RECALL", expiry_date=timezone.localdate() + timedelta(days=300))
    bin1 = LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    bin2 = LocationFactory(site=other_site, code="B-01", kind=Location.Kind.STORAGE)
    receive_stock(user=None, item=item, location=bin1, quantity=50, status="AVAILABLE", lot=lot, check_permission=False)
    receive_stock(user=None, item=item, location=bin2, quantity=30, status="AVAILABLE", lot=lot, check_permission=False)
    customer = CustomerFactory(code="ACME", name="Acme Stores", home_site=site, credit_limit="1000000")
    promised = timezone.localdate() + timedelta(days=1)

    def order(quantity):
        o = create_order(
            user=boss, customer=customer, promised_date=promised, lines=[{"item": "JAM", "quantity": quantity}]
        )
        release_order(user=boss, order=o)
        allocate_orders([o.pk])
        o.refresh_from_db()
        return o

    shipped = order(5)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = wave.pick_tasks.get()
    confirm_pick(user=boss, task=task, quantity=5, location_code="B-01", lot_number="L-RECALL")
    (shipment,) = pack_wave(user=boss, wave=wave)
    shipment = confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number="1Z999")
    open_order = order(4)
    open_wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    return {
        "item": item,
        "lot": lot,
        "bin1": bin1,
        "bin2": bin2,
        "shipment": shipment,
        "shipped_order": shipped,
        "open_order": open_order,
        "open_task": open_wave.pick_tasks.get(),
        "customer": customer,
    }
