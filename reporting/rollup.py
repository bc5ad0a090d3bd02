"""KPIs over a period from the daily snapshots' numerators and denominators (issue 16): past days are read back from
``KpiSnapshot`` rows, only the days without a complete snapshot (today, a day the job missed) are computed live, and
the parts are summed with the KPI's own arithmetic, so the figures are the ones ``reporting.kpis`` computes over
the whole period.

A KPI is read from its snapshots only when its value over a period *is* the sum of its days and a past day's
numerator, denominator and breakdown never change once the day has ended (``ROLLUPS``):

- ``order_fill_rate``: lines by the day of their first shipment; a line complete at its first shipment ships no
  more, one incomplete stays incomplete (a later shipment moves ``last_shipped_at``);
- ``short_pick_rate``, ``pick_productivity`` (an operator-hour lies inside one local day), ``scan_compliance``,
  ``override_rate``: confirmations, allocations and decisions by the day they were made, never rewritten;
- ``adjustment_rate``: ledger moves (immutable, valued at their own unit cost);
- ``supplier_receipt_accuracy``: receipt lines by the receipt's day, discrepancies recorded with the receipt.

``inventory_turns`` is not a sum of the period's days but of the 365 days ending with ``date_to`` (``END_OF_PERIOD``):
when ``date_to`` has ended and has a complete snapshot, that snapshot is the value (the ledger's moves are final;
the stock is valued at standard cost, so the stored figure keeps the costs of the day it was computed, where a
live computation would revalue the past at today's costs: they differ only after a standard cost changed).

Everything else stays live: medians (cycle times, dock-to-stock, resolution and returns turnaround) are not sums;
state KPIs read "as of" an instant from today's quantities (backorders, aging stock) or with due times that move
on escalation (exception backlog), and rule deviation, are not per day; unit fill rate and on-time
shipment count orders by promised date, which later shipments and cancellations change; perfect order rate
counts returns up to 30 days after shipping; inventory accuracy and count variance move a line to its recount's
day; supplier lead time's breakdown keeps the mean lateness, not the late days it is summed from.

A snapshot counts for day D only when it was computed after D ended at the site (the network: at every site, each
in its own time zone), so a row written while the day was still running is never read back as the whole day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from governance.models import Site
from governance.services.sites import site_local_date

from .kpis import KPIS, KpiValue, _f, _money, ratio
from .models import KpiSnapshot


def _none_last(x):
    return (x is None, "" if x is None else x)


@dataclass(frozen=True)
class ListSpec:
    """How to merge one breakdown list: rows with the same ``labels`` are one row; ``sums`` are added, ``derive``
    recomputes the rest from them; ``order`` sorts the merged rows as the KPI function does."""

    labels: tuple[str, ...]
    sums: tuple[str, ...]
    derive: Callable[[dict], dict]
    order: Callable[[dict], tuple] | None = None


def _ratio_fields(row: dict) -> dict:
    return {"value": ratio(row["numerator"], row["denominator"])}


def _ratio_list(*labels: str, order=None) -> ListSpec:
    return ListSpec(labels, ("numerator", "denominator"), _ratio_fields, order)


def _per_hour(row: dict) -> dict:
    return {"value": _f(row["lines"] / row["operator_hours"], 2) if row["operator_hours"] else None}


def _by_labels(*labels: str):
    return lambda row: tuple(_none_last(row.get(label)) for label in labels)


@dataclass(frozen=True)
class Rollup:
    """How the parts of a period make the period's value: numerator and denominator summed, ``value`` from them,
    the breakdown's lists merged (``lists``) and its plain sums added (``sums``, rounded to ``places``)."""

    value: Callable[[int, int], float | None]
    lists: dict[str, ListSpec]
    sums: dict[str, int] | None = None


ROLLUPS: dict[str, Rollup] = {
    "order_fill_rate": Rollup(ratio, {}),
    "short_pick_rate": Rollup(ratio, {}),
    "supplier_receipt_accuracy": Rollup(ratio, {"by_supplier": _ratio_list("supplier", order=_by_labels("supplier"))}),
    "adjustment_rate": Rollup(
        ratio,
        {
            "by_site": ListSpec(
                ("site",),
                ("numerator", "denominator", "adjusted_value"),
                lambda r: {
                    "value": ratio(r["numerator"], r["denominator"]),
                    "adjusted_value": _money(r["adjusted_value"]),
                },
                _by_labels("site"),
            )
        },
        {"adjusted_value": 2},
    ),
    "pick_productivity": Rollup(
        lambda num, den: _f(num / den, 2) if den else None,
        {
            name: ListSpec((label,), ("lines", "operator_hours"), _per_hour, _by_labels(label))
            for name, label in (("by_site", "site"), ("by_zone", "zone"), ("by_shift", "shift"))
        },
    ),
    "scan_compliance": Rollup(
        ratio,
        {
            "by_site": _ratio_list("site", order=_by_labels("site")),
            "by_operator": _ratio_list("site", "operator", order=lambda r: (r["site"], r["operator"] or "")),
        },
    ),
    "override_rate": Rollup(ratio, {"by_kind": _ratio_list("kind")}),  # every kind in a fixed order, always there
}


#: KPIs over a window that ends with the period's last day: the complete snapshot of that day is the value
END_OF_PERIOD = frozenset({"inventory_turns"})


def combine(key: str, parts: list[KpiValue]) -> KpiValue:
    """Pure: the value of KPI ``key`` over consecutive periods, from its value over each of them."""
    rule = ROLLUPS[key]
    if len(parts) == 1:
        return parts[0]
    num = sum(int(p.numerator or 0) for p in parts)
    den = sum(int(p.denominator or 0) for p in parts)
    breakdown: dict = {}
    for name, spec in rule.lists.items():
        merged: dict[tuple, dict] = {}
        columns: list[str] = []  # the live rows' column order (the pages show the columns in it)
        for part in parts:
            for row in (part.breakdown or {}).get(name, []):
                columns = columns or list(row)
                group = tuple(row.get(label) for label in spec.labels)
                acc = merged.setdefault(
                    group, {**dict(zip(spec.labels, group, strict=True)), **dict.fromkeys(spec.sums, 0)}
                )
                for column in spec.sums:
                    acc[column] += row.get(column) or 0
        rows = list(merged.values())
        if spec.order is not None:
            rows.sort(key=spec.order)
        rows = [{**row, **spec.derive(row)} for row in rows]
        breakdown[name] = [{c: row[c] for c in columns if c in row} | row for row in rows]
    for name, places in (rule.sums or {}).items():
        breakdown[name] = round(sum(float((p.breakdown or {}).get(name) or 0) for p in parts), places)
    # the live function's key order (a JSON breakdown compares equal either way; CSV columns keep theirs)
    first = parts[0].breakdown or {}
    breakdown = {name: breakdown[name] for name in first if name in breakdown} | breakdown
    return KpiValue(key, KPIS[key].label, rule.value(num, den), num, den, KPIS[key].unit, breakdown)


def _snapshot_value(row: KpiSnapshot) -> KpiValue:
    def number(x):  # the rolled-up KPIs count rows (ints); the others keep the float the KPI computed
        return None if x is None else (int(x) if row.key in ROLLUPS and x == int(x) else float(x))

    return KpiValue(
        row.key,
        KPIS[row.key].label,
        None if row.value is None else float(row.value),
        number(row.numerator),
        number(row.denominator),
        row.unit,
        row.breakdown or {},
    )


def _zones(site: Site | None) -> list[ZoneInfo]:
    """The time zones whose midnight ends a day of ``site`` (the network: every site's, and UTC)."""
    if site is not None:
        return [ZoneInfo(site.timezone)]
    names = set(Site.objects.values_list("timezone", flat=True)) | {"UTC"}
    return [ZoneInfo(name) for name in sorted(names)]


def day_end(day: date, zones: list[ZoneInfo]) -> datetime:
    """The instant day ``day`` has ended in every one of ``zones``."""
    return max(datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz) for tz in zones)


def complete_snapshots(site: Site | None, keys, date_from: date, date_to: date) -> dict[str, dict[date, KpiValue]]:
    """key -> day -> the stored value of that day, for the days of the period that have ended, whose snapshot was
    computed after the day ended (one query, and one for the network's time zones)."""
    today = site_local_date(site)
    last = min(date_to, today - timedelta(days=1))
    found: dict[str, dict[date, KpiValue]] = {key: {} for key in keys}
    if last < date_from or not found:
        return found
    qs = KpiSnapshot.objects.filter(key__in=list(found), date__gte=date_from, date__lte=last)
    qs = qs.filter(site__isnull=True) if site is None else qs.filter(site=site)
    zones = _zones(site)
    for row in qs.only("key", "date", "value", "numerator", "denominator", "unit", "breakdown", "computed_at"):
        if row.computed_at >= day_end(row.date, zones):
            found[row.key][row.date] = _snapshot_value(row)
    return found


def _gaps(days: dict, date_from: date, date_to: date) -> list[tuple[date, date]]:
    """The runs of consecutive days of the period with no stored value."""
    runs: list[tuple[date, date]] = []
    day = date_from
    while day <= date_to:
        if day in days:
            day += timedelta(days=1)
            continue
        start = day
        while day <= date_to and day not in days:
            day += timedelta(days=1)
        runs.append((start, day - timedelta(days=1)))
    return runs


def period_value(key: str, site: Site | None, date_from: date, date_to: date, stored: dict | None = None) -> KpiValue:
    """KPI ``key`` over the period: from the stored days plus live computation of the others (``ROLLUPS``), or
    wholly live for the KPIs that are not sums of their days. ``stored``: ``complete_snapshots``' answer, when the
    caller read several KPIs at once."""
    definition = KPIS[key]
    if key in END_OF_PERIOD:
        if stored is None or key not in stored:
            stored = complete_snapshots(site, [key], date_to, date_to)
        found = stored.get(key, {}).get(date_to)
        return found if found is not None else definition.function(site, date_from, date_to)
    if key not in ROLLUPS:
        return definition.function(site, date_from, date_to)
    if stored is None:
        stored = complete_snapshots(site, [key], date_from, date_to)
    days = stored.get(key, {})
    parts: list[tuple[date, KpiValue]] = [(day, value) for day, value in days.items() if date_from <= day <= date_to]
    for start, end in _gaps(days, date_from, date_to):
        parts.append((start, definition.function(site, start, end)))
    if not parts:
        return definition.function(site, date_from, date_to)
    parts.sort(key=lambda part: part[0])
    return combine(key, [value for _, value in parts])


def period_values(site: Site | None, date_from: date, date_to: date, keys=None) -> list[KpiValue]:
    """Every KPI (or ``keys``) at ``site`` (None: the network) over the period, in registry order: the
    ``compute_all`` figures, reading past days from the snapshots where the KPI allows."""
    keys = list(KPIS) if keys is None else list(keys)
    stored = complete_snapshots(site, [k for k in keys if k in ROLLUPS or k in END_OF_PERIOD], date_from, date_to)
    return [period_value(key, site, date_from, date_to, stored) for key in keys]
