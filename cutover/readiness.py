"""The readiness scorecard of a site going live (issue 13), as pure policy: each criterion is a function of counts
read from the data (:class:`Facts`, read by ``cutover.selectors.readiness_facts``) and of thresholds that are
site rules (:class:`Thresholds`, rules ``readiness.*``). Nothing here touches the database.

A criterion is a dict ``{key, label, status, value, threshold, evidence, rule}``: ``status`` GREEN (meets the
threshold), AMBER (does not block: nothing to measure, or worth a look) or RED (blocks the step to LIVE unless an
enterprise admin waives it); ``value`` and ``threshold`` are short texts; ``evidence`` says what was counted and
what to fix; ``rule`` names the site rule(s) behind the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

GREEN, AMBER, RED = "GREEN", "AMBER", "RED"

#: the roles a site needs staffed to run
REQUIRED_ROLES: tuple[str, ...] = ("admin", "supervisor", "operator", "coordinator")

#: the processes each floor role must be certified for (TrainingRecord.Process values); a user holding both
#: roles needs the union
TRAINING_BY_ROLE: dict[str, tuple[str, ...]] = {
    "operator": ("RECEIVING", "PUTAWAY", "PICKING", "SHIPPING", "COUNTING"),
    "supervisor": ("RECEIVING", "PUTAWAY", "PICKING", "SHIPPING", "COUNTING", "EXCEPTIONS"),
}


@dataclass(frozen=True)
class Thresholds:
    master_data_min_percent: Decimal = Decimal("98")
    max_reconciliation_lines_outside: int = 0
    reconciliation_tolerance_percent: Decimal = Decimal("0.5")
    max_open_discrepancies: int = 0
    count_accuracy_min_percent: Decimal = Decimal("98")
    count_window_days: int = 14
    min_staff_per_role: int = 1
    training_min_percent: Decimal = Decimal("90")
    integration_window_hours: int = 72
    max_open_exceptions: int = 10
    max_overdue_exceptions: int = 0


@dataclass(frozen=True)
class DocumentBatch:
    """A posted batch of in-flight documents (open purchase orders, open sales orders, transfers in transit) and
    its latest reconciliation (None: not reconciled)."""

    number: str
    kind: str
    lines_total: int | None = None
    lines_outside: int | None = None


@dataclass(frozen=True)
class Subscription:
    """One active webhook subscription scoped to the site: its last successful delivery of an event of the site
    and how many of the site's deliveries were given up within the window."""

    name: str
    last_success_at: datetime | None
    succeeded_in_window: int
    gave_up_in_window: int


@dataclass(frozen=True)
class Facts:
    # master data
    items_total: int = 0
    items_complete: int = 0
    items_without_units: int = 0
    items_without_weight: int = 0
    items_without_barcode: int = 0
    items_incomplete_examples: tuple[str, ...] = ()
    pick_faces_total: int = 0
    pick_faces_with_minmax: int = 0
    pick_faces_missing_examples: tuple[str, ...] = ()
    locations_total: int = 0
    locations_with_capacity: int = 0
    locations_missing_examples: tuple[str, ...] = ()
    putaway_rules: int = 0
    # the latest posted opening-balance batch and its latest reconciliation
    batch_number: str | None = None
    reconciled: bool = False
    reconciliation_lines: int = 0
    reconciliation_lines_outside: int = 0
    reconciliation_tolerance_percent: Decimal | None = None
    # posted in-flight document batches with their latest reconciliation
    document_batches: tuple[DocumentBatch, ...] = ()
    # posted batches and their sign-offs (CUTOVER_SIGNOFF approved)
    batches_posted: int = 0
    batches_signed_off: int = 0
    batches_unsigned_examples: tuple[str, ...] = ()
    # receiving
    open_discrepancies: int = 0
    open_discrepancies_by_code: dict[str, int] = field(default_factory=dict)
    # the pre-go-live count
    count_lines: int = 0
    count_lines_exact: int = 0
    count_numbers: tuple[str, ...] = ()
    # people
    staff_by_role: dict[str, int] = field(default_factory=dict)
    people_to_train: int = 0
    people_trained: int = 0
    missing_by_process: dict[str, int] = field(default_factory=dict)
    # integrations
    subscriptions: tuple[Subscription, ...] = ()
    # exceptions
    open_exceptions: int = 0
    overdue_exceptions: int = 0


def percent(part: int, whole: int) -> Decimal | None:
    """Pure: ``part`` of ``whole`` as a percentage with one decimal (None when ``whole`` is 0)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def meets_percent(part: int, whole: int, minimum: Decimal) -> bool:
    """Pure: part / whole >= minimum %, exactly (no rounding at the boundary)."""
    return Decimal(part) * 100 >= Decimal(minimum) * whole


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value.normalize():f} %"


def _min(value: Decimal) -> str:
    return f">= {Decimal(value).normalize():f} %"


def _examples(names) -> str:
    names = list(names)
    return f" (e.g. {', '.join(names)})" if names else ""


def criterion(key, label, status, value, threshold, evidence, rule) -> dict:
    return {
        "key": key,
        "label": label,
        "status": status,
        "value": value,
        "threshold": threshold,
        "evidence": evidence,
        "rule": rule,
    }


# --- master data ----------------------------------------------------------------------------------------------

MD_RULE = "readiness.master_data_min_percent"


def items_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Item master data (units, weight, barcode)"
    if not f.items_total:
        return criterion(
            "master_data.items",
            label,
            AMBER,
            "no items",
            _min(t.master_data_min_percent),
            "No item is stocked, on an open purchase order or under a replenishment policy at the site yet: "
            "import the items and post the opening balances.",
            MD_RULE,
        )
    ok = meets_percent(f.items_complete, f.items_total, t.master_data_min_percent)
    gaps = f"{f.items_complete} of {f.items_total} items complete"
    missing = [
        f"{n} without {what}"
        for n, what in (
            (f.items_without_units, "a handling unit (case, pallet)"),
            (f.items_without_weight, "a weight"),
            (f.items_without_barcode, "a barcode"),
        )
        if n
    ]
    evidence = gaps + ("; " + ", ".join(missing) + _examples(f.items_incomplete_examples) if missing else ".")
    if missing:
        evidence += ". Fix: import the missing units, weights and barcodes (ITEMS batch) or edit the items."
    return criterion(
        "master_data.items",
        label,
        GREEN if ok else RED,
        _pct(percent(f.items_complete, f.items_total)),
        _min(t.master_data_min_percent),
        evidence,
        MD_RULE,
    )


def pick_faces_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Pick faces with a min / max"
    if not f.pick_faces_total:
        return criterion(
            "master_data.pick_faces",
            label,
            AMBER,
            "no pick faces",
            _min(t.master_data_min_percent),
            "The site has no active pick-face location: picking is from reserve storage. Add pick faces and "
            "their min / max if it should pick from them.",
            MD_RULE,
        )
    ok = meets_percent(f.pick_faces_with_minmax, f.pick_faces_total, t.master_data_min_percent)
    missing = f.pick_faces_total - f.pick_faces_with_minmax
    evidence = f"{f.pick_faces_with_minmax} of {f.pick_faces_total} pick faces have an active min / max policy."
    if missing:
        evidence += (
            f" {missing} without{_examples(f.pick_faces_missing_examples)}. Fix: set a pick-face policy "
            "(min / max per item) for each."
        )
    return criterion(
        "master_data.pick_faces",
        label,
        GREEN if ok else RED,
        _pct(percent(f.pick_faces_with_minmax, f.pick_faces_total)),
        _min(t.master_data_min_percent),
        evidence,
        MD_RULE,
    )


def locations_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Storage and pick locations with a capacity"
    if not f.locations_total:
        return criterion(
            "master_data.locations",
            label,
            RED,
            "no locations",
            _min(t.master_data_min_percent),
            "The site has no active storage or pick location. Fix: import its locations (LOCATIONS batch).",
            MD_RULE,
        )
    ok = meets_percent(f.locations_with_capacity, f.locations_total, t.master_data_min_percent)
    missing = f.locations_total - f.locations_with_capacity
    evidence = f"{f.locations_with_capacity} of {f.locations_total} storage and pick locations have a capacity."
    if missing:
        evidence += (
            f" {missing} without{_examples(f.locations_missing_examples)}. Fix: set each location's capacity "
            "(units it holds)."
        )
    return criterion(
        "master_data.locations",
        label,
        GREEN if ok else RED,
        _pct(percent(f.locations_with_capacity, f.locations_total)),
        _min(t.master_data_min_percent),
        evidence,
        MD_RULE,
    )


def putaway_criterion(f: Facts, t: Thresholds) -> dict:
    ok = f.putaway_rules > 0
    return criterion(
        "master_data.putaway_rules",
        "Putaway rules",
        GREEN if ok else RED,
        f"{f.putaway_rules} active",
        ">= 1 active",
        f"{f.putaway_rules} active putaway rules at the site."
        if ok
        else "The site has no active putaway rule. Fix: add at least one (zone and location kinds for items).",
        "",
    )


# --- cutover data ----------------------------------------------------------------------------------------------


def reconciliation_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Opening balances reconciled"
    rule = "readiness.max_reconciliation_lines_outside, cutover.reconciliation_tolerance_percent"
    tolerance = f.reconciliation_tolerance_percent or t.reconciliation_tolerance_percent
    threshold = f"<= {t.max_reconciliation_lines_outside} lines outside ±{Decimal(tolerance).normalize():f} %"
    if f.batch_number is None:
        return criterion(
            "cutover.reconciliation",
            label,
            RED,
            "no posted batch",
            threshold,
            "No opening-balance batch has been posted at the site. Fix: upload, validate and post the opening "
            "balances, then reconcile them against the legacy control totals.",
            rule,
        )
    if not f.reconciled:
        return criterion(
            "cutover.reconciliation",
            label,
            RED,
            "not reconciled",
            threshold,
            f"{f.batch_number} (the latest posted opening balances) has not been reconciled. Fix: reconcile it "
            "against the legacy control totals.",
            rule,
        )
    ok = f.reconciliation_lines_outside <= t.max_reconciliation_lines_outside
    evidence = (
        f"{f.batch_number}: {f.reconciliation_lines_outside} of {f.reconciliation_lines} lines outside the tolerance."
    )
    if not ok:
        evidence += " Fix: correct the balances (or the legacy totals) and reconcile again."
    return criterion(
        "cutover.reconciliation",
        label,
        GREEN if ok else RED,
        f"{f.reconciliation_lines_outside} outside",
        threshold,
        evidence,
        rule,
    )


def signoff_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Posted batches signed off"
    threshold = "every posted batch"
    if not f.batches_posted:
        return criterion(
            "cutover.signoff", label, AMBER, "no posted batch", threshold, "No import batch posted at the site yet.", ""
        )
    unsigned = f.batches_posted - f.batches_signed_off
    evidence = (
        f"{f.batches_signed_off} of {f.batches_posted} posted batches signed off by their data owner and the site lead."
    )
    if unsigned:
        evidence += (
            f" Waiting{_examples(f.batches_unsigned_examples)}. Fix: the data owner signs off each batch on its page, "
            "then the site lead approves."
        )
    return criterion(
        "cutover.signoff", label, RED if unsigned else GREEN, f"{unsigned} unsigned", threshold, evidence, ""
    )


# --- operations ------------------------------------------------------------------------------------------------


def discrepancies_criterion(f: Facts, t: Thresholds) -> dict:
    ok = f.open_discrepancies <= t.max_open_discrepancies
    by_code = ", ".join(f"{n} {code}" for code, n in sorted(f.open_discrepancies_by_code.items()))
    evidence = f"{f.open_discrepancies} receiving discrepancies open" + (f" ({by_code})" if by_code else "") + "."
    if not ok:
        evidence += " Fix: resolve their exception cases (supplier claim, correction, or accepted)."
    return criterion(
        "operations.discrepancies",
        "Open receiving discrepancies",
        GREEN if ok else RED,
        str(f.open_discrepancies),
        f"<= {t.max_open_discrepancies}",
        evidence,
        "readiness.max_open_discrepancies",
    )


def count_accuracy_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Pre-go-live count accuracy"
    rule = "readiness.count_accuracy_min_percent, readiness.count_window_days"
    threshold = _min(t.count_accuracy_min_percent)
    if not f.count_lines:
        return criterion(
            "operations.count_accuracy",
            label,
            RED,
            "no count",
            threshold,
            f"No cycle-count line was counted at the site in the last {t.count_window_days} days. Fix: count the "
            "site (a requested cycle count of its locations) before going live.",
            rule,
        )
    ok = meets_percent(f.count_lines_exact, f.count_lines, t.count_accuracy_min_percent)
    evidence = (
        f"{f.count_lines_exact} of {f.count_lines} lines counted in the last {t.count_window_days} days without "
        f"variance{_examples(f.count_numbers)}."
    )
    if not ok:
        evidence += " Fix: find the causes of the variances, correct them and count again."
    return criterion(
        "operations.count_accuracy",
        label,
        GREEN if ok else RED,
        _pct(percent(f.count_lines_exact, f.count_lines)),
        threshold,
        evidence,
        rule,
    )


def staffing_criterion(f: Facts, t: Thresholds) -> dict:
    short = [r for r in REQUIRED_ROLES if f.staff_by_role.get(r, 0) < t.min_staff_per_role]
    staffed = len(REQUIRED_ROLES) - len(short)
    evidence = ", ".join(f"{r}: {f.staff_by_role.get(r, 0)}" for r in REQUIRED_ROLES) + "."
    if short:
        evidence += f" Fix: give {', '.join(short)} roles at the site to trained users."
    return criterion(
        "people.roles",
        "Every role staffed",
        RED if short else GREEN,
        f"{staffed} of {len(REQUIRED_ROLES)} roles",
        f">= {t.min_staff_per_role} per role",
        evidence,
        "readiness.min_staff_per_role",
    )


def training_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Operators and supervisors trained"
    threshold = _min(t.training_min_percent)
    if not f.people_to_train:
        return criterion(
            "people.training",
            label,
            AMBER,
            "nobody to train",
            threshold,
            "The site has no operator or supervisor yet (see the staffing criterion).",
            "readiness.training_min_percent",
        )
    ok = meets_percent(f.people_trained, f.people_to_train, t.training_min_percent)
    evidence = f"{f.people_trained} of {f.people_to_train} operators and supervisors certified for every process."
    missing = ", ".join(f"{p}: {n}" for p, n in sorted(f.missing_by_process.items()) if n)
    if missing:
        evidence += f" Missing or expired certifications: {missing}. Fix: train them and record the certification."
    return criterion(
        "people.training",
        label,
        GREEN if ok else RED,
        _pct(percent(f.people_trained, f.people_to_train)),
        threshold,
        evidence,
        "readiness.training_min_percent",
    )


def integrations_criterion(f: Facts, t: Thresholds) -> dict:
    label = "Integrations delivering"
    threshold = f"a success within {t.integration_window_hours} h, none given up"
    if not f.subscriptions:
        return criterion(
            "integrations.webhooks",
            label,
            AMBER,
            "not applicable",
            threshold,
            "No active webhook subscription is scoped to the site.",
            "readiness.integration_window_hours",
        )
    failing = [s for s in f.subscriptions if not s.succeeded_in_window or s.gave_up_in_window]
    parts = []
    for s in f.subscriptions:
        if s.gave_up_in_window:
            parts.append(f"{s.name}: {s.gave_up_in_window} given up")
        elif not s.succeeded_in_window:
            parts.append(f"{s.name}: no success in {t.integration_window_hours} h")
    evidence = f"{len(f.subscriptions) - len(failing)} of {len(f.subscriptions)} subscriptions delivering."
    if parts:
        evidence += " " + "; ".join(parts) + ". Fix: repair the receiver and redeliver the given-up events."
    return criterion(
        "integrations.webhooks",
        label,
        RED if failing else GREEN,
        f"{len(f.subscriptions) - len(failing)} of {len(f.subscriptions)} green",
        threshold,
        evidence,
        "readiness.integration_window_hours",
    )


def exceptions_criterion(f: Facts, t: Thresholds) -> dict:
    too_many = f.open_exceptions > t.max_open_exceptions
    too_late = f.overdue_exceptions > t.max_overdue_exceptions
    status = RED if (too_many or too_late) else (AMBER if f.open_exceptions else GREEN)
    evidence = f"{f.open_exceptions} exception cases open at the site, {f.overdue_exceptions} overdue."
    if status == RED:
        evidence += " Fix: work the exception queue (overdue cases first)."
    return criterion(
        "operations.exceptions",
        "Open exceptions",
        status,
        f"{f.open_exceptions} open, {f.overdue_exceptions} overdue",
        f"<= {t.max_open_exceptions} open, <= {t.max_overdue_exceptions} overdue",
        evidence,
        "readiness.max_open_exceptions, readiness.max_overdue_exceptions",
    )


def documents_criterion(f: Facts, t: Thresholds) -> dict:
    """Every posted batch of in-flight documents reconciled within the tolerance (no such batch: nothing to do)."""
    label = "In-flight documents reconciled"
    rule = "readiness.max_reconciliation_lines_outside, cutover.reconciliation_tolerance_percent"
    threshold = f"<= {t.max_reconciliation_lines_outside} lines outside, each posted document batch"
    if not f.document_batches:
        return criterion(
            "cutover.documents",
            label,
            GREEN,
            "none imported",
            threshold,
            "No open purchase orders, open sales orders or transfers in transit were imported at the site.",
            rule,
        )
    unreconciled = [b.number for b in f.document_batches if b.lines_total is None]
    outside = [
        b
        for b in f.document_batches
        if b.lines_outside is not None and b.lines_outside > t.max_reconciliation_lines_outside
    ]
    parts = []
    if unreconciled:
        parts.append(f"not reconciled: {', '.join(unreconciled)}")
    if outside:
        parts.append(
            "outside the tolerance: " + ", ".join(f"{b.number} ({b.lines_outside} of {b.lines_total})" for b in outside)
        )
    ok = not parts
    evidence = (
        f"{len(f.document_batches)} posted document batch(es) reconciled within the tolerance."
        if ok
        else "; ".join(parts)
        + ". Fix: reconcile each against the legacy control totals (open lines, units in transit)."
    )
    return criterion(
        "cutover.documents",
        label,
        GREEN if ok else RED,
        f"{len(unreconciled) + len(outside)} of {len(f.document_batches)} to fix",
        threshold,
        evidence,
        rule,
    )


CRITERIA = (
    items_criterion,
    pick_faces_criterion,
    locations_criterion,
    putaway_criterion,
    reconciliation_criterion,
    documents_criterion,
    signoff_criterion,
    discrepancies_criterion,
    count_accuracy_criterion,
    staffing_criterion,
    training_criterion,
    integrations_criterion,
    exceptions_criterion,
)


def evaluate(facts: Facts, thresholds: Thresholds) -> list[dict]:
    """Pure: every criterion of the scorecard, in a fixed order."""
    return [rule(facts, thresholds) for rule in CRITERIA]


def overall(criteria: list[dict]) -> str:
    """Pure: RED when any criterion is red, else AMBER when any is amber, else GREEN."""
    statuses = {c.get("status") for c in criteria}
    return RED if RED in statuses else AMBER if AMBER in statuses else GREEN


def people_trained(roles_by_user: dict[int, set[str]], valid: set[tuple[int, str]]) -> tuple[int, int, dict[str, int]]:
    """Pure: (people to train, people certified for every process their roles need, missing per process) from
    each floor user's roles and the (user, process) pairs with a valid certification."""
    to_train = trained = 0
    missing: dict[str, int] = {}
    for user_id, roles in roles_by_user.items():
        needed = {p for role in roles for p in TRAINING_BY_ROLE.get(role, ())}
        if not needed:
            continue
        to_train += 1
        lacking = [p for p in needed if (user_id, p) not in valid]
        if not lacking:
            trained += 1
        for p in lacking:
            missing[p] = missing.get(p, 0) + 1
    return to_train, trained, missing
