"""Input refused before any view code runs, shared by the API and the pages (issue 12, finding 6)."""

from __future__ import annotations

from .fields import NUL


def nul_query_fields(query) -> list[str]:
    """The names of the query parameters (a QueryDict) whose name or value holds a NUL character, NUL shown as
    ``\\0``: PostgreSQL cannot compare text with NUL in it. The API (ApiViewMixin.initial) and the pages
    (distribution_erp.middleware.NulQueryMiddleware) refuse such a query with 400."""
    return sorted(
        {name.replace(NUL, "\\0") for name, values in query.lists() if NUL in name or any(NUL in v for v in values)}
    )
