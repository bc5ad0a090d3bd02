"""Pagination: ``?page=`` for lists, ``?cursor=`` for the ledger. Page sizes are capped at API_MAX_PAGE_SIZE."""

from django.conf import settings
from django.utils.dateparse import parse_datetime
from rest_framework import pagination
from rest_framework.exceptions import NotFound


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE


class LedgerCursorPagination(pagination.CursorPagination):
    """The ledger is read newest first with a stable cursor (no skipped or repeated rows while it grows)."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # a forged cursor must not reach the database as an unparsable time stamp
        if cursor is not None and cursor.position is not None:
            try:
                valid = parse_datetime(str(cursor.position)) is not None
            except ValueError:
                valid = False
            if not valid:
                raise NotFound(self.invalid_cursor_message)
        return cursor
