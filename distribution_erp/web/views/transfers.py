"""Transfers in and out of the current site: the list (direction filter), the transfer page with its lines,
approval state, pick tasks and history, and the actions ``warehouse.services.transfers`` offers (approve / reject
through ``governance.services.decide_approval``, release for picking, ship once picked, cancel, receive).

The page only shows a button when the user's role at the right end of the transfer allows it and the status
admits it; the services decide, and their refusals are shown in their own words.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from distribution_erp.errors import DomainError
from governance import permissions
from governance.models import ApprovalRequest, Site
from governance.services import decide_approval
from orders.models import TransferOrder
from warehouse.models import PickTask, Receipt
from warehouse.services import transfers as transfer_services

from .. import display
from ..lists import Column, Filter, ListPage
from ..workspace import field_errors, flash_refusal, site_page

T = TransferOrder.Status
APPROVAL_KIND = getattr(transfer_services, "APPROVAL_KIND", "TRANSFER")
# Shipping goes through pick tasks at the source: APPROVED -> (release) PICKING -> (picks confirmed, ship) SHIPPED.
NOT_SHIPPED = (T.PENDING_APPROVAL, T.APPROVED, T.PICKING)
_LINE_ERROR = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


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
    post = request.POST
    values = {k: (post.get(k) or "").strip() for k in ("to_site", "priority", "reason")}
    rows = [
        {"row": i, **{f: (post.get(f"{f}-{i}") or "").strip() for f in ("item", "quantity", "unit")}}
        for i in range(NEW_ROWS)
    ]
    filled = [r for r in rows if r["item"] or r["quantity"]]
    errors: dict = {}
    to_site = Site.objects.filter(code=values["to_site"], active=True).first()
    if to_site is None:
        errors["to_site"] = ["No such site."]
    priority = int(values["priority"]) if values["priority"].isdigit() else 0
    if not 1 <= priority <= 5:  # as the API's serializer
        errors["priority"] = ["Give a priority from 1 to 5."]
    if not errors:
        try:
            transfer = transfer_services.create_transfer(
                user=request.user,
                from_site=site,
                to_site=to_site,
                lines=[{"item": r["item"], "quantity": r["quantity"], "unit": r["unit"]} for r in filled],
                priority=priority,
                reason=values["reason"],
            )
        except DomainError as exc:
            for name, msgs in field_errors(exc).items():
                match = _LINE_ERROR.match(name)
                if match and int(match.group(1)) < len(filled):
                    filled[int(match.group(1))].setdefault("errors", []).extend(msgs)
                else:
                    errors.setdefault(name or "form", []).extend(msgs)
            context = _new_context(site, values, rows, errors, refused=exc.message)
            return render(request, "web/transfers/new.html", context, status=exc.status_code)
        messages.success(
            request, f"{transfer.number} to {to_site.code} created: {transfer.get_status_display().lower()}."
        )
        return redirect("web:transfer-detail", transfer.number)
    context = _new_context(site, values, rows, errors, refused="Check the highlighted fields.")
    return render(request, "web/transfers/new.html", context, status=400)


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
            "can_release": transfer.status == T.APPROVED
            and permissions.can(user, "warehouse.execute", transfer.from_site_id),
            "can_decide": pending is not None
            and pending.requested_by_id != user.pk
            and permissions.can(user, "approval.decide", pending.site_id),
            "can_ship": transfer.status == T.PICKING
            and permissions.can(user, "warehouse.execute", transfer.from_site_id),
            "open_picks": sum(1 for t in tasks if t.status == PickTask.Status.OPEN),
            "can_cancel": transfer.status in NOT_SHIPPED
            and permissions.can(user, "replenishment.plan", transfer.from_site_id),
            "can_receive": transfer.status == T.SHIPPED
            and permissions.can(user, "inventory.receive", transfer.to_site_id),
            "refused": refused,
            "form_errors": (errors or {}).get(None, []),
            "crumbs": [("Transfers", reverse("web:transfer-list")), (transfer.number, None)],
        },
        status=status,
    )


@site_page("replenishment.plan")
def transfer_detail(request, number, *, site):
    return _render(request, _visible(request, number))


def _receive_lines(transfer, post) -> list[dict]:
    lines = []
    for line in transfer.lines.select_related("item").order_by("line_number"):
        good = (post.get(f"quantity-{line.line_number}") or "").strip()
        damaged = (post.get(f"damaged-{line.line_number}") or "").strip()
        lines.append({"item": line.item.sku, "quantity": good or "0", "damaged_quantity": damaged or "0"})
    return lines


def _line_errors(exc: DomainError) -> dict:
    """line index -> messages; None -> messages without a line."""
    out: dict = {}
    for name, msgs in field_errors(exc).items():
        match = _LINE_ERROR.match(name)
        out.setdefault(int(match.group(1)) if match else None, []).extend(msgs)
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
            decide_approval(approval=pending, user=user, approve=action == "approve", note=request.POST.get("note", ""))
        elif action == "release":
            transfer_services.release_transfer(user=user, transfer=transfer)
        elif action == "ship":
            transfer_services.ship_transfer(user=user, transfer=transfer)
        elif action == "cancel":
            transfer_services.cancel_transfer(user=user, transfer=transfer)
        elif action == "receive":
            lines = _receive_lines(transfer, request.POST)
            try:
                receipt = transfer_services.receive_transfer(user=user, transfer=transfer, lines=lines)
            except DomainError as exc:
                transfer.refresh_from_db()
                return _render(
                    request,
                    transfer,
                    receive_values=request.POST,
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
