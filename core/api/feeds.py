"""Change feeds (issue 14): ``?updated_since=<ISO 8601 date-time>`` on the lists integrators poll (sales orders,
purchase orders, items, stock levels, shipments, transfer orders, receipts) returns the rows changed at or after
that moment, oldest change first (ordered by ``updated_at`` then ``id``, so pages are stable; each model has an
index on those two), unless the request names another ``ordering``. A date-time that does not parse is a 400
naming ``updated_since``.

A document's ``updated_at`` is ``auto_now``: a full ``save()`` stamps it, ``save(update_fields=...)`` and
``QuerySet.update()`` do not unless they name it. The owning services stamp the document also when only its
lines change (a transfer's pick, a receipt line's inspection), so the feed shows every state change.

How to poll (README, "Integrating"): remember the largest ``updated_at`` you processed and ask again from a little
before it: a transaction commits after it stamped ``updated_at``, so a row can appear with a time stamp older than
rows you already saw, by at most the longest write (the request timeout, 120 s). Rows seen twice are deduplicated
by ``id`` and ``updated_at``. For every change as an ordered stream, use the ``events/`` feed instead."""

from __future__ import annotations

import django_filters
from rest_framework.filters import OrderingFilter

PARAM = "updated_since"
FEED_ORDER = ("updated_at", "id")
BAD_MOMENT = "Give an ISO 8601 date-time, e.g. 2026-03-01T08:00:00Z (a time zone offset or Z; without one: UTC)."


def updated_since_filter(field_name: str = "updated_at") -> django_filters.IsoDateTimeFilter:
    return django_filters.IsoDateTimeFilter(
        field_name=field_name,
        lookup_expr="gte",
        help_text="Change feed: rows changed at or after this ISO 8601 date-time, oldest first (updated_at, id)",
        error_messages={"invalid": BAD_MOMENT},
    )


class FeedOrderingFilter(OrderingFilter):
    """DRF's ordering filter, except that a change-feed request without ``ordering`` is ordered oldest change
    first, with the id as tie-break."""

    def get_default_ordering(self, view):
        request = getattr(view, "request", None)
        if request is not None and PARAM in request.query_params:
            return list(FEED_ORDER)
        return super().get_default_ordering(view)
