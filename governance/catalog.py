"""The exception code catalog: code, name, severity, owning role, SLA minutes, description.

Seeded by migrations (``ensure_exception_codes`` creates missing codes and never
overwrites what admins changed). Add a code here and a migration that calls it.
"""

EXCEPTION_CODES = [
    (
        "SHORT_PICK",
        "Short pick",
        "HIGH",
        "supervisor",
        120,
        "A picker found less than the pick task asked for; the location is counted and the line re-allocated.",
    ),
    ("OVER_RECEIPT", "Over receipt", "MEDIUM", "supervisor", 240, "More was received than ordered."),
    ("SHORT_RECEIPT", "Short receipt", "MEDIUM", "planner", 1440, "Less was received than ordered."),
    ("DAMAGED_RECEIPT", "Damaged receipt", "MEDIUM", "supervisor", 480, "Units arrived damaged."),
    ("WRONG_ITEM", "Wrong item received", "HIGH", "supervisor", 240, "An item that is not on the order arrived."),
    ("LOT_MISMATCH", "Lot mismatch", "MEDIUM", "supervisor", 480, "Received lots differ from the ship notice."),
    ("LATE_RECEIPT", "Late receipt", "LOW", "planner", 2880, "A receipt arrived after its expected date."),
    ("OVERDUE_RECEIPT", "Overdue receipt", "MEDIUM", "planner", 1440, "Expected supply has not arrived."),
    ("STOCKOUT", "Stockout", "HIGH", "planner", 480, "An item has no available stock at a site with demand."),
    ("BACKORDER_AGING", "Backorder aging", "MEDIUM", "coordinator", 1440, "A backorder is older than the site allows."),
    (
        "UNALLOCATED_LINE",
        "Line cannot be allocated",
        "HIGH",
        "coordinator",
        240,
        "A line could not be filled and the customer does not accept backorders.",
    ),
    (
        "LATE_SHIPMENT_RISK",
        "Late shipment risk",
        "HIGH",
        "supervisor",
        120,
        "An order is not shipped and its promised date is near.",
    ),
    ("COUNT_VARIANCE", "Count variance", "MEDIUM", "supervisor", 1440, "A count differs from the expected quantity."),
    ("CREDIT_HOLD", "Credit hold", "HIGH", "coordinator", 240, "An order is held for the customer's credit."),
    (
        "TRANSFER_DISCREPANCY",
        "Transfer discrepancy",
        "MEDIUM",
        "supervisor",
        1440,
        "A transfer arrived with a difference against what was shipped.",
    ),
    ("INTEGRATION_FAILURE", "Integration failure", "HIGH", "admin", 120, "A message from or to a partner failed."),
    (
        "ALLOCATION_DRIFT",
        "Allocation counter drift",
        "CRITICAL",
        "admin",
        60,
        "A stock level's allocated counter differs from its open allocations.",
    ),
    ("LEDGER_DRIFT", "Ledger drift", "CRITICAL", "admin", 60, "A balance differs from the sum of its ledger moves."),
    ("STALE_TASK", "Stale task", "LOW", "supervisor", 480, "A pick or putaway task has waited too long."),
    ("JOB_FAILED", "Background job failed", "HIGH", "admin", 120, "A background job run ended with an error."),
    (
        "ADJUSTMENT_PENDING",
        "Adjustment awaiting approval",
        "LOW",
        "supervisor",
        1440,
        "An adjustment above the site's value threshold waits for an approver.",
    ),
]


def ensure_exception_codes(apps=None) -> int:
    """Create the catalog's codes that do not exist yet; returns how many were created."""
    if apps is None:
        from governance.models import ExceptionCode
    else:
        ExceptionCode = apps.get_model("governance", "ExceptionCode")
    existing = set(ExceptionCode.objects.values_list("code", flat=True))
    new = [
        ExceptionCode(code=code, name=name, severity=severity, owner_role=role, sla_minutes=sla, description=desc)
        for code, name, severity, role, sla, desc in EXCEPTION_CODES
        if code not in existing
    ]
    ExceptionCode.objects.bulk_create(new)
    return len(new)
