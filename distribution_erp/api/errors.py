"""Every API error as application/problem+json (RFC 9457)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from distribution_erp.errors import DomainError

PROBLEM = "application/problem+json"


def problem(status_code: int, title: str, detail: str, *, code: str = "", errors=None, headers=None) -> Response:
    body = {
        "type": f"https://distribution-erp.dev/problems/{code or status_code}",
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers)
    response.content_type = PROBLEM
    return response


def _flatten(detail, prefix: str = "") -> list[dict]:
    out = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = "non_field_errors" if key in ("non_field_errors", "__all__") else key
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


def domain_error_response(exc: DomainError) -> Response:
    errors = exc.errors or ([{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.field else None)
    return problem(exc.status_code, exc.title, exc.message, code=exc.code, errors=errors)


def problem_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        return problem(404, "Not found", "No such object, or it is not visible to you.", code="not_found")
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(400, "Invalid input", detail, code="invalid", errors=errors)
    headers = {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = getattr(detail, "code", "") if not isinstance(detail, dict | list) else ""
    titles = {
        status.HTTP_401_UNAUTHORIZED: "Authentication required",
        status.HTTP_403_FORBIDDEN: "Permission denied",
        status.HTTP_404_NOT_FOUND: "Not found",
        status.HTTP_405_METHOD_NOT_ALLOWED: "Method not allowed",
        status.HTTP_406_NOT_ACCEPTABLE: "Not acceptable",
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
        status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests",
    }
    return problem(
        response.status_code, titles.get(response.status_code, "Error"), str(detail), code=str(code), headers=headers
    )
