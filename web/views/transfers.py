"""Transfers in and out of the current site: the list (direction filter), the transfer page with its lines,
approval state, pick tasks and history, and the actions ``warehouse.services.transfers`` offers (approve / reject
through ``governance.services.decide_approval``, release for picking, ship once picked, cancel, receive).

The page only shows a button when the user's role at the right end of the transfer allows it and the status
admits it; the services decide, and their refusals are shown in their own words.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.actions import allowed_actions
from core.errors import DomainError
from governance import permissions
from governance.models import ApprovalRequest, Site
from governance.services import decide_approval
from orders.models import TransferOrder
from warehouse.models import PickTask, Receipt
from warehouse.services import transfers as transfer_services

from .. import display
from ..decisions import DecisionForm, flash_form_errors
from ..entry import TransferForm, TransferLineForm, TransferReceiveForm, attach_refusal, line_forms, line_path
from ..lists import Column, Filter, ListPage
from ..workspace import field_errors, flash_refusal, site_page

T = TransferOrder.Status
APPROVAL_KIND = getattr(transfer_services, "APPROVAL_KIND", "TRANSFER")
# Shipping goes through pick tasks at the source: APPROVED -> (release) PICKING -> (picks confirmed, ship) SHIPPED.
NOT_SHIPPED = (T.PENDING_APPROVAL, T.APPROVED, T.PICKING)


def _visible(request, number: str) -> TransferOrder:
    transfer = TransferOrder.objects.select_related("from_site", "to_site", "created_by").filter(number=number).first()
    if transfer is None or not (
        permissions.can_see_site(request.user, transfer.from_site_id)
        or permissions.can_see_site(request.user, transfer.to_site_id)
    ):
        raise Http404("No such transfer order.")
    return transfer


def _direction(site):
    def text(t: TransferOrder) -> str:
        return f"out to {t.to_site.code}" if t.from_site_id == site.pk else f"in from {t.from_site.code}"

    return text


def _link(t: TransferOrder) -> str:
    return reverse("web:transfer-detail", args=[t.number])


@site_page("replenishment.plan")
def transfer_list(request, *, site):
    transfers = (
        TransferOrder.objects.filter(Q(from_site=site) | Q(to_site=site))
        .select_related("from_site", "to_site")
        .annotate(line_count=Count("lines"))
    )
    columns = (
        Column("number", "Transfer", lambda t: t.number, "number", link=_link),
        Column("direction", "Direction", _direction(site), "to_site__code"),
        Column("status", "Status", lambda t: t.get_status_display(), "status"),
        Column("priority", "Prio", lambda t: t.priority, "priority", css="num"),
        Column("lines", "Lines", lambda t: t.line_count, "line_count", css="num"),
        Column("value", "Value", lambda t: t.value, "value", css="num"),
        Column("created", "Created", lambda t: t.created_at, "created_at"),
        Column("shipped", "Shipped", lambda t: t.shipped_at, "shipped_at"),
        Column("received", "Received", lambda t: t.received_at, "received_at"),
        Column("reason", "Reason", lambda t: t.reason),
    )
    listing = ListPage(
        request,
        transfers,
        columns,
        filters=(
            Filter(
                "direction",
                "Direction",
                kind="choice",
                choices=(("out", "Out of this site"), ("in", "Into this site")),
                apply=lambda qs, v: qs.filter(from_site=site) if v == "out" else qs.filter(to_site=site),
            ),
            Filter("status", "Status", "status", kind="choice", choices=T.choices),
            Filter("number", "Number", "number__icontains"),
            Filter("from", "Created from", "created_at__date__gte", kind="date_from"),
            Filter("to", "Created to", "created_at__date__lte", kind="date_to"),
        ),
        default_sort="-created",
        csv_name=f"transfers-{site.code}",
    )
    return listing.respond("web/transfers/list.html", {"table_id": "transfer-table", "crumbs": [("Transfers", None)]})


NEW_ROWS = 5


def _new_context(site, values=None, rows=None, errors=None, refused=None) -> dict:
    rows = rows or [{"row": i} for i in range(NEW_ROWS)]
    return {
        "values": values or {"priority": "3"},
        "rows": rows,
        "errors": errors or {},
        "refused": refused,
        "sites": list(Site.objects.filter(active=True).exclude(pk=site.pk).order_by("code")),
        "crumbs": [("Transfers", reverse("web:transfer-list")), ("New transfer", None)],
    }


@site_page("replenishment.plan")
def transfer_new(request, *, site):
    """A transfer out of the current site (``create_transfer``: above the site's value rule it waits for
    approval)."""
    if request.method != "POST":
        return render(request, "web/transfers/new.html", _new_context(site))
    form = TransferForm(request.POST, sites=Site.objects.filter(active=True).exclude(pk=site.pk))
    rows = line_forms(TransferLineForm, request.POST, minimum=NEW_ROWS)
    filled = [row for row in rows if not row.is_blank()]
    if not (form.is_valid() & all([row.is_valid() for row in rows])):
        return _new_refused(request, site, form, rows, "Check the highlighted fields.", 400)
    data = form.cleaned_data
    try:
        transfer = transfer_services.create_transfer(
            user=request.user,
            from_site=site,
            to_site=data["to_site"],
            lines=[row.service_line() for row in filled],
            priority=data["priority"],
            reason=data["reason"],
        )
    except DomainError as exc:
        attach_refusal(exc, filled, form)
        return _new_refused(request, site, form, rows, exc.message, exc.status_code)
    messages.success(
        request, f"{transfer.number} to {transfer.to_site.code} created: {transfer.get_status_display().lower()}."
    )
    return redirect("web:transfer-detail", transfer.number)


def _new_refused(request, site, form, rows, message: str, status: int):
    errors = {name: list(msgs) for name, msgs in form.errors.items()}
    if "__all__" in errors:
        errors["form"] = errors.pop("__all__")
    context = _new_context(site, form.values(), [row.as_row() for row in rows], errors, refused=message)
    return render(request, "web/transfers/new.html", context, status=status if status != 404 else 400)


def _approvals(transfer: TransferOrder) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.filter(
            content_type=ContentType.objects.get_for_model(TransferOrder), object_id=transfer.pk, kind=APPROVAL_KIND
        )
        .select_related("requested_by", "decided_by")
        .order_by("requested_at", "id")
    )


def _timeline(transfer: TransferOrder) -> list[dict]:
    records = list(transfer.history.select_related("history_user").order_by("-history_date", "-history_id"))
    out = []
    for i, record in enumerate(records):
        previous = records[i + 1] if i + 1 < len(records) else None
        changes = []
        if previous is not None:
            changes = [
                (
                    c.field.replace("_", " "),
                    display.history_value(TransferOrder, c.field, c.old),
                    display.history_value(TransferOrder, c.field, c.new),
                )
                for c in record.diff_against(previous).changes
                if c.field in ("status", "shipped_at", "received_at")
            ]
        out.append(
            {
                "when": record.history_date,
                "who": record.history_user.username if record.history_user else "system",
                "what": "Created" if record.history_type == "+" else "Changed",
                "status": record.get_status_display(),
                "changes": changes,
            }
        )
    return out


def _render(request, transfer, *, receive_values=None, errors=None, refused=None, status=200):
    user = request.user
    lines = list(transfer.lines.select_related("item").order_by("line_number"))
    approvals = _approvals(transfer)
    tasks = list(
        PickTask.objects.filter(transfer_line__transfer=transfer)
        .select_related("item", "lot", "location")
        .order_by("sequence", "id")
    )
    pending = next((a for a in approvals if a.status == ApprovalRequest.Status.PENDING), None)
    values = receive_values or {}
    for index, line in enumerate(lines):
        line.good = values.get(f"quantity-{line.line_number}", str(line.shipped_quantity - line.received_quantity))
        line.damaged = values.get(f"damaged-{line.line_number}", "0")
        line.errors = (errors or {}).get(index, [])
    return render(
        request,
        "web/transfers/detail.html",
        {
            "transfer": transfer,
            "lines": lines,
            "approvals": approvals,
            "pending": pending,
            "receipts": list(Receipt.objects.filter(transfer_order=transfer).order_by("received_at")),
            "timeline": _timeline(transfer),
            "tasks": tasks,
            "open_picks": sum(1 for t in tasks if t.status == PickTask.Status.OPEN),
            "actions": allowed_actions(transfer, user),
            "refused": refused,
            "form_errors": (errors or {}).get(None, []),
            "crumbs": [("Transfers", reverse("web:transfer-list")), (transfer.number, None)],
        },
        status=status,
    )


@site_page("replenishment.plan")
def transfer_detail(request, number, *, site):
    return _render(request, _visible(request, number))


def _line_errors(exc: DomainError) -> dict:
    """line index -> messages; None -> messages without a line."""
    out: dict = {}
    for name, msgs in field_errors(exc).items():
        path = line_path(name)
        out.setdefault(path[0] if path else None, []).extend(msgs)
    return out


@require_POST
@site_page("replenishment.plan")
def transfer_action(request, number, action, *, site):
    transfer = _visible(request, number)
    user = request.user
    try:
        if action in ("approve", "reject"):
            pending = next((a for a in _approvals(transfer) if a.status == ApprovalRequest.Status.PENDING), None)
            if pending is None:
                messages.error(request, f"{transfer.number} has no pending approval request.")
                return redirect("web:transfer-detail", transfer.number)
            form = DecisionForm(request.POST, action=action)
            if not form.is_valid():
                flash_form_errors(request, form)
                return redirect("web:transfer-detail", transfer.number)
            decide_approval(approval=pending, user=user, approve=form.approve, note=form.decision_note)
        elif action == "release":
            transfer_services.release_transfer(user=user, transfer=transfer)
        elif action == "ship":
            transfer_services.ship_transfer(user=user, transfer=transfer)
        elif action == "cancel":
            transfer_services.cancel_transfer(user=user, transfer=transfer)
        elif action == "receive":
            lines = transfer.lines.select_related("item").order_by("line_number")
            form = TransferReceiveForm(request.POST, lines=lines)
            if not form.is_valid():
                return _render(
                    request,
                    transfer,
                    receive_values=form.values(),
                    errors=form.line_errors(),
                    refused="Check the highlighted quantities: nothing was received.",
                    status=400,
                )
            try:
                receipt = transfer_services.receive_transfer(user=user, transfer=transfer, lines=form.service_lines())
            except DomainError as exc:
                transfer.refresh_from_db()
                return _render(
                    request,
                    transfer,
                    receive_values=form.values(),
                    errors=_line_errors(exc),
                    refused=exc.message,
                    status=exc.status_code if exc.status_code != 404 else 400,
                )
            messages.success(request, f"{transfer.number} received as {receipt.number}.")
            return redirect("web:transfer-detail", transfer.number)
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        transfer.refresh_from_db()
        if transfer.status == T.PICKING:
            picks = PickTask.objects.filter(transfer_line__transfer=transfer, status=PickTask.Status.OPEN).count()
            messages.success(
                request, f"{transfer.number} released for picking at {transfer.from_site.code}: {picks} pick task(s)."
            )
        else:
            done = {"approve": "approved", "reject": "rejected", "ship": "shipped", "cancel": "cancelled"}[action]
            messages.success(request, f"{transfer.number} {done}. Now {transfer.get_status_display().lower()}.")
    return redirect("web:transfer-detail", transfer.number)
