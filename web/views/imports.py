"""Going live (issue 13): the cutover import batches of the current site in the browser — the list, the upload (with
the CSV templates of each kind), a batch's page (dry-run progress polled with htmx, its errors paginated and as CSV,
validate, ask to post through the CUTOVER_BATCH approval, reconcile opening balances against legacy control totals
with the lines and their CSV, and the two-step sign-off).

Every write goes through the cutover services (``create_batch``, ``validate_batch``, ``request_post``,
``reconcile_batch``, ``sign_off``, ``decide_sign_off``), which check roles and states; a refusal shows the service's
message and changes nothing. The lists are visible to the site's people (as the API); the actions need the site's
admin role (the cutover lead), except the data owner's sign-off (``cutover.services.signoff.OWNER_ROLES``).
"""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.actions import allowed_actions
from core.errors import DomainError
from cutover.columns import IMPORT_KINDS, template_csv
from cutover.models import ImportBatch
from cutover.selectors import reconciliation_csv, visible_batches
from cutover.services import (
    create_batch,
    decide_sign_off,
    reconcile_batch,
    request_post,
    sign_off,
    validate_batch,
)
from cutover.services.batches import MAX_FILE_BYTES
from cutover.services.reconciliation import RECONCILED_KINDS
from cutover.services.signoff import last_reconciliation, sign_offs_of
from governance import permissions
from governance.models import ApprovalRequest

from ..workspace import field_errors, site_page

S = ImportBatch.Status
TEMPLATE_KINDS = IMPORT_KINDS + ("CONTROL_TOTALS",)
#: (kind, label) of every template the pages link
TEMPLATES = [(k, ImportBatch.Kind(k).label) for k in IMPORT_KINDS] + [("CONTROL_TOTALS", "Legacy control totals")]
ERRORS_PER_PAGE = 50
RECONCILIATION_LINES_SHOWN = 500


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportBatch.Kind.choices)
    file = forms.FileField(help_text="CSV (UTF-8, a header row) or Excel .xlsx, first sheet")


class ReconcileForm(forms.Form):
    file = forms.FileField(help_text="Legacy control totals: sku, site, units, value (CSV or .xlsx)")


class SignOffForm(forms.Form):
    note = forms.CharField(required=False, max_length=500)


class SignOffDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Sign off"), ("reject", "Send back")])
    note = forms.CharField(required=False, max_length=500)


def _batch(request, site, number: str) -> ImportBatch:
    batch = visible_batches(request.user).filter(site=site, number=number).first()
    if batch is None:
        raise Http404("No such import batch.")
    return batch


def _read(upload) -> tuple[bytes, str]:
    # the service refuses a file over its limit; reading one byte more is enough to let it say so
    return upload.read(MAX_FILE_BYTES + 1), upload.name or ""


@site_page("view")
def batch_list(request, *, site):
    batches = visible_batches(request.user).filter(site=site).select_related("approval").order_by("-created_at", "-id")
    page = Paginator(batches, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "web/imports/list.html",
        {
            "site": site,
            "page_obj": page,
            "may_manage": permissions.can(request.user, "site.manage", site),
            "template_kinds": TEMPLATES,
        },
    )


def _render_upload(request, site, form, *, refused: str = "", status: int = 200):
    return render(
        request,
        "web/imports/upload.html",
        {"site": site, "form": form, "refused": refused, "template_kinds": TEMPLATES},
        status=status,
    )


@site_page("site.manage")
def batch_upload(request, *, site):
    if request.method != "POST":
        return _render_upload(request, site, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_upload(request, site, form, refused="Choose a kind and a file.", status=400)
    content, name = _read(form.cleaned_data["file"])
    try:
        batch = create_batch(
            user=request.user, site=site, kind=form.cleaned_data["kind"], content=content, file_name=name
        )
    except DomainError as exc:
        for field, msgs in field_errors(exc).items():
            target = "file" if field.startswith("file") else field if field in form.fields else None
            for m in msgs:
                form.add_error(target, m)
        return _render_upload(request, site, form, refused=exc.message, status=exc.status_code)
    messages.success(request, f"{batch.number} uploaded: {batch.total_rows} rows. Validate it (dry run) next.")
    return redirect("web:import-detail", number=batch.number)


@site_page("view")
def template_download(request, kind, *, site):
    kind = kind.upper()
    if kind not in TEMPLATE_KINDS:
        raise Http404("No such import kind.")
    response = HttpResponse("\ufeff" + template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind.lower()}-template.csv"'
    return response


def _render_detail(request, site, batch: ImportBatch, *, refused: str = "", bound=None, status: int = 200):
    batch = ImportBatch.objects.select_related("site", "created_by", "posted_by", "approval").get(pk=batch.pk)
    user = request.user
    may_manage = permissions.can(user, "site.manage", site)
    errors = Paginator(batch.errors.order_by("row", "id"), ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    rec = last_reconciliation(batch)
    sign_offs = list(sign_offs_of(batch))
    pending = next((a for a in sign_offs if a.status == ApprovalRequest.Status.PENDING), None)
    signed = next((a for a in sign_offs if a.status == ApprovalRequest.Status.APPROVED), None)
    bound = bound or {}
    actions = allowed_actions(batch, user)
    context = {
        "site": site,
        "batch": batch,
        "errors": errors,
        "reconciliation": rec,
        "reconciliation_lines": list(rec.lines.order_by("within_tolerance", "sku")[:RECONCILIATION_LINES_SHOWN])
        if rec
        else [],
        "lines_cap": RECONCILIATION_LINES_SHOWN,
        "sign_offs": sign_offs,
        "pending_sign_off": pending,
        "signed_off": signed,
        "may_manage": may_manage,
        # the steps offered are the batch's allowed_actions (cutover.services.actions): the services' own answer
        "can_validate": "validate" in actions,
        "can_post": "post" in actions,
        "reconcile_form": bound.get("reconcile") or (ReconcileForm() if "reconcile" in actions else None),
        "reconciled_kind": batch.kind in RECONCILED_KINDS,
        "sign_off_form": bound.get("sign_off") or (SignOffForm() if "sign_off" in actions else None),
        "decision_form": bound.get("decision") or (SignOffDecisionForm() if "decide_sign_off" in actions else None),
        "own_sign_off": pending is not None and pending.requested_by_id == user.pk,
        "refused": refused,
    }
    return render(request, "web/imports/detail.html", context, status=status)


@site_page("view")
def batch_detail(request, number, *, site):
    return _render_detail(request, site, _batch(request, site, number))


@site_page("view")
def batch_progress(request, number, *, site):
    """The progress fragment, polled while a dry run runs. ``wait=1``: the page that started the dry run polls
    before the run has begun; it keeps polling (its own POST answers with the result). Without it, a finished run
    reloads the page to show its result."""
    batch = _batch(request, site, number)
    waiting = request.GET.get("wait") == "1"
    response = render(request, "web/imports/_progress.html", {"batch": batch, "site": site, "wait": waiting})
    if batch.status != S.VALIDATING and not waiting:
        response["HX-Refresh"] = "true"
    return response


@site_page("view")
def errors_csv(request, number, *, site):
    batch = _batch(request, site, number)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "column", "code", "message"])
    for e in batch.errors.order_by("row", "id").iterator():
        writer.writerow([e.row, e.column, e.code, e.message])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.number}-errors.csv"'
    return response


@site_page("view")
def reconciliation_download(request, number, *, site):
    batch = _batch(request, site, number)
    rec = last_reconciliation(batch)
    if rec is None:
        raise Http404(f"{batch.number} has not been reconciled yet.")
    response = HttpResponse(reconciliation_csv(rec), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.number}-reconciliation.csv"'
    return response


def _refused(request, site, batch, exc: DomainError, *, form=None, name: str = ""):
    if form is not None:
        for field, msgs in field_errors(exc).items():
            for m in msgs:
                form.add_error("file" if field.startswith("file") and "file" in form.fields else None, m)
    details = [m for f, msgs in field_errors(exc).items() if f for m in msgs][:20]
    text = exc.message + (" — " + "; ".join(details) if len(details) > 1 else "")
    return _render_detail(
        request,
        site,
        batch,
        refused=text,
        bound={name: form} if form is not None else None,
        status=exc.status_code if exc.status_code != 404 else 400,
    )


@require_POST
@site_page("site.manage")
def batch_validate(request, number, *, site):
    batch = _batch(request, site, number)
    try:
        done = validate_batch(user=request.user, batch=batch)
    except DomainError as exc:
        return _refused(request, site, batch, exc)
    if done.status == S.VALIDATED:
        messages.success(request, f"Dry run passed: {done.valid_rows} rows, no errors. Ask to post it next.")
    else:
        messages.error(
            request, f"Dry run found {done.error_count} errors; nothing was written. Fix the file and upload it again."
        )
    return redirect("web:import-detail", number=done.number)


@require_POST
@site_page("site.manage")
def batch_post(request, number, *, site):
    batch = _batch(request, site, number)
    try:
        done, approval = request_post(user=request.user, batch=batch)
    except DomainError as exc:
        return _refused(request, site, batch, exc)
    if done.status == S.POSTED:
        messages.success(request, f"{done.number} is posted.")
    else:
        messages.success(request, f"Post of {done.number} requested: another approver of {site.code} decides it.")
    return redirect("web:import-detail", number=done.number)


@require_POST
@site_page("site.manage")
def batch_reconcile(request, number, *, site):
    batch = _batch(request, site, number)
    form = ReconcileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_detail(
            request, site, batch, refused="Choose the control totals file.", bound={"reconcile": form}, status=400
        )
    content, name = _read(form.cleaned_data["file"])
    try:
        rec = reconcile_batch(user=request.user, batch=batch, content=content, file_name=name)
    except DomainError as exc:
        return _refused(request, site, batch, exc, form=form, name="reconcile")
    if rec.within_tolerance:
        messages.success(request, f"Reconciled: all {rec.lines_total} lines inside ±{rec.tolerance_percent} %.")
    else:
        messages.error(
            request, f"Reconciled: {rec.lines_outside} of {rec.lines_total} lines outside ±{rec.tolerance_percent} %."
        )
    return redirect("web:import-detail", number=batch.number)


@require_POST
@site_page("view")
def batch_sign_off(request, number, *, site):
    batch = _batch(request, site, number)
    form = SignOffForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, site, batch, refused="Check the note.", bound={"sign_off": form}, status=400)
    try:
        sign_off(user=request.user, batch=batch, note=form.cleaned_data["note"])
    except DomainError as exc:
        return _refused(request, site, batch, exc)
    messages.success(request, f"You signed off {batch.number}; the site lead signs it off next.")
    return redirect("web:import-detail", number=batch.number)


@require_POST
@site_page("view")
def batch_sign_off_decide(request, number, *, site):
    batch = _batch(request, site, number)
    form = SignOffDecisionForm(request.POST)
    if not form.is_valid():
        return _render_detail(
            request, site, batch, refused="Choose sign off or send back.", bound={"decision": form}, status=400
        )
    approve = form.cleaned_data["decision"] == "approve"
    try:
        decide_sign_off(user=request.user, batch=batch, approve=approve, note=form.cleaned_data["note"])
    except DomainError as exc:
        return _refused(request, site, batch, exc)
    if approve:
        messages.success(request, f"{batch.number} is signed off.")
    else:
        messages.success(request, f"{batch.number} sent back to its data owner.")
    return redirect("web:import-detail", number=batch.number)
