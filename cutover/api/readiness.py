"""Going live (issue 13): the readiness scorecard of a site (``sites/{code}/readiness/``), go-live requests
(``go-live-requests/``: ask, list, decide with an optional waiver) and training records (``training-records/``).
Views call the cutover services and selectors; the services check roles and states."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.mixins import ApiViewMixin
from governance import permissions
from governance.api.serializers import DecisionSerializer

from ..readiness import overall
from ..selectors import scorecard, visible_go_live_requests, visible_training_records
from ..services import decide_go_live, record_training, request_go_live, revoke_training
from .serializers import (
    GoLiveDecisionSerializer,
    GoLiveRequestInputSerializer,
    GoLiveRequestSerializer,
    ReadinessSerializer,
    TrainingRecordSerializer,
)

#: a site's lifecycle is governance's area: API tokens need the governance scope to write here
SCOPE = "governance"


def _site(request, code: str):
    site = permissions.visible_sites(request.user).filter(code=code).first()
    if site is None:
        raise Http404("No such site.")
    return site


class SiteReadinessView(ApiViewMixin, APIView):
    api_scope = SCOPE

    @extend_schema(
        summary="The site's readiness scorecard now (the gate of the step to LIVE), computed from the data",
        responses={200: ReadinessSerializer},
    )
    def get(self, request, code: str):
        site = _site(request, code)
        criteria = scorecard(site)
        body = {
            "site": site.code,
            "stage": site.stage,
            "overall": overall(criteria),
            "evaluated_at": timezone.now(),
            "criteria": criteria,
        }
        return Response(ReadinessSerializer(body).data)


class SiteGoLiveRequestView(ApiViewMixin, APIView):
    api_scope = SCOPE

    @extend_schema(
        summary="Ask to take a PILOT site live (its admins): 202 with the request, its scorecard now and its GO_LIVE "
        "approval, decided by an enterprise admin other than you",
        request=GoLiveRequestInputSerializer,
        responses={202: GoLiveRequestSerializer},
    )
    def post(self, request, code: str):
        site = _site(request, code)
        data = GoLiveRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = request_go_live(user=request.user, site=site, note=data.validated_data.get("note", ""))
        fresh = visible_go_live_requests(request.user).get(pk=created.pk)
        return Response(GoLiveRequestSerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


class GoLiveRequestViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Go-live requests of your sites: the scorecard when asked, the decision and the step it took."""

    api_scope = SCOPE
    serializer_class = GoLiveRequestSerializer
    filterset_fields = ["status"]
    ordering = ["-requested_at", "-id"]

    def get_queryset(self):
        qs = visible_go_live_requests(self.request.user)
        site = self.request.query_params.get("site")
        return qs.filter(site__code=site) if site else qs

    def _decide(self, request, approve: bool):
        data = (GoLiveDecisionSerializer if approve else DecisionSerializer)(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        decided = decide_go_live(
            user=request.user,
            request=self.get_object(),
            approve=approve,
            note=v.get("note", ""),
            waiver_reason=v.get("waiver_reason", ""),
        )
        return self.respond(decided)

    @extend_schema(
        summary="Go: take the site live (enterprise admins other than the requester); a red scorecard now is "
        "refused (409) unless waiver_reason is given",
        request=GoLiveDecisionSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(summary="No-go (enterprise admins other than the requester)", request=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)


class TrainingRecordViewSet(
    ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Training and certification records of your sites; the site's admins and enterprise admins record them."""

    api_scope = SCOPE
    serializer_class = TrainingRecordSerializer
    filterset_fields = ["process"]
    ordering = ["site__code", "user__username", "process", "-certified_on", "-id"]

    def get_queryset(self):
        qs = visible_training_records(self.request.user)
        params = self.request.query_params
        if params.get("site"):
            qs = qs.filter(site__code=params["site"])
        if params.get("user"):
            qs = qs.filter(user__username=params["user"])
        return qs

    @extend_schema(summary="Record a certification (site admins, enterprise admins)")
    def create(self, request, *args, **kwargs):
        data = TrainingRecordSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        v = data.validated_data
        record = record_training(
            user=request.user,
            site=v["site"],
            trainee=v["user"],
            process=v["process"],
            certified_on=v.get("certified_on"),
            valid_until=v.get("valid_until"),
            trainer=v.get("trainer", ""),
            note=v.get("note", ""),
        )
        return self.respond(record, status.HTTP_201_CREATED)

    @extend_schema(summary="Withdraw a certification (it stops counting at once)", request=DecisionSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self.respond(
            revoke_training(user=request.user, record=self.get_object(), note=data.validated_data.get("note", ""))
        )
