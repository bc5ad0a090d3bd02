"""Every API error as application/problem+json (RFC 9457).

``problem_exception_handler`` is DRF's EXCEPTION_HANDLER: domain errors raised by services, DRF's own errors
(validation, authentication, throttling, parsing) and Django's 404/403 all leave the API in one shape:
``{type, title, status, detail, code?, errors?: [{field, code, message}]}``.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
PROBLEM_BASE = "https://distribution-erp.dev/problems/"

TITLES = {
    status.HTTP_400_BAD_REQUEST: "Invalid input",
    status.HTTP_401_UNAUTHORIZED: "Authentication required",
    status.HTTP_403_FORBIDDEN: "Permission denied",
    status.HTTP_404_NOT_FOUND: "Not found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "Method not allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "Not acceptable",
    status.HTTP_409_CONFLICT: "State conflict",
    status.HTTP_412_PRECONDITION_FAILED: "Precondition failed",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "Request body too large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    status.HTTP_422_UNPROCESSABLE_ENTITY: "Request refused",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "Server error",
    status.HTTP_503_SERVICE_UNAVAILABLE: "Service unavailable",
}


class PreconditionFailed(exceptions.APIException):
    """``If-Match`` named a version of the object that is no longer current (HTTP 412)."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object changed since you read it; reload it and retry with its new ETag."
    default_code = "stale_etag"


def problem_body(status_code: int, title: str, detail: str, *, code: str = "", errors=None) -> dict:
    body = {"type": PROBLEM_BASE + (code or str(status_code)), "title": title, "status": status_code, "detail": detail}
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    return body


def problem(status_code: int, title: str, detail: str, *, code: str = "", errors=None, headers=None) -> Response:
    response = Response(problem_body(status_code, title, detail, code=code, errors=errors), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    response.content_type = PROBLEM
    return response


def plain_problem(status_code: int, detail: str, *, code: str = "") -> JsonResponse:
    """A problem response outside DRF (middleware, URL fallbacks)."""
    title = TITLES.get(status_code, "Error")
    return JsonResponse(problem_body(status_code, title, detail, code=code), status=status_code, content_type=PROBLEM)


def _flatten(detail, prefix: str = "") -> list[dict]:
    out = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # an item of a list: units[0].factor
                out.extend(_flatten(value, f"{prefix}[{key}]"))
                continue
            field = "non_field_errors" if key in ("non_field_errors", "__all__") else str(key)
            name = f"{prefix}.{field}" if prefix and field != "non_field_errors" else (prefix or field)
            out.extend(_flatten(value, name))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                out.extend(_flatten(value, f"{prefix}[{index}]"))
            else:
                out.extend(_flatten(value, prefix))
    else:
        out.append(
            {
                "field": prefix or "non_field_errors",
                "code": getattr(detail, "code", "invalid") or "invalid",
                "message": str(detail),
            }
        )
    return out


def validation_problem(errors: list[dict]) -> Response:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "Invalid input."
    return problem(400, TITLES[400], detail, code="invalid", errors=errors)


def domain_error_response(exc: DomainError) -> Response:
    errors = exc.errors or ([{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.field else None)
    return problem(exc.status_code, exc.title, exc.message, code=exc.code, errors=errors)


def problem_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        return problem(404, TITLES[404], "No such object, or it is not visible to you.", code="not_found")
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        # a model or form validation that escaped a serializer: still the client's input
        return validation_problem(
            [
                {"field": "non_field_errors", "code": getattr(exc, "code", None) or "invalid", "message": m}
                for m in exc.messages
            ]
        )
    if isinstance(exc, DataError):
        # the database refused a value (a NUL character, a number out of range): bad input, not a server fault
        logger.warning("DataError turned into 400 for %s: %s", context.get("request") and context["request"].path, exc)
        return validation_problem(
            [{"field": "non_field_errors", "code": "invalid", "message": "A value in the request cannot be stored."}]
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return validation_problem(_flatten(exc.detail))
    headers = {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = getattr(detail, "code", "") if not isinstance(detail, dict | list) else ""
    return problem(
        response.status_code, TITLES.get(response.status_code, "Error"), str(detail), code=str(code), headers=headers
    )
