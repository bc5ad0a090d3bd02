"""OpenAPI: token auth, problem+json error responses, Idempotency-Key / If-Match / ETag headers.

``ProblemAutoSchema`` (DEFAULT_SCHEMA_CLASS) documents on every operation the errors it can answer with, all
as ``application/problem+json`` with the ``Problem`` schema, and the shared headers of API.md.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .errors import PROBLEM
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import REPLAY_HEADER


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "governance.api.authentication.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; create keys with `python manage.py create_api_token <username>`.",
        }


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The input field, e.g. `quantity_delta` or `units[0].factor`")
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `required`, `does_not_exist`")
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """An error (RFC 9457 problem details)."""

    type = serializers.CharField(help_text="A URI naming the kind of problem")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="Machine-readable problem code")
    errors = ProblemFieldErrorSerializer(many=True, required=False, help_text="For invalid input: every field error")

    class Meta:
        ref_name = "Problem"


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `errors` lists every field error.",
    401: "Not authenticated (no, invalid, expired or revoked token).",
    403: "Your role at the site does not allow this.",
    404: "No such object, or it is not visible to you.",
    409: "State conflict (the object is not in a state that allows this, or the request is still running).",
    412: "`If-Match` named a stale ETag: the object changed since you read it; nothing was changed.",
    413: "Request body too large.",
    415: "Unsupported media type: send `application/json`.",
    422: "Refused by a business rule (or an Idempotency-Key reused with a different body); nothing changed.",
    429: "Too many bad tokens from this address; retry after `Retry-After` seconds (a valid token is never refused).",
}

RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`"}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
}

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ProblemAutoSchema(AutoSchema):
    def _view_handler(self):
        action = getattr(self.view, "action", None)
        # a viewset's action, or a plain APIView's method handler (items/bulk/)
        return getattr(self.view, action or self.method.lower(), None)

    def _is_idempotent_create(self) -> bool:
        return self.method == "POST" and bool(getattr(self._view_handler(), "idempotent", False))

    def _uses_etag(self) -> bool:
        from .mixins import ETagMixin

        return isinstance(self.view, ETagMixin) and getattr(self.view, "action", None) != "list"

    def _error_statuses(self) -> list[int]:
        codes = {401, 429}
        if self.method in WRITE_METHODS:
            codes |= {400, 403, 404, 409, 413, 422}
            if self.method != "DELETE":
                codes.add(415)
            if self._uses_etag() and not self._is_create_operation():
                codes.add(412)
        else:
            codes |= {400, 404}
        return sorted(codes)

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_idempotent_create():
            parameters += [
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    description="Any unique string (at most 255 visible ASCII characters). Sending the same key "
                    "with the same body again replays the first response and creates nothing more; the same key "
                    "with a different body is a 422; while the first request still runs, a 409. Kept 24 hours+.",
                ),
                OpenApiParameter(
                    REPLAY_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    response=[201],
                    description="`true` when this is the stored first response to a repeated Idempotency-Key",
                ),
            ]
        if self._uses_etag():
            if self.method in WRITE_METHODS and not self._is_create_operation():
                parameters.append(
                    OpenApiParameter(
                        "If-Match",
                        str,
                        OpenApiParameter.HEADER,
                        description="The ETag you read; if the object changed since, the request is refused "
                        "with 412 and nothing changes.",
                    )
                )
            parameters.append(
                OpenApiParameter(
                    "ETag",
                    str,
                    OpenApiParameter.HEADER,
                    response=[200, 201],
                    description="Version of the object; send it back in `If-Match` when you change it.",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_statuses():
            key = str(code)
            if key in responses:
                continue
            response = self._get_response_for_code(ProblemSerializer, key, media_types=[PROBLEM], direction=direction)
            response["description"] = ERROR_DESCRIPTIONS[code]
            if code in RESPONSE_HEADERS:
                response["headers"] = RESPONSE_HEADERS[code]
            responses[key] = response
        return responses
