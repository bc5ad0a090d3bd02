"""Domain errors raised by services.

Services raise these; the API maps them to problem+json responses (see
``core.api.errors``), pages show their message. Each class fixes
its HTTP status so the mapping lives in one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation (HTTP 422 by default)."""

    status_code = 422
    code = "domain_error"
    title = "Request refused by a business rule"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None, errors=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.errors = errors or []

    def __str__(self) -> str:
        return self.message


class ValidationFailed(DomainError):
    """Input is invalid; ``errors`` lists ``{field, code, message}`` for every problem found."""

    status_code = 400
    code = "invalid"
    title = "Invalid input"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"
    title = "Permission denied"


class StateConflict(DomainError):
    """The object is not in a state that allows the operation (HTTP 409)."""

    status_code = 409
    code = "state_conflict"
    title = "State conflict"


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    title = "Insufficient stock"


class RuleViolation(DomainError):
    code = "rule_violation"
    title = "Site rule violation"


class ScanRefused(DomainError):
    """A scanned barcode names another item or lot, or is not a valid label (HTTP 422, with the field)."""

    code = "wrong_scan"
    title = "Scan refused"


class SegregationOfDuties(DomainError):
    code = "segregation_of_duties"
    title = "Segregation of duties"
