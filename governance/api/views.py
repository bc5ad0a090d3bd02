"""Governance API: sites, memberships, the site rules register, approvals, exceptions and job runs.

Every write calls one governance service; visibility comes from ``governance.permissions`` (an object of a
site you cannot see is a 404, a site you cannot see named in a payload is a 400 on that field).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.response import Response

from core.api.fields import clean_key, lookup_or_fail
from core.api.mixins import ApiViewMixin, IdempotentCreateMixin
from governance import permissions
from governance.models import ApprovalRequest, ExceptionCase, JobRun, RuleChange, SiteMembership
from governance.rules import REGISTRY
from governance.selectors import pending_approval
from governance.services import (
    acknowledge_exception,
    add_membership,
    assign_exception,
    clear_rule_value,
    create_site,
    decide_approval,
    lifecycle,
    remove_membership,
    resolve_exception,
    set_rule_value,
)
from governance.services.rules import RULE_CHANGE_KIND, effective_rules

from .filters import ApprovalFilter, ExceptionFilter, JobRunFilter, MembershipFilter, SiteFilter
from .serializers import (
    ApprovalSerializer,
    DecisionSerializer,
    ExceptionAssignSerializer,
    ExceptionNoteSerializer,
    ExceptionResolveSerializer,
    ExceptionSerializer,
    JobRunSerializer,
    SiteMembershipSerializer,
    SiteRuleDeleteQuerySerializer,
    SiteRuleDetailSerializer,
    SiteRuleQuerySerializer,
    SiteRuleSerializer,
    SiteRuleWriteSerializer,
    SiteSerializer,
    SiteStageChangeSerializer,
    StageChangeInputSerializer,
)

# --- sites and memberships ---------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        summary="Create a site (enterprise admins)",
        examples=[
            OpenApiExample(
                "Branch",
                value={"code": "BR9", "name": "Branch 9", "region": "WEST", "kind": "BRANCH", "timezone": "UTC"},
                request_only=True,
            )
        ],
    )
)
class SiteViewSet(
    ApiViewMixin, IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Sites the user belongs to (enterprise admins: all). Enterprise admins create sites; each comes with its
    virtual locations (supplier, customer, in transit, adjustment, scrap)."""

    serializer_class = SiteSerializer
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    filterset_class = SiteFilter
    ordering_fields = ["code", "name", "region"]
    ordering = ["code"]

    def get_queryset(self):
        return permissions.visible_sites(self.request.user)

    def perform_create(self, serializer):
        return create_site(user=self.request.user, **serializer.validated_data)

    @extend_schema(
        methods=["GET"],
        responses={200: SiteStageChangeSerializer(many=True)},
        summary="The site's roll-out steps, oldest first, with the gate results each was taken on",
    )
    @extend_schema(
        methods=["POST"],
        request=StageChangeInputSerializer,
        responses={201: SiteStageChangeSerializer},
        summary="Move the site to its next roll-out stage (site admins; LIVE and waivers: enterprise admins)",
    )
    @action(detail=True, methods=["get", "post"], url_path="stage", pagination_class=None)
    def stage(self, request, code=None):
        site = self.get_object()
        if request.method == "GET":
            steps = site.stage_changes.select_related("changed_by", "waived_by").order_by("changed_at", "id")
            return Response(SiteStageChangeSerializer(steps, many=True).data)
        data = StageChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        step = lifecycle.change_stage(
            user=request.user,
            site=site,
            to_stage=v["stage"],
            note=v.get("note", ""),
            waiver_reason=v.get("waiver_reason", ""),
        )
        return Response(SiteStageChangeSerializer(step).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    create=extend_schema(summary="Give a user a role at a site (site admins, enterprise admins)"),
    destroy=extend_schema(summary="Take a role away (site admins, enterprise admins)"),
)
class SiteMembershipViewSet(
    ApiViewMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Who works where, in which role (memberships of the sites you can see)."""

    serializer_class = SiteMembershipSerializer
    filterset_class = MembershipFilter
    ordering_fields = ["created_at"]
    ordering = ["site__code", "user__username", "role"]

    def get_queryset(self):
        return permissions.restrict(SiteMembership.objects.select_related("user", "site"), self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        return add_membership(
            user=self.request.user, member_username=data["user"], site=data["site"], role=data["role"]
        )

    def perform_destroy(self, instance):
        remove_membership(user=self.request.user, membership=instance)


# --- site rules ----------------------------------------------------------------------------------------


def _json(value):
    return str(value) if isinstance(value, Decimal) else value


def _rule_row(row: dict) -> dict:
    return {
        **{k: _json(v) for k, v in row.items() if k not in ("site", "choices", "has_override")},
        "site": row["site"].code if row["site"] else None,
        "choices": [_json(c) for c in row["choices"]],
    }


@extend_schema_view(
    list=extend_schema(
        summary="Effective rule values per site",
        parameters=[SiteRuleQuerySerializer],
        responses={200: SiteRuleSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="One rule: definition, enterprise value and the value at every site you can see",
        responses={200: SiteRuleDetailSerializer},
    ),
    update=extend_schema(
        summary="Set a site's override or the enterprise value (admins), with a reason",
        description="`site` null or omitted sets the enterprise value (enterprise admins only). A site "
        "override is allowed for LOCAL rules only (an ENTERPRISE rule answers 422), by the site's admins; the "
        "value is checked against the rule's type and bounds (400). A site override of a control rule (approval "
        "values, tolerances ...) answers 202 with the pending approval request (kind RULE_CHANGE): the value "
        "changes only when another admin of the site approves it.",
        request=SiteRuleWriteSerializer,
        responses={200: SiteRuleSerializer, 202: ApprovalSerializer},
        examples=[
            OpenApiExample(
                "Site override",
                value={"site": "DC1", "value": "250.00", "reason": "Small site, tighter control"},
                request_only=True,
            )
        ],
    ),
    destroy=extend_schema(
        summary="Clear a site's override (or the enterprise value): the next level applies again",
        description="Removing a site override of a control rule answers 202 with the pending approval request "
        "(kind RULE_CHANGE); the override stays until another admin of the site approves.",
        parameters=[SiteRuleDeleteQuerySerializer],
        responses={204: None, 202: ApprovalSerializer},
    ),
)
class SiteRuleViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """The site rules register: each rule's effective value per site, its standardization (ENTERPRISE: no
    site may differ; LOCAL: a site may override within bounds) and whether the site deviates."""

    serializer_class = SiteRuleSerializer
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9_.]+"
    filter_backends: list = []

    def get_queryset(self):  # rules are declared in code; the rows come from effective_rules()
        return permissions.visible_sites(self.request.user).filter(active=True)

    def _definition(self, key):
        if key not in REGISTRY:
            raise DRFNotFound(f"No rule {key!r}.")
        return REGISTRY[key]

    def get_object(self):
        """The rule's definition: what DRF's OPTIONS metadata looks up before describing PUT (the generic lookup
        would filter the site queryset by ``key``: a FieldError, a 500)."""
        return self._definition(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field))

    def list(self, request):
        query = SiteRuleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        sites = self.get_queryset()
        if "site" in q:
            sites = sites.filter(code=clean_key(q["site"]) or "")
        rows = [
            _rule_row(row)
            for site in sites
            for row in effective_rules(site)
            if (not q.get("key") or row["key"] == q["key"])
            and (not q.get("standardization") or row["standardization"] == q["standardization"])
            and (q.get("overridden") is None or row["overridden"] == q["overridden"])
        ]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SiteRuleSerializer(page, many=True).data)

    def retrieve(self, request, key=None):
        self._definition(key)
        enterprise = next(_rule_row(r) for r in effective_rules(None) if r["key"] == key)
        sites = [
            {"site": row["site"], "value": row["value"], "overridden": row["overridden"], "reason": row["reason"]}
            for site in self.get_queryset()
            for row in map(_rule_row, effective_rules(site))
            if row["key"] == key
        ]
        data = {k: v for k, v in enterprise.items() if k not in ("site", "value", "overridden", "reason")}
        data.update(enterprise_reason=enterprise["reason"], sites=sites)
        return Response(SiteRuleDetailSerializer(data).data)

    def update(self, request, key=None):
        self._definition(key)
        data = SiteRuleWriteSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        site = data.validated_data.get("site")
        result = set_rule_value(
            user=request.user,
            key=key,
            value=data.validated_data["value"],
            reason=data.validated_data["reason"],
            site=site,
        )
        if isinstance(result, RuleChange):
            return self._pending(result)
        row = next(r for r in effective_rules(site) if r["key"] == key)
        return Response(SiteRuleSerializer(_rule_row(row)).data)

    def destroy(self, request, key=None):
        self._definition(key)
        query = SiteRuleDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        site = None
        if "site" in query.validated_data:
            site = lookup_or_fail(self.get_queryset(), field="site", label="site", value=query.validated_data["site"])
        result = clear_rule_value(user=request.user, key=key, site=site)
        if isinstance(result, RuleChange):
            return self._pending(result)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _pending(self, change: RuleChange) -> Response:
        """202: the change of a control rule waits for another person's approval."""
        approval = pending_approval(
            subject=change, kinds=RULE_CHANGE_KIND, related=("site", "requested_by", "content_type")
        )
        return Response(ApprovalSerializer(approval).data, status=status.HTTP_202_ACCEPTED)


# --- approvals -----------------------------------------------------------------------------------------


class ApprovalViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Approval requests of your sites (adjustments above the site's value, and other kinds). The requester
    can never decide their own request (422); a decided request cannot be decided again (409)."""

    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter
    ordering_fields = ["requested_at", "decided_at"]
    ordering = ["-requested_at", "-id"]

    def get_queryset(self):
        return permissions.restrict(
            ApprovalRequest.objects.select_related("site", "requested_by", "decided_by", "content_type"),
            self.request.user,
        )

    def _decide(self, request, approve: bool):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        approval = decide_approval(
            approval=self.get_object(), user=request.user, approve=approve, note=data.validated_data.get("note", "")
        )
        return self.respond(approval)

    @extend_schema(summary="Approve (approvers other than the requester)", request=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(summary="Reject (approvers other than the requester)", request=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)


# --- exceptions ----------------------------------------------------------------------------------------


class ExceptionViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Exception cases of your sites: acknowledge, assign and resolve them (each step is time stamped)."""

    serializer_class = ExceptionSerializer
    filterset_class = ExceptionFilter
    ordering_fields = ["opened_at", "due_at", "severity"]
    ordering = ["-opened_at", "-id"]

    def get_queryset(self):
        return permissions.restrict(
            ExceptionCase.objects.select_related("site", "code", "assignee", "content_type"), self.request.user
        )

    @extend_schema(summary="Acknowledge an open exception", request=ExceptionNoteSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        data = ExceptionNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = acknowledge_exception(
            case=self.get_object(), user=request.user, note=data.validated_data.get("note", "")
        )
        return self.respond(case)

    @extend_schema(summary="Resolve an exception, saying how", request=ExceptionResolveSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        data = ExceptionResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = resolve_exception(case=self.get_object(), user=request.user, note=data.validated_data["note"])
        return self.respond(case)

    @extend_schema(summary="Assign (or unassign) an exception", request=ExceptionAssignSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = ExceptionAssignSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        case = assign_exception(case=self.get_object(), user=request.user, assignee=data.validated_data["assignee"])
        return self.respond(case)


# --- job runs ------------------------------------------------------------------------------------------


class JobRunViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Background job runs: kind, started, finished, counts, error. Network-wide runs are visible to all."""

    serializer_class = JobRunSerializer
    filterset_class = JobRunFilter
    ordering_fields = ["started_at"]
    ordering = ["-started_at", "-id"]

    def get_queryset(self):
        ids = permissions.site_ids_for(self.request.user)
        qs = JobRun.objects.select_related("site")
        return qs if ids is None else qs.filter(Q(site__isnull=True) | Q(site_id__in=ids))
