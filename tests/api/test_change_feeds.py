"""Change feeds (issue 14): ?updated_since= on the lists integrators poll, oldest change first, site scoped."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Item, StockLevel
from orders.models import SalesOrder
from tests.factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.django_db


def _rows(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_sales_orders_changed_since_a_moment_come_oldest_change_first(api, make_user, site, other_site):
    coordinator = make_user("coordinator", site, username="feed-coord")
    mine = CustomerFactory(code="FEED-A", home_site=site)
    theirs = CustomerFactory(code="FEED-B", home_site=other_site)
    from orders.models import SalesOrder as SO
    from orders.services import create_order

    item = ItemFactory(sku="FEED-SO")
    now = timezone.now()
    other = make_user("coordinator", other_site, username="feed-other")

    def order(user, customer):
        return create_order(
            user=user,
            customer=customer,
            promised_date=now.date() + timedelta(days=2),
            lines=[{"item": item.sku, "quantity": 1}],
        )

    old, new, foreign = order(coordinator, mine), order(coordinator, mine), order(other, theirs)
    SO.objects.filter(pk=old.pk).update(updated_at=now - timedelta(hours=2))
    SO.objects.filter(pk=new.pk).update(updated_at=now - timedelta(minutes=5))
    SO.objects.filter(pk=foreign.pk).update(updated_at=now - timedelta(minutes=5))
    since = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    client = api(coordinator)
    assert [r["number"] for r in _rows(client, f"/api/v1/sales-orders/?updated_since={since}")] == [new.number]
    since = (now - timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    # oldest change first, and never another site's order
    assert [r["number"] for r in _rows(client, f"/api/v1/sales-orders/?updated_since={since}")] == [
        old.number,
        new.number,
    ]
    # an explicit ordering still wins
    rows = _rows(client, f"/api/v1/sales-orders/?updated_since={since}&ordering=-updated_at")
    assert [r["number"] for r in rows] == [new.number, old.number]
    assert SalesOrder.objects.count() == 3


def test_a_bad_moment_is_a_field_error(api, make_user, site):
    client = api(make_user("coordinator", site, username="feed-bad"))
    response = client.get("/api/v1/sales-orders/?updated_since=yesterday")
    assert response.status_code == 400
    assert any(e["field"] == "updated_since" for e in response.json()["errors"])


def test_items_and_stock_levels_have_feeds_too(api, make_user, site, stock, storage):
    client = api(make_user("planner", site, username="feed-planner"))
    a, b = ItemFactory(sku="FEED-1"), ItemFactory(sku="FEED-2")
    now = timezone.now()
    Item.objects.filter(pk=a.pk).update(updated_at=now - timedelta(days=2))
    since = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    skus = [r["sku"] for r in _rows(client, f"/api/v1/items/?updated_since={since}")]
    assert "FEED-2" in skus and "FEED-1" not in skus
    stock(b, storage, 7)
    StockLevel.objects.filter(item=b).update(updated_at=now)
    levels = _rows(client, f"/api/v1/stock-levels/?updated_since={since}")
    assert [(r["item"], r["available"]) for r in levels] == [("FEED-2", 7)]


def test_feed_rows_carry_updated_at_and_a_pick_or_a_rejection_moves_the_order(api, make_user, site, stock, storage):
    """Integrators deduplicate on (id, updated_at): the order lists show it; a pick (only the order's line
    changes) and a PO line's rejection after inspection bring the order back into the feed."""
    from inventory.models import Location
    from orders.models import PurchaseOrder
    from orders.services import allocate_orders, create_order, create_purchase_order, create_supplier, release_order
    from orders.services.purchasing import record_rejection
    from tests.factories import LocationFactory
    from warehouse.models import PickTask
    from warehouse.services import confirm_pick, plan_wave, release_wave

    boss = make_user(["coordinator", "supervisor", "operator", "admin"], site, username="feed-boss")
    item = ItemFactory(sku="FEED-PICK")
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    stock(item, storage, 10)
    order = create_order(
        user=boss,
        customer=CustomerFactory(code="FEED-C", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": item.sku, "quantity": 3}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])
    client = api(boss)
    listed = _rows(client, "/api/v1/sales-orders/")[0]
    assert listed["updated_at"] and client.get(f"/api/v1/sales-orders/{order.pk}/").json()["updated_at"]
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = PickTask.objects.get(wave=wave)
    SalesOrder.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    since = (timezone.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert _rows(client, f"/api/v1/sales-orders/?updated_since={since}") == []
    confirm_pick(user=boss, task=task, quantity=3, location_code=storage.code)
    assert [r["number"] for r in _rows(client, f"/api/v1/sales-orders/?updated_since={since}")] == [order.number]

    po = create_purchase_order(
        user=boss,
        supplier=create_supplier(user=None, code="FEED-SUP", name="Feed supplier", lead_time_days=3),
        site=site,
        expected_date=timezone.localdate(),
        lines=[{"item": item.sku, "quantity": 5}],
    )
    assert _rows(client, "/api/v1/purchase-orders/")[0]["updated_at"]
    line = po.lines.get()
    line.received_quantity = 5
    line.save(update_fields=["received_quantity"])
    PurchaseOrder.objects.filter(pk=po.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert _rows(client, f"/api/v1/purchase-orders/?updated_since={since}") == []
    record_rejection(po_line_id=line.pk, quantity=2, user=boss)
    assert [r["number"] for r in _rows(client, f"/api/v1/purchase-orders/?updated_since={since}")] == [po.number]
