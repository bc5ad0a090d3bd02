"""Cutover import of putaway rules and replenishment policies (an item's at the site, a pick face's min/max), through
warehouse's create_putaway_rule and orders' create_policy / create_pick_face_policy: every refusal at once and
nothing written; posted once; the scorecard counts them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cutover.models import ImportRowError
from cutover.services import create_batch, post_batch, request_post, validate_batch
from governance.services import decide_approval
from inventory.models import Location
from orders.models import PickFacePolicy, ReplenishmentPolicy
from tests.factories import LocationFactory, ZoneFactory
from warehouse.models import PutawayRule

from .conftest import csv_of

pytestmark = pytest.mark.django_db


def errors_of(batch):
    return {(e.row, e.column, e.code) for e in ImportRowError.objects.filter(batch=batch)}


def dry_run(user, site, kind, content):
    return validate_batch(user=user, batch=create_batch(user=user, site=site, kind=kind, content=content))


def approve(batch, lead, approver):
    batch, approval = request_post(user=lead, batch=batch)
    decide_approval(approval=approval, user=approver, approve=True)
    batch.refresh_from_db()
    return batch


def test_putaway_rules(site, lead, approver, goods, other_site):
    ZoneFactory(site=site, code="COLD")
    ZoneFactory(site=other_site, code="FAR")
    header = "priority,sku,category,storage_type,abc_class,zone,location_kinds,allow_mixed_lots,active"
    content = csv_of(
        header,
        "10,MILK,,,,COLD,PICK;STORAGE,yes,",
        "20,,DAIRY,CHILLED,,COLD,STORAGE,,",
        "90,,,,A,,,,no",
    )
    bad = csv_of(
        header,
        "10,GHOST,,,,,,,",  # unknown item
        "20,,,,,NOPE,,,",  # unknown zone
        "30,,,,,FAR,,,",  # another site's zone
        "40,,,,,,ORBIT;STORAGE,,",  # not a location kind
        "50,,,,D,,,,",  # not an ABC class
        "60,,,,,,PICK;PICK,,",  # a kind twice
        "-1,,,,,,,maybe,",  # negative priority, not yes/no
        "70,,,,,,V-SUPPLIER,,",  # never a virtual kind
    )
    batch = dry_run(lead, site, "PUTAWAY_RULES", bad)
    found = errors_of(batch)
    expected = {
        (2, "sku", "does_not_exist"),
        (3, "zone", "does_not_exist"),
        (4, "zone", "does_not_exist"),
        (5, "location_kinds", "invalid_choice"),
        (6, "abc_class", "invalid_choice"),
        (7, "location_kinds", "duplicate"),
        (8, "allow_mixed_lots", "invalid"),
        (8, "priority", "out_of_range"),
        (9, "location_kinds", "invalid_choice"),
    }
    assert expected <= found, expected - found
    assert batch.valid_rows == 0 and not PutawayRule.objects.exists()

    batch = approve(dry_run(lead, site, "PUTAWAY_RULES", content), lead, approver)
    assert batch.status == "POSTED" and batch.posted_rows == 3
    rules = list(PutawayRule.objects.filter(site=site).order_by("priority"))
    assert [(r.priority, r.item and r.item.sku, r.zone and r.zone.code, r.location_kinds) for r in rules] == [
        (10, "MILK", "COLD", "PICK,STORAGE"),
        (20, None, "COLD", "STORAGE"),
        (90, None, None, "PICK,STORAGE"),
    ]
    assert rules[0].allow_mixed_lots and rules[1].category == "DAIRY" and not rules[2].active
    assert rules[2].abc_class == "A"
    assert post_batch(user=approver, batch=batch).status == "POSTED"
    assert PutawayRule.objects.count() == 3


def test_replenishment_policies_and_pick_face_min_max(site, lead, approver, goods):
    from orders.services.purchasing import create_supplier

    create_supplier(user=None, code="SUP-1", name="Parts Inc")
    LocationFactory(site=site, code="P-1", kind=Location.Kind.PICK, capacity=50)
    LocationFactory(site=site, code="P-2", kind=Location.Kind.PICK)
    LocationFactory(site=site, code="R-1", kind=Location.Kind.STORAGE)
    header = "sku,location,min_quantity,max_quantity,method,service_level,pack_multiple,supplier"
    bad = csv_of(
        header,
        "WIDGET,,10,5,,,,",  # max below min
        "WIDGET,P-1,5,60,,,,",  # above the pick face's capacity
        "WIDGET,R-1,5,10,,,,",  # not a pick face
        "WIDGET,P-2,5,5,,,,",  # a pick face's max must be above its min
        "MILK,P-2,1,10,REORDER_POINT,,,",  # an item policy's column on a pick face
        "MILK,,1,10,,,,NOBODY",  # unknown supplier
        "MILK,,1,10,SOMETIMES,,,",  # unknown method; MILK twice
        "GHOST,,1,10,,,,",
        "MILK,NOPE,1,10,,,,",
        "WIDGET,,1,10,,2,,",  # service level out of its bounds
    )
    batch = dry_run(lead, site, "REPLENISHMENT_POLICIES", bad)
    found = errors_of(batch)
    expected = {
        (2, "max_quantity", "below_min"),
        (3, "max_quantity", "above_capacity"),
        (4, "location", "not_pick"),
        (5, "max_quantity", "below_min"),
        (6, "method", "not_for_pick_face"),
        (7, "supplier", "does_not_exist"),
        (8, "sku", "duplicate"),
        (9, "sku", "does_not_exist"),
        (10, "location", "does_not_exist"),
        (11, "sku", "duplicate"),
    }
    assert expected <= found, expected - found
    assert not ReplenishmentPolicy.objects.exists() and not PickFacePolicy.objects.exists()

    good = csv_of(
        header,
        "WIDGET,,20,200,MIN_MAX,,12,SUP-1",
        "WIDGET,P-1,5,40,,,,",
        "MILK,P-2,2,30,,,,",
        "MILK,,0,0,reorder_point,0.98,,",
    )
    batch = approve(dry_run(lead, site, "REPLENISHMENT_POLICIES", good), lead, approver)
    assert batch.status == "POSTED" and batch.posted_rows == 4, errors_of(batch)
    widget = ReplenishmentPolicy.objects.get(site=site, item=goods["WIDGET"])
    assert (widget.min_quantity, widget.max_quantity, widget.pack_multiple, widget.supplier.code) == (
        20,
        200,
        12,
        "SUP-1",
    )
    milk = ReplenishmentPolicy.objects.get(site=site, item=goods["MILK"])
    assert milk.method == "REORDER_POINT" and milk.service_level == Decimal("0.98")
    faces = {(p.location.code, p.item.sku): (p.min_quantity, p.max_quantity) for p in PickFacePolicy.objects.all()}
    assert faces == {("P-1", "WIDGET"): (5, 40), ("P-2", "MILK"): (2, 30)}
    assert post_batch(user=approver, batch=batch).status == "POSTED"
    assert ReplenishmentPolicy.objects.count() == 2 and PickFacePolicy.objects.count() == 2
    # the same policies again: refused against the database
    again = dry_run(lead, site, "REPLENISHMENT_POLICIES", good)
    assert {(row, code) for row, _, code in errors_of(again)} == {
        (2, "unique"),
        (3, "unique"),
        (4, "unique"),
        (5, "unique"),
    }

    from cutover.selectors import readiness_facts

    facts = readiness_facts(site)
    assert (facts.pick_faces_total, facts.pick_faces_with_minmax) == (2, 2)
