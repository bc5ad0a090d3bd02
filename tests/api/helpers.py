"""Small assertions shared by the API tests."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith(PROBLEM), response["Content-Type"]
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] and "detail" in body
    return body


def field_errors(response, status: int = 400) -> dict[str, str]:
    """Assert a 400 problem and return {field: code} of its errors."""
    body = problem(response, status)
    assert body.get("errors"), body
    return {error["field"]: error["code"] for error in body["errors"]}


def history_user(obj):
    """The user recorded on the newest history row of ``obj``."""
    return obj.history.order_by("-history_date", "-history_id").first().history_user
