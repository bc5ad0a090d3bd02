"""The hypercare command centre's reads (issue 13): every site in PILOT or in hypercare (LIVE, before its
``hypercare_ends_on``) that the user can see, side by side — exceptions opened and resolved per day, the open
backlog by age and its SLA breaches, KPI trends against their targets (site rules ``kpi.target.<key>``), the floor's
adoption (refused and skipped scans, overrides per operator and process) and the orders at risk of shipping late.

The number of queries is fixed: every read is one aggregate over all the listed sites, never one per site."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from governance import permissions
from governance.models import ExceptionCase, Site
from governance.rules import KPI_TARGETS
from governance.services.lifecycle import in_hypercare
from governance.services.rules import get_rule_for_sites
from governance.services.sites import site_local_date
from warehouse.models import FloorEvent

from .dashboard import format_value
from .kpis import ADOPTION_KPIS, EXCEPTION_AGE_BUCKETS, KPIS, local_date, refused_scan_rate
from .models import KpiSnapshot

#: days of exception flow and KPI trend shown
FLOW_DAYS = 14
#: days the current KPI value and the adoption tables cover (today included)
VALUE_DAYS = 7
#: orders at risk listed per site
AT_RISK_ROWS = 10
LATE_RISK = "LATE_SHIPMENT_RISK"


@dataclass
class KpiLine:
    key: str
    label: str
    unit: str
    value: float | None
    numerator: float | None
    denominator: float | None
    target: Decimal
    higher_is_better: bool
    trend: list[dict] = field(default_factory=list)
    site_code: str = ""

    @property
    def display(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def target_display(self) -> str:
        return ("≥ " if self.higher_is_better else "≤ ") + format_value(self.target, self.unit)

    @property
    def status(self) -> str:
        """on / off target, or no data."""
        if self.value is None:
            return "none"
        ok = self.value >= float(self.target) if self.higher_is_better else self.value <= float(self.target)
        return "on" if ok else "off"

    @property
    def trend_id(self) -> str:
        return f"hc-trend-{self.site_code}-{self.key}"

    @property
    def trend_json(self) -> str:
        """The trend line as JSON text, for kpi-trend.js. Not a <script> (json_script): htmx, configured with
        allowScriptTags false, drops script elements from the panels it swaps in."""
        return json.dumps(self.trend_points)

    @property
    def trend_points(self) -> dict:
        from datetime import UTC, time

        return {
            "key": self.key,
            "unit": self.unit,
            "x": [int(datetime.combine(p["date"], time.min, tzinfo=UTC).timestamp()) for p in self.trend],
            "y": [p["value"] for p in self.trend],
        }


@dataclass
class SiteBoard:
    site: Site
    stage_label: str
    hypercare_ends_on: date | None
    days: list[dict]  # date, opened, resolved (oldest first)
    backlog: list[tuple[str, int]]  # age bucket -> open cases
    open_cases: int = 0
    overdue: int = 0
    kpis: list[KpiLine] = field(default_factory=list)
    adoption: list[dict] = field(default_factory=list)  # operator, process, refused, skipped, overrides
    at_risk: list[dict] = field(default_factory=list)
    at_risk_total: int = 0

    @property
    def opened_total(self) -> int:
        return sum(d["opened"] for d in self.days)

    @property
    def resolved_total(self) -> int:
        return sum(d["resolved"] for d in self.days)

    @property
    def max_flow(self) -> int:
        return max([1] + [max(d["opened"], d["resolved"]) for d in self.days])


def rollout_sites(user, *, now: datetime | None = None) -> list[Site]:
    """The sites of the command centre that ``user`` can see: PILOT, or LIVE and in hypercare (by each site's own
    today), by code. One query."""
    now = now or timezone.now()
    candidates = (
        permissions.visible_sites(user)
        .filter(active=True)
        .filter(Q(stage=Site.Stage.PILOT) | Q(stage=Site.Stage.LIVE, hypercare_ends_on__isnull=False))
        .order_by("code")
    )
    return [s for s in candidates if s.stage == Site.Stage.PILOT or in_hypercare(s, site_local_date(s, now))]


def _flow(sites: list[Site], now: datetime) -> dict[int, dict[date, list[int]]]:
    """site id -> local day -> [opened, resolved] over the last FLOW_DAYS days (two grouped queries)."""
    ids = [s.pk for s in sites]
    since = now - timedelta(days=FLOW_DAYS + 1)
    out: dict[int, dict[date, list[int]]] = {s.pk: {} for s in sites}
    for index, ts in ((0, "opened_at"), (1, "resolved_at")):
        rows = (
            ExceptionCase.objects.filter(site_id__in=ids, **{f"{ts}__gte": since})
            .annotate(_day=local_date(ts, "site__timezone"))
            .values("site_id", "_day")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for r in rows:
            out[r["site_id"]].setdefault(r["_day"], [0, 0])[index] += r["n"]
    return out


def _backlog(sites: list[Site], now: datetime) -> dict[int, dict]:
    """site id -> open cases by age bucket (whole days since opened) and overdue (past due_at). One query."""
    aggs = {"total": Count("pk"), "overdue": Count("pk", filter=Q(due_at__lt=now))}
    for low, high, label in EXCEPTION_AGE_BUCKETS:
        q = Q(opened_at__lte=now - timedelta(days=low))
        if high is not None:
            q &= Q(opened_at__gt=now - timedelta(days=high + 1))
        aggs[f"b_{label}"] = Count("pk", filter=q)
    rows = (
        ExceptionCase.objects.filter(site_id__in=[s.pk for s in sites])
        .exclude(status=ExceptionCase.Status.RESOLVED)
        .values("site_id")
        .annotate(**aggs)
        .order_by()
    )
    return {r["site_id"]: r for r in rows}


def _targets(sites: list[Site]) -> dict[str, dict[int, Decimal]]:
    ids = [s.pk for s in sites]
    return {key: get_rule_for_sites(f"kpi.target.{key}", ids) for key, *_ in KPI_TARGETS}


def _snapshots(sites: list[Site], keys: list[str], since: date, until: date) -> dict[tuple[int, str], list[dict]]:
    """(site id, key) -> daily snapshot points, oldest first. One query."""
    out: dict[tuple[int, str], list[dict]] = {}
    rows = (
        KpiSnapshot.objects.filter(site_id__in=[s.pk for s in sites], key__in=keys, date__gte=since, date__lte=until)
        .order_by("site_id", "key", "date")
        .values("site_id", "key", "date", "value", "numerator", "denominator")
    )
    for r in rows:
        out.setdefault((r["site_id"], r["key"]), []).append(
            {
                "date": r["date"],
                "value": None if r["value"] is None else float(r["value"]),
                "numerator": None if r["numerator"] is None else float(r["numerator"]),
                "denominator": None if r["denominator"] is None else float(r["denominator"]),
            }
        )
    return out


def _window_value(points: list[dict], since: date, unit: str) -> tuple[float | None, float | None, float | None]:
    """A ratio KPI over the snapshot days since ``since``: summed numerators / summed denominators."""
    num = den = 0.0
    for p in points:
        if p["date"] >= since and p["numerator"] is not None and p["denominator"]:
            num += p["numerator"]
            den += p["denominator"]
    if not den:
        return None, None, None
    return (round(100.0 * num / den, 2) if unit in ("%", "per 100") else round(num / den, 2)), num, den


def _adoption(sites: list[Site], now: datetime) -> dict[int, list[dict]]:
    """site id -> per operator and process: refused scans, skipped scans and overrides of the last VALUE_DAYS
    days, most refusals first. One query."""
    K = FloorEvent.Kind
    rows = (
        FloorEvent.objects.filter(site_id__in=[s.pk for s in sites], created_at__gte=now - timedelta(days=VALUE_DAYS))
        .values("site_id", "user__username", "process")
        .annotate(
            refused=Count("pk", filter=Q(kind=K.REFUSED_SCAN)),
            skipped=Count("pk", filter=Q(kind=K.SKIPPED_SCAN)),
            overrides=Count("pk", filter=Q(kind=K.OVERRIDE)),
        )
        .order_by("site_id", "-refused", "user__username", "process")
    )
    labels = dict(FloorEvent.Process.choices)
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["site_id"], []).append(
            {
                "operator": r["user__username"] or "—",
                "process": labels.get(r["process"], r["process"]),
                "refused": r["refused"],
                "skipped": r["skipped"],
                "overrides": r["overrides"],
            }
        )
    return out


def _at_risk(sites: list[Site]) -> dict[int, list[dict]]:
    """site id -> open LATE_SHIPMENT_RISK cases (the outbound sweep's unshipped orders near their promised date),
    soonest due first. One query."""
    rows = (
        ExceptionCase.objects.filter(site_id__in=[s.pk for s in sites], code__code=LATE_RISK)
        .exclude(status=ExceptionCase.Status.RESOLVED)
        .order_by("site_id", "due_at", "pk")
        .values("pk", "site_id", "subject_label", "summary", "opened_at", "due_at", "status")
    )
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["site_id"], []).append(r)
    return out


def _refused_rates(sites: list[Site], since: date, until: date) -> dict[str, dict]:
    """site code -> the refused-scan rate row of the last VALUE_DAYS days (the adoption KPI over the network, read
    per site: a fixed number of queries)."""
    codes = {s.code for s in sites}
    value = refused_scan_rate(None, since, until)
    return {r["site"]: r for r in value.breakdown["by_site"] if r["site"] in codes}


def command_centre(user, *, now: datetime | None = None) -> list[SiteBoard]:
    """One board per site of the command centre ``user`` can see (see the module's doc)."""
    now = now or timezone.now()
    sites = rollout_sites(user, now=now)
    if not sites:
        return []
    flow = _flow(sites, now)
    backlog = _backlog(sites, now)
    targets = _targets(sites)
    utc_today = now.date()
    snapshot_keys = [key for key, *_ in KPI_TARGETS if key in KPIS]
    snaps = _snapshots(sites, snapshot_keys, utc_today - timedelta(days=FLOW_DAYS + 1), utc_today)
    adoption = _adoption(sites, now)
    risk = _at_risk(sites)
    refused = _refused_rates(sites, utc_today - timedelta(days=VALUE_DAYS - 1), utc_today)
    boards = []
    for site in sites:
        today = site_local_date(site, now)
        days = []
        for offset in range(FLOW_DAYS - 1, -1, -1):
            day = today - timedelta(days=offset)
            opened, resolved = flow[site.pk].get(day, [0, 0])
            days.append({"date": day, "opened": opened, "resolved": resolved})
        b = backlog.get(site.pk, {})
        lines = []
        for key, *_ in KPI_TARGETS:
            defn = KPIS.get(key) or ADOPTION_KPIS[key]
            target = targets[key][site.pk]
            if key in KPIS:
                points = [p for p in snaps.get((site.pk, key), []) if p["date"] < today]
                value, num, den = _window_value(points, today - timedelta(days=VALUE_DAYS), defn.unit)
                trend = points[-FLOW_DAYS:]
            else:
                row = refused.get(site.code) or {}
                value, num, den, trend = row.get("value"), row.get("numerator"), row.get("denominator"), []
            lines.append(
                KpiLine(
                    key,
                    defn.label,
                    defn.unit,
                    value,
                    num,
                    den,
                    target,
                    bool(defn.higher_is_better),
                    trend,
                    site.code,
                )
            )
        at_risk = risk.get(site.pk, [])
        boards.append(
            SiteBoard(
                site=site,
                stage_label="Pilot" if site.stage == Site.Stage.PILOT else "Live · hypercare",
                hypercare_ends_on=site.hypercare_ends_on if site.stage == Site.Stage.LIVE else None,
                days=days,
                backlog=[(label, b.get(f"b_{label}", 0)) for _, _, label in EXCEPTION_AGE_BUCKETS],
                open_cases=b.get("total", 0),
                overdue=b.get("overdue", 0),
                kpis=lines,
                adoption=adoption.get(site.pk, []),
                at_risk=at_risk[:AT_RISK_ROWS],
                at_risk_total=len(at_risk),
            )
        )
    return boards


__all__ = ["FLOW_DAYS", "VALUE_DAYS", "SiteBoard", "command_centre", "rollout_sites"]
