"""GET kpis/: every KPI of KPIS.md for a site (or the network) and period, as JSON or CSV."""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import PROBLEM
from core.api.schema import ProblemSerializer
from core.downloads import csv_download
from core.errors import DomainError, PermissionDenied
from governance import permissions
from governance.models import Site
from reporting.kpis import KPIS
from reporting.selectors import CSV_HEADER, kpi_csv_rows, kpis_for
from reporting.services import local_yesterday

from .serializers import KpiReportSerializer

#: the longest period one request may ask for
MAX_DAYS = 366
DEFAULT_DAYS = 30
#: the dates a period may use: far enough from year 1 and 9999 that the period arithmetic (a default end 29 days
#: on, the day after the end, a year-long trend back) cannot overflow Python's calendar (an OverflowError, a 500)
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2999, 12, 31)


class CsvRenderer(BaseRenderer):
    """Lets ``?format=csv`` and ``Accept: text/csv`` reach the view (which streams the CSV itself); an error
    answered to such a request is still problem+json."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/problem+json"
        return json.dumps(data, cls=DjangoJSONEncoder).encode()


class InvalidPeriod(DomainError):
    code = "invalid_period"
    title = "Invalid period"


def _date(raw: str | None, name: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None:
        raise InvalidPeriod(
            f"{name} must be a date (YYYY-MM-DD).",
            field=name,
            errors=[{"field": name, "code": "invalid_date", "message": f"Not a date: {raw!r}; use YYYY-MM-DD."}],
        )
    if not FIRST_DATE <= value <= LAST_DATE:
        message = f"Dates must be between {FIRST_DATE} and {LAST_DATE}."
        raise InvalidPeriod(
            message, field=name, errors=[{"field": name, "code": "date_out_of_range", "message": message}]
        )
    return value


def period_from_query(params, site: Site | None) -> tuple[date, date]:
    """``date_from``/``date_to`` from the query (both included); default: the 30 days up to yesterday."""
    date_from = _date(params.get("date_from"), "date_from")
    date_to = _date(params.get("date_to"), "date_to")
    date_to = date_to or (local_yesterday(site) if date_from is None else date_from + timedelta(days=DEFAULT_DAYS - 1))
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise InvalidPeriod(
            "date_from is after date_to.",
            field="date_from",
            errors=[{"field": "date_from", "code": "after_date_to", "message": "date_from must not be after date_to."}],
        )
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise InvalidPeriod(
            f"A period is at most {MAX_DAYS} days.",
            field="date_to",
            errors=[{"field": "date_to", "code": "period_too_long", "message": f"At most {MAX_DAYS} days."}],
        )
    return date_from, date_to


def site_from_query(user, code: str | None) -> Site | None:
    """The site asked for (404 when unknown or not visible); no site: the network, for those allowed."""
    if code:
        site = Site.objects.filter(code=code).first()
        if site is None or not permissions.can_see_site(user, site):
            raise DRFNotFound(f"No site {code!r}.")
        return site
    if not permissions.can_see_network(user):
        raise PermissionDenied("Network-wide KPIs are for admins; give ?site=<code>.")
    return None


class KpiView(APIView):
    """Every KPI of KPIS.md with its value, numerator, denominator and breakdown, for one site or the
    whole network (no ``site``: admins only) over ``date_from``..``date_to`` (both included, in the site's
    time zone; default the 30 days up to yesterday; at most 366 days). ``?format=csv`` or ``Accept:
    text/csv`` answers a CSV of the same rows."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="kpis_retrieve",
        parameters=[
            OpenApiParameter("site", str, required=False, description="Site code; omitted: the network (admins)"),
            OpenApiParameter("date_from", OpenApiTypes.DATE, required=False, description="First day (included)"),
            OpenApiParameter("date_to", OpenApiTypes.DATE, required=False, description="Last day (included)"),
            OpenApiParameter("format", str, required=False, enum=["json", "csv"], description="csv: a CSV file"),
        ],
        responses={
            (200, "application/json"): KpiReportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The same rows as CSV"),
            (403, PROBLEM): OpenApiResponse(
                ProblemSerializer, description="No site given and you may not see network-wide figures."
            ),
            (422, PROBLEM): OpenApiResponse(
                ProblemSerializer,
                description="A date is not YYYY-MM-DD, date_from is after date_to, or the "
                f"period is longer than {MAX_DAYS} days.",
            ),
        },
    )
    def get(self, request):
        site = site_from_query(request.user, request.query_params.get("site"))
        date_from, date_to = period_from_query(request.query_params, site)
        values = kpis_for(request.user, site, date_from, date_to)
        code = site.code if site is not None else None
        if getattr(request.accepted_renderer, "format", None) == "csv":
            rows = kpi_csv_rows(code, date_from, date_to, values)
            name = f"kpis-{code or 'network'}-{date_from}-{date_to}"
            return csv_download(name, CSV_HEADER, rows)
        body = {
            "site": code,
            "date_from": date_from,
            "date_to": date_to,
            "time_zone": site.timezone if site is not None else "UTC",
            "kpis": [
                {
                    "key": v.key,
                    "label": v.label,
                    "unit": v.unit,
                    "higher_is_better": KPIS[v.key].higher_is_better,
                    "value": v.value,
                    "numerator": v.numerator,
                    "denominator": v.denominator,
                    "breakdown": v.breakdown,
                }
                for v in values
            ],
        }
        return Response(KpiReportSerializer(body).data)
