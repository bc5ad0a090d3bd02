"""Bulk API of the orders app (issue 14): customers/bulk/.

Rows are validated by customers/' serializers and written by ``create_customer`` / ``update_customer``; see
:mod:`core.api.bulk` for the shared request, the per-row results and the atomic option.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view

from core.api.bulk import (
    BulkHandler,
    BulkProblemSerializer,
    BulkResultSerializer,
    BulkView,
    bulk_request_serializer,
)
from core.api.errors import PROBLEM
from core.api.fields import clean_key
from orders import selectors, services

from .serializers import CustomerSerializer, CustomerUpdateSerializer


def _valid(serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class CustomerBulkHandler(BulkHandler):
    """A customer row by ``code``: a new code is created (``create_customer``: admins and planners; credit fields
    need credit control at the home site); a known one has the fields given changed like PATCH customers/{code}/
    (``update_customer``: a credit controller may change only the credit fields). Rights are checked per row."""

    key_fields = ("code",)

    def key_of(self, row):
        return clean_key(row.get("code"))

    def fetch_existing(self, keys):
        return {c.code: c for c in selectors.customers_for(self.user).filter(code__in=keys)}

    def validate_create(self, row):
        return _valid(CustomerSerializer(data=row, context=self.context))

    def validate_update(self, row, instance):
        return _valid(CustomerUpdateSerializer(instance, data=row, partial=True, context=self.context))

    def create(self, data):
        code, name = data.pop("code"), data.pop("name")
        return services.create_customer(user=self.user, code=code, name=name, **data)

    def update(self, instance, data):
        return services.update_customer(user=self.user, customer=instance, **data)


CustomerBulkRequest = bulk_request_serializer(
    "CustomerBulkRequest",
    CustomerSerializer,
    "Customers to create (new code) or change (known code: the fields given).",
)


@extend_schema_view(
    post=extend_schema(
        summary="Create or change up to 1,000 customers by code",
        description="Up to 1,000 rows, each created or updated by `code` through the same validation and service "
        "as customers/. Not atomic (default): each row is written on its own, bad rows are reported, and the "
        "answer is 200 with a result per row. `atomic: true`: all rows or none; a failed row refuses the request "
        "with a 422 problem carrying the same `results`. More than 1,000 rows: 400, nothing written. "
        "`Idempotency-Key` replays the first answer.",
        request=CustomerBulkRequest,
        responses={
            200: BulkResultSerializer,
            (422, PROBLEM): OpenApiResponse(
                BulkProblemSerializer,
                description="An atomic request with a failed row (nothing was written; `results` lists the failed "
                "rows), or an Idempotency-Key reused with a different body.",
            ),
        },
    )
)
class CustomerBulkView(BulkView):
    handler_class = CustomerBulkHandler
    serializer_class = CustomerBulkRequest
