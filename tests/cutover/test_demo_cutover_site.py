"""The demo's sixth site, DC-NORTH, in CUTOVER with no stock, and the sample files of cutover/samples/: the file
with errors reports exactly its documented errors, the fixed file posts and reconciles inside the tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from cutover.models import ImportRowError
from cutover.services import create_batch, decide_sign_off, reconcile_batch, request_post, sign_off, validate_batch
from distribution_erp import demo
from governance.models import Site, SiteMembership
from governance.services import decide_approval
from inventory.models import Location, StockMove, StockQuant

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[2] / "cutover" / "samples"


def test_dc_north_is_in_cutover_without_stock_and_the_samples_walk_through(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo.load_demo(scale=demo.SMALL, activity=False, demo_logins=True)
    north = Site.objects.get(code="DC-NORTH")
    assert north.stage == Site.Stage.CUTOVER and north.stage_changes.count() == 1
    assert north.zones.count() == 5 and Location.objects.filter(site=north, code="A-01-04-A").exists()
    assert not StockQuant.objects.filter(site=north).exists()
    assert set(SiteMembership.objects.filter(site=north).values_list("user__username", "role")) == {
        ("lead-north", "admin"),
        ("sup-north", "supervisor"),
    }
    assert demo.load_demo(scale=demo.SMALL, activity=False).get("sites", 0) == 0  # a second run adds nothing
    User = get_user_model()
    lead, sup = User.objects.get(username="lead-north"), User.objects.get(username="sup-north")
    assert lead.check_password(demo.DEMO_PASSWORD)

    def batch_of(name):
        content = (SAMPLES / name).read_bytes()
        return validate_batch(
            user=lead,
            batch=create_batch(user=lead, site=north, kind="OPENING_BALANCES", content=content, file_name=name),
        )

    bad = batch_of("DC-NORTH-opening-balances.csv")
    assert bad.status == "INVALID" and bad.total_rows == 9 and bad.valid_rows == 6
    assert set(ImportRowError.objects.filter(batch=bad).values_list("row", "column", "code")) == {
        (8, "location", "does_not_exist"),
        (9, "sku", "does_not_exist"),
        (10, "lot", "required"),
    }
    good = batch_of("DC-NORTH-opening-balances-fixed.csv")
    assert good.status == "VALIDATED" and good.valid_rows == 9
    good, approval = request_post(user=lead, batch=good)
    decide_approval(approval=approval, user=sup, approve=True)
    good.refresh_from_db()
    assert good.status == "POSTED" and good.posted_rows == 9
    assert sum(StockMove.objects.filter(reference=good.number).values_list("quantity", flat=True)) == 895
    totals = (SAMPLES / "DC-NORTH-control-totals.csv").read_bytes()
    rec = reconcile_batch(user=lead, batch=good, content=totals, file_name="DC-NORTH-control-totals.csv")
    assert rec.lines_total == 9 and rec.lines_outside == 0
    assert rec.lines.get(sku="FAS-10000").difference_units == -2
    sign_off(user=sup, batch=good)
    assert decide_sign_off(user=lead, batch=good, approve=True).status == "APPROVED"
