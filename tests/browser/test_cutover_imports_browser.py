"""The demo's go-live walk at DC-NORTH in a real Chromium, with the sample files of cutover/samples/: the cutover
lead uploads the opening balances with errors and sees them, uploads the fixed file, validates it and asks to post
it; the site's supervisor approves the post; the lead reconciles against the legacy control totals; the supervisor
signs off as the data owner, the lead as the site lead; the readiness scorecard shows the batch signed off."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cutover.models import ImportBatch
from distribution_erp import demo
from governance.models import ApprovalRequest, Site
from inventory.models import StockQuant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SAMPLES = Path(__file__).resolve().parents[2] / "cutover" / "samples"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def upload(page, name):
    page.goto("/site/imports/new/")
    page.select_option("select[name=kind]", "OPENING_BALANCES")
    page.set_input_files("input[name=file]", str(SAMPLES / name))
    page.click("[data-testid=upload-form] button[type=submit]")
    page.wait_for_selector("[data-testid=validate-form]")


def validate(page):
    page.click("[data-testid=validate-form] button[type=submit]")
    page.wait_for_selector("text=Dry run")
    page.wait_for_load_state()


def test_a_cutover_lead_walks_the_dc_north_opening_balances_to_sign_off(open_page, log_in):
    demo.load_demo(scale=demo.SMALL, activity=False, demo_logins=True)
    north = Site.objects.get(code="DC-NORTH")
    assert north.stage == Site.Stage.CUTOVER and not StockQuant.objects.filter(site=north).exists()

    lead = open_page()
    lead.on("dialog", lambda dialog: dialog.accept())  # the post asks for confirmation
    log_in(lead, "lead-north", demo.DEMO_PASSWORD)
    lead.goto("/")
    lead.click("nav.menu >> text=Cutover imports")
    lead.wait_for_selector("text=No import batch at DC-NORTH yet.")
    lead.shot("empty-list")

    upload(lead, "DC-NORTH-opening-balances.csv")
    assert "Uploaded, not validated" in lead.inner_text("[data-testid=batch-status]")
    validate(lead)
    assert lead.inner_text("[data-testid=batch-status]") == "Dry run found errors"
    errors = lead.inner_text("[data-testid=errors]")
    assert "Z-99-99-Z" in errors and "XYZ-99999" in errors and "lot number is required" in errors
    assert lead.locator("[data-testid=errors] tbody tr").count() == 3
    assert lead.locator("[data-testid=post-form]").count() == 0
    lead.shot("errors")

    upload(lead, "DC-NORTH-opening-balances-fixed.csv")
    validate(lead)
    assert lead.inner_text("[data-testid=batch-status]") == "Dry run passed"
    assert "9 valid · 0 errors" in lead.inner_text("[data-testid=batch-rows]")
    lead.shot("validated")
    lead.click("[data-testid=post-form] button[type=submit]")
    lead.wait_for_selector("[data-testid=approval-link]")
    assert lead.inner_text("[data-testid=batch-status]") == "Post awaiting approval"
    number = lead.inner_text("h1").split(":")[0]
    batch = ImportBatch.objects.get(number=number)
    assert not StockQuant.objects.filter(site=north).exists()
    lead.shot("awaiting-approval")

    sup = open_page()
    log_in(sup, "sup-north", demo.DEMO_PASSWORD)
    sup.goto("/approvals/")
    approval = ApprovalRequest.objects.get(kind="CUTOVER_BATCH", object_id=batch.pk)
    sup.wait_for_selector(f"[data-testid=decide-{approval.pk}]")
    sup.shot("approvals")
    sup.click(f"[data-testid=decide-{approval.pk}] button:has-text('Approve')")
    sup.wait_for_load_state()
    batch.refresh_from_db()
    assert batch.status == "POSTED" and batch.posted_rows == 9

    lead.goto(f"/site/imports/{number}/")
    assert lead.inner_text("[data-testid=batch-status]") == "Posted"
    lead.set_input_files("[data-testid=reconcile-form] input[name=file]", str(SAMPLES / "DC-NORTH-control-totals.csv"))
    lead.click("[data-testid=reconcile-form] button[type=submit]")
    lead.wait_for_selector("[data-testid=reconciliation-lines]")
    summary = lead.inner_text("[data-testid=reconciliation-summary]")
    assert "0 of 9 lines outside ±0.50 %" in summary and "units legacy 897 / system 895" in summary
    assert "FAS-10000" in lead.inner_text("[data-testid=reconciliation-lines]")
    assert lead.locator("[data-testid=sign-off-form]").count() == 1  # the lead owns the data too; the supervisor signs
    lead.shot("reconciled")

    sup.goto(f"/site/imports/{number}/")
    sup.fill("[data-testid=sign-off-form] input[name=note]", "bins spot-checked")
    sup.click("[data-testid=sign-off-form] button[type=submit]")
    sup.wait_for_selector("text=Waiting for the site lead")
    assert sup.locator("[data-testid=sign-off-decide-form]").count() == 0  # a supervisor is no site lead
    sup.shot("owner-signed")

    lead.goto(f"/site/imports/{number}/")
    lead.select_option("[data-testid=sign-off-decide-form] select[name=decision]", "approve")
    lead.click("[data-testid=sign-off-decide-form] button[type=submit]")
    lead.wait_for_selector(f"text={number} is signed off.")
    status = lead.inner_text("[data-testid=sign-off-status]")
    assert "Signed off by sup-north (data owner" in status and "lead-north (site lead" in status
    lead.shot("signed-off")

    lead.goto("/site/readiness/")
    row = lead.locator("[data-testid=scorecard] tr[data-key='cutover.signoff']")
    assert "GREEN" in row.inner_text() and "1 of 1 posted batches signed off" in row.inner_text()
    lead.shot("readiness")
    lead.goto("/site/imports/")
    assert lead.locator("[data-testid=batches] tbody tr").count() == 2
    assert "Dry run found errors" in lead.inner_text("[data-testid=batches]")


def test_the_batch_page_shows_the_dry_run_progress_while_it_runs(open_page, log_in, make_user, site, tmp_path):
    make_user("admin", site, username="progress-lead")
    big = tmp_path / "locations.csv"
    big.write_text("code,kind,zone\r\n" + "".join(f"R-{n:05d},STORAGE,BULK\r\n" for n in range(3000)))
    page = open_page()
    log_in(page, "progress-lead")
    page.goto("/site/imports/new/")
    page.select_option("select[name=kind]", "LOCATIONS")
    page.set_input_files("input[name=file]", str(big))
    page.click("[data-testid=upload-form] button[type=submit]")
    page.wait_for_selector("[data-testid=validate-form]")
    number = page.inner_text("h1").split(":")[0]
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/progress/" in r.url else None)
    page.click("[data-testid=validate-form] button[type=submit]", no_wait_after=True)

    # someone else opening the batch meanwhile sees the bar move (rows done of 3000), polled every second, and
    # the page reloads itself with the result when the dry run ends
    watcher = open_page()
    log_in(watcher, "progress-lead")
    for _ in range(50):
        if ImportBatch.objects.filter(number=number, status="VALIDATING").exists():
            break
        time.sleep(0.2)
    watcher.goto(f"/site/imports/{number}/")
    watcher.wait_for_selector("[data-testid=rows-done]")
    assert watcher.inner_text("[data-testid=rows-done]").endswith("/ 3000")
    assert watcher.locator("#dry-run-progress progress").count() == 1
    watcher.shot("dry-run-progress")
    watcher.wait_for_selector("text=Dry run passed", timeout=90_000)
    assert watcher.inner_text("[data-testid=batch-status]") == "Dry run passed"
    assert watcher.locator("#dry-run-progress progress").count() == 0
    watcher.shot("dry-run-done-watcher")

    # the page that started it polled the progress while its POST ran (the swapped-in fragment polls on), then
    # showed the result
    page.wait_for_selector("text=Dry run passed: 3000 rows, no errors.", timeout=90_000)
    assert len(polls) >= 2 and all("wait=1" in url for url in polls), polls
    page.shot("dry-run-done")
    batch = ImportBatch.objects.get()
    assert batch.rows_done == batch.total_rows == 3000 and batch.status == "VALIDATED"
