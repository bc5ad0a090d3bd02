"""The site rules register.

Every policy number a service uses is declared here, with its type, bounds,
enterprise default and standardization level. Values that people set live in
``SiteRuleValue`` (an enterprise-level value, or a local override for one
site) and are read through :func:`get_rule`, the one function services call.
Services never hard-code a policy number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import ValidationFailed

ENTERPRISE = "ENTERPRISE"
LOCAL = "LOCAL"
TYPES = ("int", "decimal", "bool", "choice")


@dataclass(frozen=True)
class RuleDefinition:
    key: str
    type: str
    default: Any
    description: str
    standardization: str = LOCAL
    min_value: Any = None
    max_value: Any = None
    choices: tuple = ()
    unit: str = ""
    #: a control point's parameter (an approval value, a tolerance, a blind-count scope): a site override of it
    #: is set or removed only after a second person approves (an approval request of kind RULE_CHANGE)
    control: bool = False

    def parse(self, raw: Any) -> Any:
        """Return ``raw`` as this rule's type, or raise ValidationFailed naming the problem."""
        try:
            if self.type == "bool":
                if isinstance(raw, bool):
                    value: Any = raw
                elif isinstance(raw, str) and raw.strip().lower() in {"true", "false", "1", "0", "yes", "no"}:
                    value = raw.strip().lower() in {"true", "1", "yes"}
                else:
                    raise ValueError
            elif self.type == "int":
                if isinstance(raw, bool) or isinstance(raw, float):
                    raise ValueError
                if isinstance(raw, Decimal) and not (raw.is_finite() and raw == raw.to_integral_value()):
                    raise ValueError  # int() would silently drop the fraction
                if isinstance(raw, str) and not raw.strip().lstrip("-").isdigit():
                    raise ValueError
                value = int(raw)
            elif self.type == "decimal":
                if isinstance(raw, bool) or isinstance(raw, float):
                    raw = str(raw)
                value = Decimal(str(raw).strip())
                if not value.is_finite():
                    raise ValueError
            elif self.type == "choice":
                value = str(raw)
            else:  # pragma: no cover - definitions are checked at import
                raise ValueError
        except (ValueError, TypeError, InvalidOperation):
            raise ValidationFailed(
                f"{self.key} expects a value of type {self.type}.",
                errors=[{"field": "value", "code": "invalid_type", "message": f"Expected {self.type}, got {raw!r}."}],
            )
        if self.choices and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise ValidationFailed(
                f"{self.key} must be one of: {allowed}.",
                errors=[{"field": "value", "code": "not_allowed", "message": f"Allowed values: {allowed}."}],
            )
        if self.min_value is not None and value < self.min_value:
            raise ValidationFailed(
                f"{self.key} must be at least {self.min_value}.",
                errors=[{"field": "value", "code": "below_minimum", "message": f"Minimum is {self.min_value}."}],
            )
        if self.max_value is not None and value > self.max_value:
            raise ValidationFailed(
                f"{self.key} must be at most {self.max_value}.",
                errors=[{"field": "value", "code": "above_maximum", "message": f"Maximum is {self.max_value}."}],
            )
        return value

    def to_json(self, value: Any) -> Any:
        return str(value) if isinstance(value, Decimal) else value

    def from_json(self, stored: Any) -> Any:
        if self.type == "decimal":
            return Decimal(str(stored))
        return stored


REGISTRY: dict[str, RuleDefinition] = {}


def register(definition: RuleDefinition) -> RuleDefinition:
    assert definition.type in TYPES, definition
    assert definition.standardization in (ENTERPRISE, LOCAL), definition
    assert definition.key not in REGISTRY, f"rule {definition.key} declared twice"
    definition.parse(definition.default)  # the default itself must be valid
    REGISTRY[definition.key] = definition
    return definition


def definition(key: str) -> RuleDefinition:
    try:
        return REGISTRY[key]
    except KeyError:
        raise ValidationFailed(
            f"Unknown site rule {key!r}.",
            errors=[{"field": "key", "code": "unknown_rule", "message": f"No rule named {key!r}."}],
        )


D = Decimal

# --- inventory ---------------------------------------------------------------------------------
register(
    RuleDefinition(
        "inventory.adjustment_approval_value",
        "decimal",
        D("500.00"),
        "Stock adjustments whose value (|quantity| x standard cost) is above this amount wait for approval "
        "by someone other than the requester; at or below it they apply at once.",
        LOCAL,
        min_value=D("0"),
        max_value=D("1000000"),
        unit="currency",
        control=True,
    )
)
register(
    RuleDefinition(
        "inventory.adjustment_approval_window_hours",
        "int",
        24,
        "Adjustments are not judged one by one: when the value of a user's adjustments applied without approval "
        "in this many past hours, plus this one, exceeds the approval value (or the same sum at the location, "
        "whoever made them), this one waits for approval too, so splitting one adjustment into small ones "
        "changes nothing.",
        LOCAL,
        min_value=1,
        max_value=720,
        unit="hours",
        control=True,
    )
)
register(
    RuleDefinition(
        "inventory.negative_stock_allowed",
        "bool",
        False,
        "Stock may never go negative at any site: the ledger refuses the move and the database enforces it. "
        "Declared here so the policy is visible; it has no other legal value.",
        ENTERPRISE,
        choices=(False,),
    )
)
register(
    RuleDefinition(
        "inventory.adjustment_note_required",
        "bool",
        True,
        "An adjustment must carry a note in addition to its reason code.",
        LOCAL,
    )
)

# --- orders and allocation ---------------------------------------------------------------------
register(
    RuleDefinition(
        "orders.allow_split_shipments",
        "bool",
        True,
        "Allocation may split an order across sites when no single site can fill it (and the customer allows it).",
        LOCAL,
    )
)
register(
    RuleDefinition(
        "orders.cancel_waved_orders",
        "bool",
        True,
        "An order on a wave may still be cancelled or held until its first unit is picked: its lines leave the "
        "wave and their open pick tasks are cancelled (the units unreserved). Off: once on a wave, cancel and "
        "hold are refused. Once a unit is picked they are always refused.",
        LOCAL,
    )
)
register(
    RuleDefinition(
        "orders.credit_check_enabled",
        "bool",
        True,
        "Releasing an order checks the customer's open order value against the credit limit.",
        ENTERPRISE,
    )
)

# --- receiving -----------------------------------------------------------------------------------
register(
    RuleDefinition(
        "receiving.over_receipt_tolerance_percent",
        "decimal",
        D("5"),
        "Over-receipt beyond the ordered quantity allowed without approval, in percent of the line.",
        LOCAL,
        min_value=D("0"),
        max_value=D("50"),
        unit="%",
        control=True,
    )
)
register(
    RuleDefinition(
        "receiving.over_receipt_action",
        "choice",
        "HOLD",
        "What happens to units beyond the over-receipt tolerance: REFUSE the receipt, or HOLD the excess "
        "for inspection (released or returned to the vendor by an inspector).",
        LOCAL,
        choices=("REFUSE", "HOLD"),
    )
)
register(
    RuleDefinition(
        "receiving.overdue_grace_days",
        "int",
        1,
        "Days after a purchase order line's expected date before an OVERDUE_RECEIPT exception opens.",
        LOCAL,
        min_value=0,
        max_value=60,
        unit="days",
    )
)

# --- outbound ------------------------------------------------------------------------------------
register(
    RuleDefinition(
        "picking.min_remaining_shelf_life_days",
        "int",
        30,
        "A lot is picked only when at least this many days of shelf life remain.",
        LOCAL,
        min_value=0,
        max_value=3650,
        unit="days",
    )
)
register(
    RuleDefinition(
        "shipping.late_risk_window_hours",
        "int",
        24,
        "Orders not shipped within this many hours of their promised date open LATE_SHIPMENT_RISK.",
        LOCAL,
        min_value=1,
        max_value=336,
        unit="hours",
    )
)
register(
    RuleDefinition(
        "shipping.consolidate_orders",
        "bool",
        True,
        "Orders of the same customer and ship-to address in one wave are packed into one shipment.",
        LOCAL,
    )
)
register(
    RuleDefinition(
        "shipping.allow_partial_shipments",
        "bool",
        True,
        "A partly picked order may ship now when its customer accepts partial shipments; off: it waits.",
        LOCAL,
    )
)
register(
    RuleDefinition(
        "shipping.gs1_company_prefix",
        "int",
        614141,
        "The GS1 company prefix in SSCCs of shipped packages, as a number; with "
        "shipping.gs1_company_prefix_digits it is zero padded (614141 with 7 digits: 0614141).",
        ENTERPRISE,
        min_value=1,
        max_value=999_999_999_999,
    )
)
register(
    RuleDefinition(
        "shipping.gs1_company_prefix_digits",
        "int",
        7,
        "How many digits the GS1 company prefix has (6 to 12, leading zeros included).",
        ENTERPRISE,
        min_value=6,
        max_value=12,
        unit="digits",
    )
)
register(
    RuleDefinition(
        "shipping.sscc_extension_digit",
        "int",
        0,
        "The extension digit (first digit) of the SSCCs a site prints on its packages.",
        LOCAL,
        min_value=0,
        max_value=9,
    )
)
register(
    RuleDefinition(
        "rollout.hypercare_days",
        "int",
        30,
        "How many days of hypercare follow a site's go-live (the hypercare command centre follows it until then).",
        LOCAL,
        min_value=0,
        max_value=365,
        unit="days",
    )
)

# --- hypercare and adoption (issue 13): the command centre's KPI targets and the workaround window ---------
register(
    RuleDefinition(
        "adoption.workaround_minutes",
        "int",
        60,
        "An inventory adjustment at an item and location within this many minutes after a pick there counts as a "
        "manual workaround (the adoption KPI manual_workarounds).",
        LOCAL,
        min_value=1,
        max_value=1440,
        unit="minutes",
    )
)
#: (KPI key, target, unit, upper bound, what it means); a target is a floor when higher is better, else a ceiling
KPI_TARGETS = (
    ("on_time_shipment", D("95"), "%", D("100"), "at least"),
    ("short_pick_rate", D("2"), "%", D("100"), "at most"),
    ("inventory_accuracy", D("97"), "%", D("100"), "at least"),
    ("scan_compliance", D("98"), "%", D("100"), "at least"),
    ("override_rate", D("5"), "%", D("100"), "at most"),
    ("refused_scan_rate", D("5"), "per 100", D("1000"), "at most"),
)
for _key, _target, _unit, _max, _sense in KPI_TARGETS:
    register(
        RuleDefinition(
            f"kpi.target.{_key}",
            "decimal",
            _target,
            f"Target of the KPI {_key} on the hypercare command centre: {_sense} this value.",
            LOCAL,
            min_value=D("0"),
            max_value=_max,
            unit=_unit,
        )
    )
register(
    RuleDefinition(
        "cutover.reconciliation_tolerance_percent",
        "decimal",
        D("0.5"),
        "A cutover reconciliation line (units per item and site) is inside tolerance when the posted opening "
        "balance differs from the legacy control total by at most this percentage of the legacy units.",
        LOCAL,
        min_value=D("0"),
        max_value=D("100"),
        unit="%",
        control=True,
    )
)

# --- readiness scorecard (issue 13): the thresholds of the go-live gate (cutover.readiness) ----------------
register(
    RuleDefinition(
        "readiness.master_data_min_percent",
        "decimal",
        D("98"),
        "Readiness: the share of the site's stocked or ordered items with a handling unit (case, pallet), a weight "
        "and a barcode, of its pick faces with a min/max, and of its storage and pick locations with a capacity, "
        "must each be at least this percentage for the site to go live.",
        LOCAL,
        min_value=D("0"),
        max_value=D("100"),
        unit="%",
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.max_reconciliation_lines_outside",
        "int",
        0,
        "Readiness: the latest reconciliation of the site's latest posted opening-balance batch may have at most "
        "this many lines outside the reconciliation tolerance (cutover.reconciliation_tolerance_percent).",
        LOCAL,
        min_value=0,
        max_value=100000,
        unit="lines",
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.max_open_discrepancies",
        "int",
        0,
        "Readiness: at most this many receiving discrepancies at the site may still be open (their exception "
        "case not resolved) when it goes live.",
        LOCAL,
        min_value=0,
        max_value=100000,
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.count_accuracy_min_percent",
        "decimal",
        D("98"),
        "Readiness: of the cycle-count lines counted at the site in the last readiness.count_window_days days "
        "(the pre-go-live count), at least this percentage must show no variance.",
        LOCAL,
        min_value=D("0"),
        max_value=D("100"),
        unit="%",
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.count_window_days",
        "int",
        14,
        "Readiness: how many days back the pre-go-live count accuracy looks.",
        LOCAL,
        min_value=1,
        max_value=365,
        unit="days",
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.min_staff_per_role",
        "int",
        1,
        "Readiness: each role a site needs to run (admin, supervisor, operator, coordinator) must be held by at "
        "least this many active users at the site.",
        LOCAL,
        min_value=1,
        max_value=1000,
        unit="users",
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.training_min_percent",
        "decimal",
        D("90"),
        "Readiness: at least this percentage of the site's operators and supervisors must hold a valid "
        "certification for every process their role needs.",
        LOCAL,
        min_value=D("0"),
        max_value=D("100"),
        unit="%",
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.integration_window_hours",
        "int",
        72,
        "Readiness: each active webhook subscription scoped to the site must have delivered an event of the site "
        "successfully within this many hours, and none of the site's deliveries in that time may have been given "
        "up.",
        LOCAL,
        min_value=1,
        max_value=24 * 90,
        unit="hours",
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.max_open_exceptions",
        "int",
        10,
        "Readiness: at most this many exception cases may be open (not resolved) at the site when it goes live.",
        LOCAL,
        min_value=0,
        max_value=100000,
        control=True,
    )
)
register(
    RuleDefinition(
        "readiness.max_overdue_exceptions",
        "int",
        0,
        "Readiness: at most this many of the site's open exception cases may be past their due time.",
        LOCAL,
        min_value=0,
        max_value=100000,
        control=True,
    )
)
register(
    RuleDefinition(
        "waves.max_orders",
        "int",
        50,
        "Default maximum number of orders in a wave.",
        LOCAL,
        min_value=1,
        max_value=1000,
    )
)
register(
    RuleDefinition(
        "transfers.approval_value",
        "decimal",
        D("5000.00"),
        "Transfer orders above this value need approval before they ship.",
        LOCAL,
        min_value=D("0"),
        max_value=D("10000000"),
        unit="currency",
        control=True,
    )
)

# --- replenishment -------------------------------------------------------------------------------
register(
    RuleDefinition(
        "replenishment.auto_approve_value",
        "decimal",
        D("0.00"),
        "Replenishment suggestions worth less than this (quantity x standard cost) are accepted by the planning "
        "run itself (purchase or transfer order created); the rest wait for a planner. 0: none.",
        LOCAL,
        min_value=D("0"),
        max_value=D("1000000"),
        unit="currency",
        control=True,
    )
)
register(
    RuleDefinition(
        "replenishment.demand_window_days",
        "int",
        90,
        "Days of shipment history (SHIP moves) behind the mean and deviation of daily demand for REORDER_POINT "
        "policies.",
        LOCAL,
        min_value=7,
        max_value=730,
        unit="days",
    )
)

# --- inventory control -------------------------------------------------------------------------
register(
    RuleDefinition(
        "counting.tolerance_percent",
        "decimal",
        D("2"),
        "A count variance beyond this percent of the expected quantity asks for a recount by another counter.",
        LOCAL,
        min_value=D("0"),
        max_value=D("100"),
        unit="%",
        control=True,
    )
)
register(
    RuleDefinition(
        "counting.approval_value",
        "decimal",
        D("1000.00"),
        "Count variances above this value are posted only after approval by someone who did not count.",
        LOCAL,
        min_value=D("0"),
        max_value=D("1000000"),
        unit="currency",
        control=True,
    )
)
register(
    RuleDefinition(
        "counting.blind_stock_scope",
        "choice",
        "COUNTERS",
        "Who does not see the quantities (stock quants, levels, moves) of a location while a count line there is "
        "still to count or recount: COUNTERS, users who may count at the site but not approve (operators, "
        "integrators) and anyone who already counted a line there that is still open; ALL_COUNTERS, everyone "
        "who may count at the site (supervisors and site admins too).",
        LOCAL,
        choices=("COUNTERS", "ALL_COUNTERS"),
        control=True,
    )
)
for _abc, _days in (("a", 30), ("b", 90), ("c", 365)):
    register(
        RuleDefinition(
            f"counting.frequency_days_{_abc}",
            "int",
            _days,
            f"Every location holding class {_abc.upper()} items is counted at least this often.",
            LOCAL,
            min_value=1,
            max_value=730,
            unit="days",
        )
    )
register(
    RuleDefinition(
        "counting.variance_lookback_days",
        "int",
        7,
        "A location with a stock adjustment in this many past days (and not counted since) is added to the "
        "next daily count.",
        LOCAL,
        min_value=1,
        max_value=90,
        unit="days",
    )
)

# --- returns ------------------------------------------------------------------------------------
register(
    RuleDefinition(
        "returns.authorization_value",
        "decimal",
        D("1000.00"),
        "Return authorizations worth more than this (units at their order price) need approval by someone other "
        "than the requester before the return may be received.",
        LOCAL,
        min_value=D("0"),
        max_value=D("10000000"),
        unit="currency",
        control=True,
    )
)
register(
    RuleDefinition(
        "returns.credit_approval_value",
        "decimal",
        D("500.00"),
        "A return credit above this amount waits for approval by someone other than the receiver.",
        LOCAL,
        min_value=D("0"),
        max_value=D("10000000"),
        unit="currency",
        control=True,
    )
)

# --- exceptions ---------------------------------------------------------------------------------
register(
    RuleDefinition(
        "exceptions.backorder_aging_days",
        "int",
        7,
        "Backorders older than this open a BACKORDER_AGING exception.",
        LOCAL,
        min_value=1,
        max_value=90,
        unit="days",
    )
)
register(
    RuleDefinition(
        "exceptions.stale_pick_task_hours",
        "int",
        4,
        "A pick task still open this many hours after it was released opens a STALE_TASK exception.",
        LOCAL,
        min_value=1,
        max_value=168,
        unit="hours",
    )
)
register(
    RuleDefinition(
        "exceptions.stale_putaway_task_hours",
        "int",
        8,
        "A putaway task still open this many hours after its stock was received opens a STALE_TASK exception.",
        LOCAL,
        min_value=1,
        max_value=168,
        unit="hours",
    )
)
register(
    RuleDefinition(
        "exceptions.job_stuck_hours",
        "int",
        6,
        "A background job run with no end recorded after this many hours is marked failed (its worker was "
        "probably lost) and raises JOB_FAILED.",
        ENTERPRISE,
        min_value=1,
        max_value=72,
        unit="hours",
    )
)
