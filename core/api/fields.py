"""Serializer fields shared by the API: related objects by natural key, quantities and units (the apps' own
natural-key fields build on NaturalKeyField: governance.api.fields SiteField/UserField, inventory.api.fields ItemField).

Master data is referenced by natural key in payloads (site ``code``, item ``sku``, ``username``). An object
the user may not see gets exactly the same 400 field error as one that does not exist, so the API never
confirms that something exists at another site. Objects that need a parent to be found (a location within a
site, a lot of an item) are resolved in the serializer's ``validate`` with :func:`lookup_or_fail`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.validation import MAX_QUANTITY

NUL = "\x00"
UNIT_PATTERN = r"^[A-Za-z0-9_-]{1,12}$"


def clean_key(value) -> str | None:
    """The natural key as given, or None when it cannot name anything (not text, empty, NUL, very long)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or NUL in value or len(value) > 200:
        return None
    return value


def lookup_or_fail(queryset, *, field: str, label: str, value, key_field: str = "code"):
    """The object of ``queryset`` whose ``key_field`` is ``value``, or a 400 field error that reads the same
    for unknown and hidden objects."""
    key = clean_key(value)
    obj = queryset.filter(**{key_field: key}).first() if key is not None else None
    if obj is None:
        raise serializers.ValidationError(
            {field: [serializers.ErrorDetail(f"No {label} {value!r}.", "does_not_exist")]}
        )
    return obj


@extend_schema_field(OpenApiTypes.STR)
class NaturalKeyField(serializers.RelatedField):
    """A related object given by its natural key; subclasses say which objects the user may name."""

    key_field = "code"
    label_text = "object"
    default_error_messages = {
        "does_not_exist": "No {label} {value!r}.",
        "invalid": "Give the {label} as text.",
    }

    def get_queryset(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @property
    def user(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", label=self.label_text)
        key = clean_key(data)
        obj = self.get_queryset().filter(**{self.key_field: key}).first() if key is not None else None
        if obj is None:
            self.fail("does_not_exist", label=self.label_text, value=data)
        return obj

    def to_representation(self, value):
        return getattr(value, self.key_field)


@extend_schema_field(OpenApiTypes.STR)
class UsernameField(serializers.Field):
    """A username as text, looked up by the service only after its permission check, so that whether a user
    exists is told only to someone allowed to act (issue 12, finding 5: an existing user answered 403 and an
    unknown one 400 to anyone). Reads as the user's username."""

    default_error_messages = {"invalid": "Give the user as text."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Username")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value.get_username()


class QuantityField(serializers.Field):
    """A quantity as a JSON number (or numeric text): in base units, or in ``unit`` when the line gives one.

    Returns a ``Decimal``; the serializer converts it to whole base units (``inventory.units.to_base_quantity``),
    which refuses amounts that are not whole base units. Booleans, non-numbers, zero, negatives (unless
    ``signed``) and magnitudes over 1,000,000,000 are refused here.
    """

    signed = False
    default_error_messages = {
        "invalid": "Give the quantity as a number.",
        "zero": "Quantity must not be zero.",
        "not_positive": "Quantity must be greater than zero.",
        "too_large": f"Quantity must be at most {MAX_QUANTITY:,}.",
    }

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, int | float | str | Decimal):
            self.fail("invalid")
        if isinstance(data, str) and not 0 < len(data.strip()) <= 40:
            self.fail("invalid")
        try:
            amount = Decimal(str(data).strip())
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not amount.is_finite():
            self.fail("invalid")
        if amount == 0:
            self.fail("zero" if self.signed else "not_positive")
        if amount < 0 and not self.signed:
            self.fail("not_positive")
        if abs(amount) > MAX_QUANTITY:
            self.fail("too_large")
        return amount

    def to_representation(self, value):
        return int(value)


@extend_schema_field(
    {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": MAX_QUANTITY,
        "description": "Greater than zero; whole base units, or an amount of `unit` that converts to whole "
        "base units (e.g. 0.5 CASE of 12 = 6).",
    }
)
class PositiveQuantityField(QuantityField):
    signed = False


@extend_schema_field(
    {
        "type": "number",
        "minimum": -MAX_QUANTITY,
        "maximum": MAX_QUANTITY,
        "description": "Non-zero; positive adds stock, negative removes it. Whole base units, or an amount of "
        "`unit` that converts to whole base units.",
    }
)
class SignedQuantityField(QuantityField):
    signed = True


class UnitField(serializers.RegexField):
    """An ``ItemUnit`` code such as CASE or PALLET; omitted or null means the item's base unit."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("help_text", "Unit code of the item (e.g. CASE); default: the base unit")
        super().__init__(UNIT_PATTERN, **kwargs)
