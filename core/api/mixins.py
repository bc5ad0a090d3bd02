"""Viewset mixins for the shared API behaviour: JSON bodies, responses, Idempotency-Key, ETag/If-Match.

Views stay thin: they validate input with a serializer, call one service (which checks permissions, locks,
writes and raises domain errors), and answer with :meth:`ApiViewMixin.respond`.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .errors import PreconditionFailed
from .fields import NUL
from .idempotency import idempotent
from .inputs import nul_query_fields
from .parsers import SafeJSONParser


class ApiViewMixin:
    """Base of every API viewset: JSON request bodies, no NUL characters in the URL, one way to answer."""

    parser_classes = [SafeJSONParser]  # JSON with bounded nesting and no lone surrogates
    #: the serializer that shows an object in responses (default: ``serializer_class``)
    output_serializer_class = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if any(NUL in str(value) for value in kwargs.values()):
            raise Http404
        bad = nul_query_fields(request.query_params)
        if bad:
            raise ValidationError({name: ["NUL characters are not allowed."] for name in bad})

    def get_output_serializer_class(self):
        return self.output_serializer_class or self.serializer_class

    def respond(self, obj, code: int = status.HTTP_200_OK) -> Response:
        """Answer with ``obj`` as the view's queryset shows it (fresh from the database), with its ETag."""
        obj = self.get_queryset().get(pk=obj.pk)
        serializer = self.get_output_serializer_class()(obj, context=self.get_serializer_context())
        response = Response(serializer.data, status=code)
        if isinstance(self, ETagMixin):
            response["ETag"] = self.etag_for(obj)
        return response


class IdempotentCreateMixin:
    """``POST`` creates through ``perform_create`` (which calls the service and returns the new object) and
    answers 201; an ``Idempotency-Key`` header replays the first answer instead of creating again."""

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.perform_create(serializer)
        return self.respond(obj, status.HTTP_201_CREATED)

    def perform_create(self, serializer):  # pragma: no cover - every view defines it
        raise NotImplementedError


class ETagMixin:
    """Objects people edit carry an ``ETag``; a write with a stale ``If-Match`` is refused with 412.

    The ETag is a digest of the object's id and ``etag_fields``. :meth:`lock_for_write` locks the row and
    compares the ETag inside the caller's transaction, so two writers holding the same ETag cannot both win.
    """

    etag_fields: tuple[str, ...] = ("updated_at",)

    def etag_for(self, obj) -> str:
        parts = [type(obj).__name__, str(obj.pk)] + [str(getattr(obj, name)) for name in self.etag_fields]
        return '"' + hashlib.sha256(":".join(parts).encode()).hexdigest()[:32] + '"'

    def check_if_match(self, request, obj) -> None:
        header = request.headers.get("If-Match")
        if header is None:
            return
        wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
        if "*" in wanted or self.etag_for(obj) in wanted:
            return
        raise PreconditionFailed()

    def lock_for_write(self, request, obj):
        """Lock ``obj``'s row (call inside ``transaction.atomic``), check ``If-Match``, return the locked row."""
        assert transaction.get_connection().in_atomic_block, "lock_for_write needs a transaction"
        locked = type(obj).objects.select_for_update(no_key=True).get(pk=obj.pk)
        self.check_if_match(request, locked)
        return locked

    def retrieve(self, request, *args, **kwargs):
        return self.respond(self.get_object())
