"""import-batches/: upload (a file or JSON rows), dry run, post (202 with the approval), errors, reconciliation,
templates. Views call the cutover services; the services check roles and states."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api.errors import plain_problem
from core.api.mixins import ApiViewMixin
from core.api.parsers import SafeJSONParser
from governance.api.serializers import ApprovalSerializer

from ..columns import IMPORT_KINDS, describe, template_csv
from ..models import ImportBatch
from ..selectors import reconciliation_csv, visible_batches
from ..services import create_batch, reconcile_batch, request_post, validate_batch
from .serializers import (
    ImportBatchInputSerializer,
    ImportBatchSerializer,
    ImportRowErrorSerializer,
    ReconcileInputSerializer,
    ReconciliationSerializer,
)


def _upload(file) -> tuple[bytes, str]:
    return file.read(), file.name or ""


class ImportBatchViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cutover import batches of your sites: upload, validate (dry run), post after approval, reconcile."""

    serializer_class = ImportBatchSerializer
    parser_classes = [SafeJSONParser, MultiPartParser]
    filterset_fields = ["status", "kind"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        qs = visible_batches(self.request.user)
        site = self.request.query_params.get("site")
        return qs.filter(site__code=site) if site else qs

    @extend_schema(request=ImportBatchInputSerializer, responses={201: ImportBatchSerializer})
    def create(self, request, *args, **kwargs):
        data = ImportBatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "file" in v:
            content, name = _upload(v["file"])
            batch = create_batch(user=request.user, site=v["site"], kind=v["kind"], content=content, file_name=name)
        else:
            batch = create_batch(user=request.user, site=v["site"], kind=v["kind"], rows=v["rows"])
        return self.respond(batch, status.HTTP_201_CREATED)

    @extend_schema(summary="Dry run: check every row, store every error, write nothing else", request=None)
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        return self.respond(validate_batch(user=request.user, batch=self.get_object()))

    @extend_schema(
        summary="Ask to post a validated batch: 202 with the approval that posts it when another approver decides",
        request=None,
        responses={
            202: inline_serializer("ImportPost", {"batch": ImportBatchSerializer(), "approval": ApprovalSerializer()}),
            200: inline_serializer(
                "ImportPosted", {"batch": ImportBatchSerializer(), "approval": ApprovalSerializer()}
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def post(self, request, pk=None):
        batch, approval = request_post(user=request.user, batch=self.get_object())
        body = {
            "batch": ImportBatchSerializer(batch, context=self.get_serializer_context()).data,
            "approval": ApprovalSerializer(approval, context=self.get_serializer_context()).data if approval else None,
        }
        done = batch.status == ImportBatch.Status.POSTED
        return Response(body, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The errors of the last dry run or refused post", responses=ImportRowErrorSerializer(many=True)
    )
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        batch = self.get_object()
        page = self.paginate_queryset(batch.errors.order_by("row", "id"))
        return self.get_paginated_response(ImportRowErrorSerializer(page, many=True).data)

    @extend_schema(
        summary="Reconcile a posted opening-balance batch against legacy control totals (POST), or read the last "
        "reconciliation (GET)",
        request=ReconcileInputSerializer,
        responses={201: ReconciliationSerializer, 200: ReconciliationSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def reconcile(self, request, pk=None):
        batch = self.get_object()
        if request.method == "GET":
            rec = batch.reconciliations.order_by("-created_at", "-id").first()
            if rec is None:
                return plain_problem(404, f"{batch.number} has not been reconciled yet.", code="not_found")
            return Response(ReconciliationSerializer(rec).data)
        data = ReconcileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "file" in v:
            content, name = _upload(v["file"])
            rec = reconcile_batch(user=request.user, batch=batch, content=content, file_name=name)
        else:
            rec = reconcile_batch(user=request.user, batch=batch, rows=v["rows"])
        return Response(ReconciliationSerializer(rec).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The last reconciliation as CSV", responses={(200, "text/csv"): OpenApiResponse(str)})
    @action(detail=True, methods=["get"], url_path="reconciliation-csv")
    def reconciliation_csv(self, request, pk=None):
        batch = self.get_object()
        rec = batch.reconciliations.order_by("-created_at", "-id").first()
        if rec is None:
            return plain_problem(404, f"{batch.number} has not been reconciled yet.", code="not_found")
        response = HttpResponse(reconciliation_csv(rec), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{batch.number}-reconciliation.csv"'
        return response

    @extend_schema(
        summary="The import kinds and their columns",
        operation_id="import_batches_templates_list",
        # a plain list (not paginated): a raw schema, so the generator does not wrap it in a page
        responses={
            200: OpenApiResponse(
                response={
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "kind": {"type": "string"},
                            "columns": {"type": "array", "items": {"type": "object"}},
                        },
                        "required": ["kind", "columns"],
                    },
                }
            )
        },
    )
    @action(detail=False, methods=["get"])
    def templates(self, request):
        return Response([{"kind": kind, "columns": describe(kind)} for kind in IMPORT_KINDS + ("CONTROL_TOTALS",)])

    @extend_schema(
        summary="The CSV template of one kind",
        operation_id="import_batches_template_retrieve",
        responses={(200, "text/csv"): OpenApiResponse(str)},
    )
    @action(detail=False, methods=["get"], url_path=r"templates/(?P<kind>[A-Za-z_]{1,30})")
    def template(self, request, kind=None):
        kind = kind.upper()
        if kind not in IMPORT_KINDS + ("CONTROL_TOTALS",):
            return plain_problem(404, f"No import kind {kind!r}.", code="not_found")
        response = HttpResponse("\ufeff" + template_csv(kind), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{kind.lower()}-template.csv"'
        return response
