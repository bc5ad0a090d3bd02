"""The exception queue of the current site (filters, sorted by severity and age), the exception page with its
history, escalation steps and notifications, and the user's in-app notifications.

Acknowledge / resolve / assign post to ``dashboard.exception_action`` (governance services); marking notifications
read goes through ``governance.services.notifications``.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from governance.models import ExceptionCase, ExceptionCode, Notification, SiteMembership
from governance.services import acknowledge_exception, assign_exception, resolve_exception
from governance.services.notifications import (
    mark_all_notifications_read,
    mark_notification_read,
    notifications_for,
    unread_notification_count,
)
from governance.services.sites import colleagues

from .. import display
from ..bulk import BulkExceptionForm
from ..lists import Column, Filter, ListPage
from ..selectors import SEVERITY_RANK
from ..workspace import back_url, flash_refusal, site_page

AGES = (
    ("1h", "older than 1 hour"),
    ("4h", "older than 4 hours"),
    ("24h", "older than 1 day"),
    ("72h", "older than 3 days"),
)
STATUSES = (("active", "Open or acknowledged"),) + tuple(ExceptionCase.Status.choices)


def age_text(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _older_than(qs, value):
    return qs.filter(opened_at__lte=timezone.now() - timedelta(hours=int(value.removesuffix("h"))))


def _status(qs, value):
    if value == "active":
        return qs.exclude(status=ExceptionCase.Status.RESOLVED)
    return qs.filter(status=value)


def _overdue(qs, value):
    overdue = Q(due_at__lt=timezone.now()) & ~Q(status=ExceptionCase.Status.RESOLVED)
    return qs.filter(overdue) if value == "yes" else qs.exclude(overdue)


def _assignee_filter(user):
    def apply(qs, value):
        if value == "me":
            return qs.filter(assignee=user)
        if value == "none":
            return qs.filter(assignee__isnull=True)
        return qs.filter(assignee_id=int(value))

    return apply


def _members(site):
    return [
        m.user
        for m in SiteMembership.objects.filter(site=site, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
        .distinct("user__username")
    ]


def _detail_url(case) -> str:
    return reverse("web:exception-detail", args=[case.pk])


EXCEPTION_COLUMNS = (
    Column("severity", "Severity", lambda c: c.get_severity_display(), ("rank", "opened_at")),
    Column("code", "Exception", lambda c: c.code.name, "code__name", link=_detail_url),
    Column("subject", "Subject", lambda c: c.subject_label, "subject_label", link=_detail_url),
    Column("summary", "Summary", lambda c: c.summary),
    Column("status", "Status", lambda c: c.get_status_display(), "status"),
    Column("assignee", "Assignee", lambda c: c.assignee.username if c.assignee_id else "", "assignee__username"),
    Column("age", "Age", lambda c: age_text(timezone.now() - c.opened_at), "-opened_at", csv=False),
    Column("opened", "Opened", lambda c: c.opened_at, "opened_at"),
    Column("due", "Due", lambda c: c.due_at, "due_at"),
    Column("overdue", "Overdue", lambda c: c.is_overdue),
    Column("level", "Escalation", lambda c: c.escalation_level, "escalation_level", css="num"),
)


@site_page("exception.handle")
def exception_list(request, *, site):
    members = _members(site)
    cases = ExceptionCase.objects.filter(site=site).select_related("code", "assignee").annotate(rank=SEVERITY_RANK)
    listing = ListPage(
        request,
        cases,
        EXCEPTION_COLUMNS,
        filters=(
            Filter(
                "code",
                "Exception",
                "code__code",
                kind="choice",
                choices=list(ExceptionCode.objects.order_by("name").values_list("code", "name")),
            ),
            Filter("severity", "Severity", "severity", kind="choice", choices=ExceptionCode.Severity.choices),
            Filter("status", "Status", kind="choice", choices=STATUSES, apply=_status, default="active"),
            Filter("age", "Age", kind="choice", choices=AGES, apply=_older_than),
            Filter(
                "overdue",
                "Against SLA",
                kind="choice",
                choices=(("yes", "Overdue"), ("no", "Within SLA")),
                apply=_overdue,
            ),
            Filter(
                "assignee",
                "Assignee",
                kind="choice",
                choices=[("me", "Me"), ("none", "Nobody")] + [(str(u.pk), u.username) for u in members],
                apply=_assignee_filter(request.user),
            ),
            Filter("subject", "Subject", "subject_label__icontains"),
        ),
        default_sort="severity",
        csv_name=f"exceptions-{site.code}",
    )
    return listing.respond(
        "web/exceptions/list.html",
        {
            "table_id": "exception-list",
            "row_actions": "web/exceptions/_row_actions.html",
            "row_select": "bulk-exceptions",
            "assignees": members,
            "crumbs": [("Exceptions", None)],
        },
    )


BULK_DONE = {"acknowledge": "acknowledged", "resolve": "resolved", "assign": "assigned"}


@require_POST
@site_page("exception.handle")
def exception_bulk(request, *, site):
    """Acknowledge, resolve or assign the exceptions ticked on the list: each through its governance service, one
    by one, so a refusal of one (already resolved, another site's) is reported and the others are still done."""
    form = BulkExceptionForm(request.POST)
    back = back_url(request, "web:exception-list")
    if not form.is_valid():
        for msgs in form.errors.values():
            for msg in msgs:
                messages.error(request, msg)
        return redirect(back)
    data = form.cleaned_data
    action, note = data["action"], (data.get("note") or "").strip()
    assignee = None
    if action == "assign" and data.get("assignee"):
        wanted = data["assignee"]
        number = wanted.isascii() and wanted.isdigit()
        assignee = colleagues(request.user).filter(pk=int(wanted)).first() if number else None
        if assignee is None:
            messages.error(request, "No such colleague to assign to: nothing was changed.")
            return redirect(back)
    found = {
        case.pk: case
        for case in ExceptionCase.objects.filter(site=site, pk__in=data["selected"]).select_related("code")
    }
    done, refused = [], []
    for pk in data["selected"]:
        case = found.get(pk)
        if case is None:  # another site's case, or none: not told which
            refused.append(f"#{pk}: no such exception at {site.code}")
            continue
        try:
            if action == "acknowledge":
                acknowledge_exception(case=case, user=request.user, note=note)
            elif action == "resolve":
                resolve_exception(case=case, user=request.user, note=note)
            else:
                assign_exception(case=case, user=request.user, assignee=assignee)
        except DomainError as exc:
            refused.append(f"{case.code.name} on {case.subject_label}: {exc.message.rstrip('.')}")
        else:
            done.append(case)
    what = BULK_DONE[action]
    if action == "assign":
        what = f"assigned to {assignee}" if assignee else "unassigned"
    if done:
        messages.success(request, f"{len(done)} exception{'' if len(done) == 1 else 's'} {what}.")
    if refused:
        messages.warning(
            request,
            f"{len(refused)} not {BULK_DONE[action] if action != 'assign' else 'changed'}: " + "; ".join(refused),
        )
    return redirect(back)


@site_page("exception.handle")
def exception_detail(request, pk, *, site):
    case = ExceptionCase.objects.select_related("site", "code", "assignee", "acknowledged_by", "resolved_by").filter(
        pk=pk
    )
    case = case.first()
    if case is None or not permissions.can_see_site(request.user, case.site_id):
        raise Http404("No such exception.")
    records = list(case.history.select_related("history_user", "assignee").order_by("-history_date", "-history_id"))
    history = []
    for i, record in enumerate(records):
        previous = records[i + 1] if i + 1 < len(records) else None
        changes = []
        if previous is not None:
            for change in record.diff_against(previous).changes:
                if change.field in ("status", "assignee", "escalation_level", "due_at", "resolution_note"):
                    changes.append(
                        (
                            change.field.replace("_", " "),
                            display.history_value(ExceptionCase, change.field, change.old),
                            display.history_value(ExceptionCase, change.field, change.new),
                        )
                    )
        history.append(
            {
                "when": record.history_date,
                "who": record.history_user.username if record.history_user else "system",
                "what": "Opened" if record.history_type == "+" else "Changed",
                "status": record.get_status_display(),
                "changes": changes,
            }
        )
    now = timezone.now()
    return render(
        request,
        "web/exceptions/detail.html",
        {
            "case": case,
            "age": age_text(now - case.opened_at),
            "overdue": case.is_overdue,
            "details": display.detail_rows(case.details),
            "history": history,
            "steps": list(case.escalation_steps.order_by("level")),
            "notifications": list(case.notifications.select_related("user").order_by("created_at", "id")),
            "can_handle": permissions.can(request.user, "exception.handle", case.site_id),
            "assignees": _members(case.site),
            "crumbs": [("Exceptions", reverse("web:exception-list")), (f"{case.code.name} {case.subject_label}", None)],
        },
    )


# --- notifications --------------------------------------------------------------------------------------------


def _notification_link(n: Notification) -> str | None:
    return reverse("web:exception-detail", args=[n.exception_id]) if n.exception_id else None


NOTIFICATION_COLUMNS = (
    Column("created", "When", lambda n: n.created_at, "created_at"),
    Column("severity", "Severity", lambda n: n.get_severity_display(), "severity"),
    Column("title", "Title", lambda n: n.title, "title", link=_notification_link),
    Column("site", "Site", lambda n: n.site.code if n.site_id else "", "site__code"),
    Column("body", "Message", lambda n: n.body),
    Column("read", "Read", lambda n: n.read_at, "read_at"),
)


@site_page()
def notification_list(request, *, site):
    listing = ListPage(
        request,
        notifications_for(request.user),
        NOTIFICATION_COLUMNS,
        filters=(
            Filter(
                "state",
                "Show",
                kind="choice",
                choices=(("unread", "Unread"), ("read", "Read")),
                apply=lambda qs, v: qs.filter(read_at__isnull=(v == "unread")),
                default="unread",
            ),
            Filter("severity", "Severity", "severity", kind="choice", choices=ExceptionCode.Severity.choices),
        ),
        default_sort="-created",
        csv_name="notifications",
    )
    unread = unread_notification_count(request.user)
    return listing.respond(
        "web/exceptions/notifications.html",
        {
            "table_id": "notification-list",
            "row_actions": "web/exceptions/_notification_actions.html",
            "unread": unread,
            "unread_notifications": unread,  # the menu badge reuses this count instead of counting again
            "crumbs": [("Notifications", None)],
        },
    )


@require_POST
@site_page()
def notification_read(request, pk, *, site):
    notification = Notification.objects.filter(pk=pk).first()
    try:
        if notification is None:
            raise Http404("No such notification.")
        mark_notification_read(user=request.user, notification=notification)
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404(exc.message) from exc
        flash_refusal(request, exc)
    else:
        messages.success(request, f"Marked read: {notification.title}")
    return redirect(back_url(request, "web:notification-list"))


@require_POST
@site_page()
def notification_read_all(request, *, site):
    count = mark_all_notifications_read(user=request.user)
    messages.success(request, f"{count} notification(s) marked read.")
    return redirect(back_url(request, "web:notification-list"))
