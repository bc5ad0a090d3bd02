"""Going live (issue 13): the current site's readiness page — its lifecycle stage and steps, the readiness
scorecard as the data stand now (status colours, evidence, what to fix), its go-live requests — and the actions:
step to CUTOVER / PILOT (or one back) for the site's admins, ask to go live (a PILOT site's admins), decide a
go-live with an optional waiver (enterprise admins other than the requester).

Every write goes through the owners' services (``governance.services.lifecycle.change_stage``,
``cutover.services.request_go_live`` / ``decide_go_live``); a refusal is shown in the service's words above the
page with the form kept, and changes nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from cutover.models import GoLiveRequest
from cutover.readiness import overall
from cutover.selectors import scorecard
from cutover.services import decide_go_live, request_go_live
from governance import permissions
from governance.models import Site
from governance.services import lifecycle

from ..workspace import field_errors, site_page

S = Site.Stage


class StageForm(forms.Form):
    stage = forms.ChoiceField(choices=[])
    note = forms.CharField(
        required=False, max_length=500, widget=forms.TextInput(attrs={"placeholder": "Note", "aria-label": "Step note"})
    )

    def __init__(self, *args, steps=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(s, S(s).label) for s in steps]


class GoLiveRequestForm(forms.Form):
    note = forms.CharField(required=False, max_length=500)


class GoLiveDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Go"), ("reject", "No-go")])
    note = forms.CharField(required=False, max_length=2000)
    waiver_reason = forms.CharField(
        required=False,
        max_length=400,
        help_text="Needed only when a criterion is red at the decision: recorded with the step to LIVE.",
    )


def _steps_for(user, site: Site) -> list[str]:
    """The steps this page offers the user: every allowed step but LIVE (that is the go / no-go decision)."""
    if not permissions.can(user, "site.manage", site):
        return []
    return [s for s in lifecycle.allowed_steps(site.stage) if s != S.LIVE]


def _render(request, site: Site, *, forms_bound=None, refused: str = "", status: int = 200):
    site = Site.objects.get(pk=site.pk)  # fresh: a refused step changed nothing, a taken one did
    user = request.user
    criteria = scorecard(site)
    requests = list(
        GoLiveRequest.objects.filter(site=site)
        .select_related("requested_by", "decided_by", "approval", "stage_change")
        .order_by("-requested_at", "-id")[:10]
    )
    pending = next((r for r in requests if r.status == GoLiveRequest.Status.PENDING), None)
    may_manage = permissions.can(user, "site.manage", site)
    bound = forms_bound or {}
    steps = _steps_for(user, site)
    context = {
        "site": site,
        "criteria": criteria,
        "overall": overall(criteria),
        "steps": site.stage_changes.select_related("changed_by", "waived_by").order_by("changed_at", "id"),
        "go_live_requests": requests,
        "pending": pending,
        "in_hypercare": lifecycle.in_hypercare(site),
        "stage_form": bound.get("stage") or (StageForm(steps=steps) if steps else None),
        "request_form": bound.get("request")
        or (GoLiveRequestForm() if may_manage and site.stage == S.PILOT and pending is None else None),
        "decision_form": bound.get("decision")
        or (GoLiveDecisionForm() if pending is not None and permissions.is_enterprise_admin(user) else None),
        "own_request": pending is not None and pending.requested_by_id == user.pk,
        # the stage line: every stage by its label, the site's own marked
        "stage_line": [(label, value == site.stage) for value, label in S.choices],
        "in_pilot": site.stage == S.PILOT,
        "is_live": site.stage == S.LIVE,
        "refused": refused,
    }
    return render(request, "web/readiness/site.html", context, status=status)


@site_page("view")
def site_readiness(request, *, site):
    return _render(request, site)


def _refused(request, site, exc: DomainError, form, name: str):
    for field, msgs in field_errors(exc).items():
        if field in form.fields:
            for m in msgs:
                form.add_error(field, m)
    return _render(
        request,
        site,
        forms_bound={name: form},
        refused=exc.message,
        status=exc.status_code if exc.status_code != 404 else 400,
    )


@require_POST
@site_page("site.manage")
def readiness_stage(request, *, site):
    form = StageForm(request.POST, steps=_steps_for(request.user, site))
    if not form.is_valid():
        return _render(request, site, forms_bound={"stage": form}, refused="Choose a step.", status=400)
    try:
        step = lifecycle.change_stage(
            user=request.user, site=site, to_stage=form.cleaned_data["stage"], note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        return _refused(request, site, exc, form, "stage")
    messages.success(request, f"{site.code} moved {step.from_stage} → {step.to_stage}.")
    return redirect("web:site-readiness")


@require_POST
@site_page("site.manage")
def readiness_request(request, *, site):
    form = GoLiveRequestForm(request.POST)
    if not form.is_valid():
        return _render(request, site, forms_bound={"request": form}, refused="Check the note.", status=400)
    try:
        made = request_go_live(user=request.user, site=site, note=form.cleaned_data["note"])
    except DomainError as exc:
        return _refused(request, site, exc, form, "request")
    messages.success(
        request, f"Go-live of {site.code} requested ({overall(made.scorecard)}); an enterprise admin decides it."
    )
    return redirect("web:site-readiness")


@require_POST
@site_page("view")
def readiness_decide(request, pk, *, site):
    go_live = GoLiveRequest.objects.filter(pk=pk, site=site).first()
    if go_live is None:
        raise Http404("No such go-live request.")
    form = GoLiveDecisionForm(request.POST)
    if not form.is_valid():
        return _render(request, site, forms_bound={"decision": form}, refused="Choose go or no-go.", status=400)
    data = form.cleaned_data
    try:
        decided = decide_go_live(
            user=request.user,
            request=go_live,
            approve=data["decision"] == "approve",
            note=data["note"],
            waiver_reason=data["waiver_reason"],
        )
    except DomainError as exc:
        return _refused(request, site, exc, form, "decision")
    if decided.status == GoLiveRequest.Status.APPROVED:
        waived = " with a waiver" if decided.waiver_reason else ""
        messages.success(request, f"{site.code} is live{waived}.")
    else:
        messages.success(request, f"No-go recorded: {site.code} stays in {site.stage}.")
    return redirect("web:site-readiness")
