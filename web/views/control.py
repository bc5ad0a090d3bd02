"""Supervisors, inventory control: approvals (every kind registered with governance), cycle counts and count
requests, pick-face replenishment tasks, replenishment suggestions and the background job runs.

Every write goes through the owning service (``governance.services.decide_approval``,
``inventory.services.counts``, ``warehouse.services.replenishment``, ``orders.services.replenishment``); a refusal
is shown in the service's words and changes nothing. Expected quantities of a count are shown only when
``may_see_expected`` allows it (blind counting).
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from core.errors import DomainError
from distribution_erp.health import background_health
from governance import permissions
from governance.models import ApprovalRequest, JobRun
from governance.services import decide_approval
from inventory.models import CycleCount, CycleCountLine
from inventory.services.counts import create_cycle_count, decide_count, may_see_expected
from orders.models import ReplenishmentSuggestion
from orders.services.replenishment import accept_suggestion, dismiss_suggestion
from warehouse.models import CountRequest, ReplenishmentTask
from warehouse.services.replenishment import cancel_replenishment_task

from .. import display
from ..bulk import BulkApprovalForm, form_refused, run_each
from ..control_forms import CycleCountForm
from ..decisions import DecisionForm, flash_form_errors
from ..lists import Column, Filter, ListPage
from ..workspace import back_url, flash_refusal, site_page


def _item_url(item) -> str:
    """The item page, linked from the lists' item cells."""
    return reverse("web:item-detail", args=[item.sku])


A = ApprovalRequest.Status
L = CycleCountLine.Status


def _visible(request, obj, what: str):
    if obj is None or not permissions.can_see_site(request.user, obj.site_id):
        raise Http404(f"No such {what}.")
    return obj


def _numbers(reason: dict, prefix: str = "") -> str:
    """A reason dict as 'key value' pairs in its own order, nested keys flattened (the numbers behind a task,
    a suggestion or a job run)."""
    parts = []
    for key, value in (reason or {}).items():
        name = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, dict):
            inner = _numbers(value, prefix=f"{name} · ")
            if inner:
                parts.append(inner)
            continue
        if isinstance(value, list):
            if not value:
                continue
            value = ", ".join(str(v) for v in value)
        parts.append(f"{name} {value}")
    return "; ".join(parts)


# --- approvals ------------------------------------------------------------------------------------------------


#: content type model -> (page, whether it is found by the subject's label (its number) or by its id)
SUBJECT_PAGES = {
    "salesorder": ("web:order-detail", "label"),
    "cyclecount": ("web:count-detail", "id"),
    "transferorder": ("web:transfer-detail", "label"),
    "goliverequest": ("web:site-readiness", None),  # the site's readiness page (the approval's own site)
    "importbatch": ("web:import-detail", "label"),  # cutover posts and sign-offs: the batch's page
}


def _subject_url(a) -> str | None:
    page = SUBJECT_PAGES.get(a.content_type.model)
    if page is None:
        return None
    try:
        if page[1] is None:
            return reverse(page[0])
        return reverse(page[0], args=[a.subject_label if page[1] == "label" else a.object_id])
    except NoReverseMatch:  # a page another part of the workspace may not have yet
        return None


def _kinds(site) -> list[tuple[str, str]]:
    kinds = ApprovalRequest.objects.filter(site=site).order_by("kind").values_list("kind", flat=True).distinct()
    return [(k, display.approval_kind_label(k)) for k in kinds]


APPROVAL_COLUMNS = (
    Column("kind", "Kind", lambda a: display.approval_kind_label(a.kind), "kind"),
    Column("subject", "Subject", lambda a: a.subject_label, "subject_label", link=_subject_url),
    Column("reason", "Reason", lambda a: a.reason),
    Column("value", "Value", lambda a: a.value, css="num"),
    Column("threshold", "Threshold", lambda a: a.threshold, css="num"),
    Column("requested_by", "Requested by", lambda a: a.requested_by.username, "requested_by__username"),
    Column("requested", "Requested", lambda a: a.requested_at, "requested_at"),
)
DECIDED_COLUMNS = APPROVAL_COLUMNS + (
    Column("status", "Decision", lambda a: a.get_status_display(), "status"),
    Column(
        "decided_by", "Decided by", lambda a: a.decided_by.username if a.decided_by_id else "", "decided_by__username"
    ),
    Column("decided", "Decided", lambda a: a.decided_at, "decided_at"),
    Column("note", "Note", lambda a: a.decision_note),
)


def _approval_tabs(pending: bool):
    return [
        ("Pending", reverse("web:approval-list"), pending),
        ("Decided", reverse("web:approval-decided"), not pending),
    ]


@site_page("approval.decide")
def approval_list(request, *, site):
    approvals = ApprovalRequest.objects.filter(site=site, status=A.PENDING).select_related(
        "content_type", "requested_by"
    )
    listing = ListPage(
        request,
        approvals,
        APPROVAL_COLUMNS,
        filters=(
            Filter("kind", "Kind", "kind", kind="choice", choices=_kinds(site)),
            Filter("subject", "Subject", "subject_label__icontains"),
            Filter("from", "Requested from", "requested_at__date__gte", kind="date_from"),
            Filter("to", "Requested to", "requested_at__date__lte", kind="date_to"),
        ),
        default_sort="requested",
        csv_name=f"approvals-pending-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Approvals pending at {site.code}",
            "intro": "Oldest first. Nobody decides a request they made, nor a count they counted.",
            "tabs": _approval_tabs(True),
            "table_id": "approval-table",
            "row_actions": "web/approvals/_actions.html",
            "row_select": "bulk-approvals",
            "above": "web/approvals/_bulk.html",
            "crumbs": [("Approvals", None)],
        },
    )


@require_POST
@site_page("approval.decide")
def approval_bulk(request, *, site):
    """Approve or reject the requests ticked on the pending list, each through decide_approval (one's own request
    and any the user may not decide are refused by name; the others are still decided)."""
    form = BulkApprovalForm(request.POST)
    back = back_url(request, "web:approval-list")
    if not form.is_valid():
        form_refused(request, form)
        return redirect(back)
    data = form.cleaned_data
    approve = data["action"] == "approve"
    found = {a.pk: a for a in ApprovalRequest.objects.filter(site=site, pk__in=data["selected"])}
    run_each(
        request,
        data["selected"],
        found,
        lambda approval: decide_approval(approval=approval, user=request.user, approve=approve, note=data["note"]),
        label=lambda approval: approval.subject_label or f"#{approval.pk}",
        what="request",
        done_word="approved" if approve else "rejected",
        missing=f"no such request at {site.code}",
    )
    return redirect(back)


@site_page("approval.decide")
def approval_decided(request, *, site):
    approvals = (
        ApprovalRequest.objects.filter(site=site)
        .exclude(status=A.PENDING)
        .select_related("content_type", "requested_by", "decided_by")
    )
    listing = ListPage(
        request,
        approvals,
        DECIDED_COLUMNS,
        filters=(
            Filter("kind", "Kind", "kind", kind="choice", choices=_kinds(site)),
            Filter(
                "status",
                "Decision",
                "status",
                kind="choice",
                choices=[(s.value, s.label) for s in A if s != A.PENDING],
            ),
            Filter("subject", "Subject", "subject_label__icontains"),
            Filter("from", "Decided from", "decided_at__date__gte", kind="date_from"),
            Filter("to", "Decided to", "decided_at__date__lte", kind="date_to"),
        ),
        default_sort="-decided",
        csv_name=f"approvals-decided-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Approvals decided at {site.code}",
            "tabs": _approval_tabs(False),
            "table_id": "approval-decided-table",
            "crumbs": [("Approvals", reverse("web:approval-list")), ("Decided", None)],
        },
    )


@require_POST
@site_page("approval.decide")
def approval_decide(request, pk, action, *, site):
    if action not in ("approve", "reject"):
        raise Http404("No such action.")
    approval = _visible(request, ApprovalRequest.objects.filter(pk=pk).first(), "approval request")
    form = DecisionForm(request.POST, action=action)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect(back_url(request, "web:approval-list"))
    try:
        decided = decide_approval(approval=approval, user=request.user, approve=form.approve, note=form.decision_note)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        verb = "approved" if decided.status == A.APPROVED else "rejected"
        messages.success(request, f"{display.approval_kind_label(decided.kind)} {decided.subject_label} {verb}.")
    return redirect(back_url(request, "web:approval-list"))


# --- cycle counts ---------------------------------------------------------------------------------------------

#: counts with lines still to count or recount (the dashboard's "Count lines to count" tile opens them)
TO_COUNT = "TO_COUNT"
COUNT_STATES = (
    (TO_COUNT, "Lines to count (due, in progress or recount)"),
    ("DUE", "Due (nothing counted yet)"),
    ("IN_PROGRESS", "In progress"),
    ("RECOUNT", "Waiting for a recount"),
    ("PENDING_APPROVAL", "Awaiting approval"),
    ("COMPLETED", "Completed"),
)


def _count_state_filter(qs, value):
    if value == TO_COUNT:
        return qs.filter(status=CycleCount.Status.OPEN)
    if value == "DUE":
        return qs.filter(status=CycleCount.Status.OPEN, counted_lines=0)
    if value == "IN_PROGRESS":
        return qs.filter(status=CycleCount.Status.OPEN, counted_lines__gt=0)
    if value == "RECOUNT":
        return qs.filter(status=CycleCount.Status.OPEN, recount_lines__gt=0)
    if value == "PENDING_APPROVAL":
        return qs.filter(status=CycleCount.Status.PENDING_APPROVAL)
    return qs.filter(status=CycleCount.Status.COMPLETED)


def _count_state(c) -> str:
    if c.status == CycleCount.Status.OPEN:
        if c.recount_lines:
            return f"{c.to_count} to count, {c.recount_lines} to recount"
        return "due" if not c.counted_lines else f"in progress, {c.to_count} to count"
    return c.get_status_display()


COUNT_COLUMNS = (
    Column("number", "Count", lambda c: c.number, "number", link=lambda c: reverse("web:count-detail", args=[c.pk])),
    Column("origin", "Origin", lambda c: c.get_origin_display(), "origin"),
    Column("plan_date", "For", lambda c: c.plan_date, "plan_date"),
    Column("state", "State", _count_state, "status"),
    Column("lines", "Lines", lambda c: c.line_total, "line_total", css="num"),
    Column("to_count", "To count", lambda c: c.to_count, "to_count", css="num"),
    Column("pending", "Variances pending", lambda c: c.pending_lines, "pending_lines", css="num"),
    Column("created", "Created", lambda c: c.created_at, "created_at"),
)


def _count_tabs(which: str):
    return [
        ("Counts", reverse("web:count-list"), which == "counts"),
        ("Count requests", reverse("web:count-requests"), which == "requests"),
        ("Scan: count", reverse("web:scan-count"), False),
    ]


@site_page("inventory.plan_counts")
def count_list(request, *, site):
    counts = CycleCount.objects.filter(site=site).annotate(
        line_total=Count("lines"),
        to_count=Count("lines", filter=Q(lines__status__in=CycleCountLine.TO_COUNT)),
        counted_lines=Count("lines", filter=~Q(lines__status=L.OPEN)),
        recount_lines=Count("lines", filter=Q(lines__status=L.RECOUNT)),
        pending_lines=Count("lines", filter=Q(lines__status=L.PENDING_APPROVAL)),
    )
    listing = ListPage(
        request,
        counts,
        COUNT_COLUMNS,
        filters=(
            Filter("state", "State", kind="choice", choices=COUNT_STATES, apply=_count_state_filter),
            Filter("origin", "Origin", "origin", kind="choice", choices=CycleCount.Origin.choices),
            Filter("number", "Number", "number__icontains"),
            Filter("from", "For from", "plan_date__gte", kind="date_from"),
            Filter("to", "For to", "plan_date__lte", kind="date_to"),
        ),
        default_sort="-created",
        csv_name=f"counts-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Cycle counts at {site.code}",
            "tabs": _count_tabs("counts"),
            "above": "web/counts/_new.html",
            "table_id": "count-table",
            "crumbs": [("Counts", None)],
        },
    )


@require_POST
@site_page("inventory.plan_counts")
def count_new(request, *, site):
    form = CycleCountForm(request.POST, site=site)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("web:count-list")
    try:
        count = create_cycle_count(
            user=request.user, site=site, locations=form.cleaned_data["locations"], note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        flash_refusal(request, exc)
        return redirect("web:count-list")
    messages.success(request, f"{count.number} created: {count.lines.count()} line(s) to count.")
    return redirect("web:count-detail", count.pk)


def _count(request, pk) -> CycleCount:
    return _visible(request, CycleCount.objects.select_related("site", "created_by").filter(pk=pk).first(), "count")


@site_page("inventory.plan_counts")
def count_detail(request, pk, *, site):
    count = _count(request, pk)
    lines = list(
        count.lines.select_related("location", "item", "lot", "first_counted_by", "recounted_by", "decided_by")
    )
    for line in lines:
        line.reviewable = may_see_expected(request.user, line)
    approval = (
        ApprovalRequest.objects.filter(
            content_type__app_label="inventory", content_type__model="cyclecount", object_id=count.pk
        )
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-pk")
        .first()
    )
    return render(
        request,
        "web/counts/detail.html",
        {
            "count": count,
            "lines": lines,
            "approval": approval,
            "to_count": sum(1 for line in lines if line.status in CycleCountLine.TO_COUNT),
            "crumbs": [("Counts", reverse("web:count-list")), (count.number, None)],
        },
    )


@require_POST
@site_page("inventory.plan_counts")
def count_decide(request, pk, action, *, site):
    if action not in ("approve", "reject"):
        raise Http404("No such action.")
    count = _count(request, pk)
    form = DecisionForm(request.POST, action=action)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("web:count-detail", count.pk)
    try:
        decided = decide_count(user=request.user, count=count, approve=form.approve, note=form.decision_note)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        posted = "variances approved and posted" if action == "approve" else "variances rejected, nothing posted"
        messages.success(request, f"{decided.number}: {posted}.")
    return redirect("web:count-detail", count.pk)


REQUEST_COLUMNS = (
    Column("location", "Location", lambda r: r.location.code, "location__code"),
    Column(
        "item",
        "Item",
        lambda r: r.item.sku if r.item_id else "",
        "item__sku",
        link=lambda r: _item_url(r.item) if r.item_id else None,
    ),
    Column("reason", "Reason", lambda r: r.reason, "reason"),
    Column("status", "Status", lambda r: r.get_status_display(), "status"),
    Column("requested", "Requested", lambda r: r.requested_at, "requested_at"),
    Column("age", "Waiting", lambda r: timesince(r.requested_at, timezone.now()), "requested_at"),
)


@site_page("inventory.plan_counts")
def count_requests(request, *, site):
    listing = ListPage(
        request,
        CountRequest.objects.filter(site=site).select_related("location", "item"),
        REQUEST_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=CountRequest.Status.choices),
            Filter("location", "Location", "location__code__icontains"),
            Filter("item", "Item", "item__sku__icontains"),
            Filter("from", "Requested from", "requested_at__date__gte", kind="date_from"),
            Filter("to", "Requested to", "requested_at__date__lte", kind="date_to"),
        ),
        default_sort="requested",
        csv_name=f"count-requests-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Counts due at {site.code}",
            "intro": "Locations to count (after a short pick or replenishment, or on request); the daily count plan "
            "picks them up, and counting the location closes the request.",
            "tabs": _count_tabs("requests"),
            "table_id": "count-request-table",
            "crumbs": [("Counts", reverse("web:count-list")), ("Count requests", None)],
        },
    )


# --- replenishment --------------------------------------------------------------------------------------------

REPL_COLUMNS = (
    Column("task", "Task", lambda t: f"REPL-{t.pk}", "pk"),
    Column(
        "item",
        "Item",
        lambda t: t.item.sku + (f" / {t.lot.number}" if t.lot_id else ""),
        "item__sku",
        link=lambda t: _item_url(t.item),
    ),
    Column("quantity", "Qty", lambda t: t.quantity, "quantity", css="num"),
    Column("from", "From (reserve)", lambda t: t.from_location.code, "from_location__code"),
    Column("to", "To (pick face)", lambda t: t.to_location.code, "to_location__code"),
    Column(
        "trigger", "Trigger", lambda t: t.get_trigger_display() + (f" {t.wave.number}" if t.wave_id else ""), "trigger"
    ),
    Column("status", "Status", lambda t: t.get_status_display(), "status"),
    Column("moved", "Moved", lambda t: t.moved_quantity, "moved_quantity", css="num"),
    Column("why", "Numbers", lambda t: _numbers(t.reason)),
    Column("created", "Created", lambda t: t.created_at, "created_at"),
    Column("age", "Age", lambda t: timesince(t.created_at, t.confirmed_at or timezone.now()), "created_at"),
)


@site_page("warehouse.plan")
def replenishment_tasks(request, *, site):
    tasks = ReplenishmentTask.objects.filter(site=site).select_related(
        "item", "lot", "from_location", "to_location", "wave"
    )
    listing = ListPage(
        request,
        tasks,
        REPL_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=ReplenishmentTask.Status.choices),
            Filter("trigger", "Trigger", "trigger", kind="choice", choices=ReplenishmentTask.Trigger.choices),
            Filter("item", "Item", "item__sku__icontains"),
            Filter("to_location", "Pick face", "to_location__code__icontains"),
            Filter("from", "Created from", "created_at__date__gte", kind="date_from"),
            Filter("to", "Created to", "created_at__date__lte", kind="date_to"),
        ),
        default_sort="created",
        csv_name=f"replenishment-tasks-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Pick-face replenishment tasks at {site.code}",
            "intro": "Refills from reserve to pick faces at or below their min (or short for a released wave); "
            "the numbers are the face's level when the task was made.",
            "table_id": "replenishment-table",
            "row_actions": "web/replenishment/_task_actions.html",
            "crumbs": [("Replenishment tasks", None)],
        },
    )


@require_POST
@site_page("warehouse.plan")
def replenishment_task_cancel(request, pk, *, site):
    task = _visible(request, ReplenishmentTask.objects.filter(pk=pk).first(), "replenishment task")
    try:
        cancel_replenishment_task(user=request.user, task=task)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"REPL-{task.pk} cancelled; its reserved units are free again.")
    return redirect(back_url(request, "web:replenishment-tasks"))


def _source_of(s) -> str:
    return s.supplier.code if s.supplier_id else (s.source_site.code if s.source_site_id else "")


def _document_of(s) -> str:
    if s.purchase_order_id:
        return s.purchase_order.number
    if s.transfer_order_id:
        return s.transfer_order.number
    return ""


SUGGESTION_COLUMNS = (
    Column("id", "#", lambda s: s.pk, "pk", css="num"),
    Column("item", "Item", lambda s: s.item.sku, "item__sku", link=lambda s: _item_url(s.item)),
    Column("kind", "Kind", lambda s: s.get_kind_display(), "kind"),
    Column("source", "Supplier / from site", _source_of),
    Column("quantity", "Qty", lambda s: s.quantity, "quantity", css="num"),
    Column("value", "Value", lambda s: s.value, "value", css="num"),
    Column("why", "Reason (numbers)", lambda s: _numbers(s.reason)),
    Column("status", "Status", lambda s: s.get_status_display() + (" (auto)" if s.auto_accepted else ""), "status"),
    Column("document", "Order", _document_of),
    Column("decided_by", "Decided by", lambda s: s.decided_by.username if s.decided_by_id else ""),
    Column("note", "Note", lambda s: s.decision_note),
    Column("updated", "Updated", lambda s: s.updated_at, "updated_at"),
)


@site_page("replenishment.plan")
def suggestion_list(request, *, site):
    suggestions = ReplenishmentSuggestion.objects.filter(site=site).select_related(
        "item", "supplier", "source_site", "purchase_order", "transfer_order", "decided_by"
    )
    listing = ListPage(
        request,
        suggestions,
        SUGGESTION_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=ReplenishmentSuggestion.Status.choices),
            Filter("kind", "Kind", "kind", kind="choice", choices=ReplenishmentSuggestion.Kind.choices),
            Filter("item", "Item", "item__sku__icontains"),
            Filter("from", "Updated from", "updated_at__date__gte", kind="date_from"),
            Filter("to", "Updated to", "updated_at__date__lte", kind="date_to"),
        ),
        default_sort="-updated",
        csv_name=f"replenishment-suggestions-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Replenishment suggestions for {site.code}",
            "intro": "What the planning runs propose: a purchase from the supplier or a transfer from an overstocked "
            "site, with every number behind it. Accepting makes the purchase or transfer order.",
            "table_id": "suggestion-table",
            "row_actions": "web/replenishment/_suggestion_actions.html",
            "crumbs": [("Replenishment suggestions", None)],
        },
    )


@require_POST
@site_page("replenishment.plan")
def suggestion_decide(request, pk, action, *, site):
    if action not in ("accept", "dismiss"):
        raise Http404("No such action.")
    suggestion = _visible(
        request, ReplenishmentSuggestion.objects.select_related("item").filter(pk=pk).first(), "suggestion"
    )
    form = DecisionForm(request.POST, action=action, actions=("accept", "dismiss"))
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect(back_url(request, "web:suggestion-list"))
    note = form.decision_note
    try:
        if form.approve:
            done = accept_suggestion(user=request.user, suggestion=suggestion, note=note)
        else:
            done = dismiss_suggestion(user=request.user, suggestion=suggestion, note=note)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        if action == "accept":
            done = ReplenishmentSuggestion.objects.select_related("purchase_order", "transfer_order").get(pk=done.pk)
            messages.success(
                request,
                f"Suggestion {done.pk} ({suggestion.item.sku} × {done.quantity}) accepted: {_document_of(done)}.",
            )
        else:
            messages.success(request, f"Suggestion {done.pk} ({suggestion.item.sku} × {done.quantity}) dismissed.")
    return redirect(back_url(request, "web:suggestion-list"))


# --- job runs -------------------------------------------------------------------------------------------------


def _duration(j) -> str:
    if not j.finished_at:
        return ""
    seconds = (j.finished_at - j.started_at).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else timesince(j.started_at, j.finished_at)


JOB_COLUMNS = (
    Column("kind", "Job", lambda j: display.job_label(j.kind), "kind"),
    Column("site", "Site", lambda j: j.site.code if j.site_id else "all sites", "site__code"),
    Column("status", "Status", lambda j: j.get_status_display(), "status"),
    Column("started", "Started", lambda j: j.started_at, "started_at"),
    Column("finished", "Finished", lambda j: j.finished_at, "finished_at"),
    Column("duration", "Took", _duration),
    Column("counts", "Counts", lambda j: _numbers(j.counts)),
    Column("error", "Error", lambda j: j.error),
    Column("by", "Requested by", lambda j: j.requested_by.username if j.requested_by_id else ""),
)


@site_page("replenishment.plan")
def job_list(request, *, site):
    jobs = JobRun.objects.filter(Q(site=site) | Q(site__isnull=True)).select_related("site", "requested_by")
    kinds = [(k, display.job_label(k)) for k in jobs.order_by("kind").values_list("kind", flat=True).distinct()]
    listing = ListPage(
        request,
        jobs,
        JOB_COLUMNS,
        filters=(
            Filter("kind", "Job", "kind", kind="choice", choices=kinds),
            Filter("status", "Status", "status", kind="choice", choices=JobRun.Status.choices),
            Filter(
                "scope",
                "Scope",
                kind="choice",
                choices=(("site", f"{site.code} only"), ("network", "All sites")),
                apply=lambda qs, v: qs.filter(site__isnull=v == "network"),
            ),
            Filter("from", "Started from", "started_at__date__gte", kind="date_from"),
            Filter("to", "Started to", "started_at__date__lte", kind="date_to"),
        ),
        default_sort="-started",
        csv_name=f"job-runs-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Job runs for {site.code}",
            "intro": "Background jobs of this site and of the whole network (replenishment, alerts, reconciliation…).",
            "above": "web/supervisor/_background_health.html",
            "health": background_health(),
            "table_id": "job-table",
            "crumbs": [("Job runs", None)],
        },
    )
