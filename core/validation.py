"""Shared input helpers for services: model validation and quantities."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from .errors import ValidationFailed

MAX_QUANTITY = 1_000_000_000


def full_clean_or_raise(instance, *, exclude=None, validate_unique: bool = True) -> None:
    """``instance.full_clean()``, turning Django's ValidationError into our field-by-field ValidationFailed."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=validate_unique)
    except ValidationError as exc:
        errors = []
        if hasattr(exc, "error_dict"):
            for field, errs in exc.error_dict.items():
                for err in errs:
                    errors.append(
                        {
                            "field": "non_field_errors" if field == "__all__" else field,
                            "code": getattr(err, "code", None) or "invalid",
                            "message": " ".join(err.messages),
                        }
                    )
        else:
            errors = [{"field": "non_field_errors", "code": "invalid", "message": m} for m in exc.messages]
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def field_error(field: str, message: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "code": code, "message": message}])


def positive_quantity(value, *, field: str = "quantity", allow_zero: bool = False) -> int:
    """An integer quantity in base units: whole, positive (or zero when allowed), at most a billion."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(field, "Quantity must be a whole number.", "not_integer")
    if value < 0 or (value == 0 and not allow_zero):
        raise field_error(
            field,
            "Quantity must be greater than zero." if not allow_zero else "Quantity must not be negative.",
            "not_positive",
        )
    if value > MAX_QUANTITY:
        raise field_error(field, f"Quantity must be at most {MAX_QUANTITY:,}.", "too_large")
    return value
