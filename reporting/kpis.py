"""Every KPI of KPIS.md, one function each, computed from ledger events and document time stamps.

Each function takes ``site`` (a Site, or None for the whole network), ``date_from`` and ``date_to`` (dates,
both included) and returns a :class:`KpiValue`. Period boundaries are the site's local midnights (its
``timezone``); for the network every row is placed in its own site's time zone, so a network numerator is the
sum of the sites' numerators. Aggregation happens in SQL with a fixed number of queries per KPI.

Conventions:
- ratios: ``value`` = 100 * numerator / denominator (unit ``%``), None when the denominator is 0;
- durations: ``value`` = median hours; ``numerator`` = total hours, ``denominator`` = number of measured rows
  (so numerator / denominator is the mean); ``breakdown["p90"]`` is the 90th percentile;
- counts and amounts: ``value`` = ``numerator``, ``denominator`` = None;
- state KPIs (backorders, exception backlog, aging stock) are read "as of" the end of the period, or now when
  the period has not ended yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce, Greatest
from django.utils import timezone

from governance.models import ApprovalRequest, ExceptionCase, Site, SiteRuleValue
from governance.rules import LOCAL, REGISTRY
from governance.services.rules import get_rule_for_sites
from inventory.models import CycleCountLine, Location, StockMove, StockQuant
from orders.models import Allocation, ReturnAuthorization, ReturnLine, SalesOrder, SalesOrderLine, TransferOrder
from warehouse.models import Discrepancy, FloorEvent, PickTask, PutawayTask, ReceiptLine, ReplenishmentTask

HOUR = 3600.0
MONEY = DecimalField(max_digits=20, decimal_places=2)
#: locations whose stock is on hand at the site (not a source/sink, not in transit)
ON_HAND_KINDS = tuple(
    k for k in Location.Kind.values if k not in Location.UNTRACKED_KINDS and k != Location.Kind.IN_TRANSIT
)
BACKORDER_BUCKETS = ((0, 2, "0-2"), (3, 7, "3-7"), (8, 14, "8-14"), (15, None, "15+"))
AGING_BUCKETS = ((0, 30, "0-30"), (31, 90, "31-90"), (91, 180, "91-180"), (181, None, "181+"))
EXCEPTION_AGE_BUCKETS = ((0, 0, "<1d"), (1, 2, "1-2d"), (3, 6, "3-6d"), (7, None, "7d+"))
#: shifts by the local hour a task was confirmed in
SHIFTS = (("early", 6, 14), ("late", 14, 22), ("night", 22, 6))
HOLD_APPROVAL_KIND = "ORDER_HOLD"
#: orders that cannot hold an open backorder
CLOSED_OR_UNRELEASED = (
    SalesOrder.Status.DRAFT,
    SalesOrder.Status.VALIDATED,
    SalesOrder.Status.SHIPPED,
    SalesOrder.Status.CANCELLED,
)
SHIP_FROM_RULE = "SHIP_FROM"


@dataclass(frozen=True)
class KpiValue:
    key: str
    label: str
    value: float | None
    numerator: float | int | None
    denominator: float | int | None
    unit: str
    breakdown: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date
    start: datetime  # first instant (site time zone; UTC for the network)
    end: datetime  # first instant after the period

    @property
    def as_of(self) -> datetime:
        """The instant state KPIs are read at: the end of the period, or now if it has not ended."""
        return min(self.end, timezone.now())


def period_for(site: Site | None, date_from: date, date_to: date) -> Period:
    tz = ZoneInfo(site.timezone) if site is not None else ZoneInfo("UTC")
    start = datetime.combine(date_from, time.min, tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
    return Period(date_from, date_to, start, end)


# --- SQL helpers -------------------------------------------------------------------------------------


class Percentile(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def hours_between(end: str, start: str):
    """(end - start) in hours, as a float."""
    return Func(
        ExpressionWrapper(F(end) - F(start), output_field=DateTimeField()),
        template="(EXTRACT(EPOCH FROM %(expressions)s) / 3600.0)",
        output_field=FloatField(),
    )


def local_timestamp(ts: str, tz_path: str):
    """The timestamp in the time zone named by ``tz_path`` (a field path), without zone."""
    return Func(
        F(ts), F(tz_path), arg_joiner=" AT TIME ZONE ", template="(%(expressions)s)", output_field=DateTimeField()
    )


def local_date(ts: str, tz_path: str):
    return Func(
        F(ts), F(tz_path), arg_joiner=" AT TIME ZONE ", template="((%(expressions)s)::date)", output_field=DateField()
    )


def local_hour(ts: str, tz_path: str):
    return Func(
        F(ts),
        F(tz_path),
        arg_joiner=" AT TIME ZONE ",
        template="EXTRACT(HOUR FROM (%(expressions)s))",
        output_field=IntegerField(),
    )


def in_period(qs, ts: str, site_path: str, site: Site | None, period: Period):
    """Rows of ``site`` (None: every site) whose ``ts`` falls in the period, in the row's site time zone."""
    if site is not None:
        return qs.filter(**{site_path: site, f"{ts}__gte": period.start, f"{ts}__lt": period.end})
    alias = "_local_" + ts.replace("__", "_")
    return (
        qs.filter(**{f"{ts}__gte": period.start - timedelta(days=1), f"{ts}__lt": period.end + timedelta(days=1)})
        .alias(**{alias: local_date(ts, f"{site_path}__timezone")})
        .filter(**{f"{alias}__gte": period.date_from, f"{alias}__lte": period.date_to})
    )


def of_site(qs, site_path: str, site: Site | None):
    return qs if site is None else qs.filter(**{site_path: site})


def count_if(q: Q):
    return Count("pk", filter=q)


def _f(x, places: int = 4) -> float | None:
    return None if x is None else round(float(x), places)


def _money(x) -> float:
    return round(float(x or 0), 2)


def ratio(num, den) -> float | None:
    if not den:
        return None
    return round(100.0 * float(num) / float(den), 2)


def _ratio_row(num, den, **labels) -> dict:
    return {**labels, "numerator": num, "denominator": den, "value": ratio(num, den)}


def _time_stats(qs, hours_expr) -> dict:
    row = qs.annotate(_h=hours_expr).aggregate(
        n=Count("pk"), total=Sum("_h"), median=Percentile("_h", 0.5), p90=Percentile("_h", 0.9)
    )
    return row


def _time_value(key: str, row: dict, breakdown: dict | None = None) -> KpiValue:
    n = row["n"] or 0
    return KpiValue(
        key,
        KPIS[key].label,
        _f(row["median"], 2) if n else None,
        _f(row["total"], 2) if n else 0,
        n,
        KPIS[key].unit,
        {"p90": _f(row["p90"], 2) if n else None, "mean": _f(row["total"] / n, 2) if n else None, **(breakdown or {})},
    )


def _grouped_times(qs, hours_expr, group: str, label: str) -> list[dict]:
    rows = (
        qs.annotate(_h=hours_expr)
        .values(group)
        .annotate(n=Count("pk"), median=Percentile("_h", 0.5), p90=Percentile("_h", 0.9))
        .order_by(group)
    )
    return [{label: r[group], "count": r["n"], "median": _f(r["median"], 2), "p90": _f(r["p90"], 2)} for r in rows]


def _days_since(ts: str, as_of: datetime):
    """Whole days from ``ts`` to ``as_of``."""
    return Func(
        ExpressionWrapper(Value(as_of, output_field=DateTimeField()) - F(ts), output_field=DateTimeField()),
        template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / 86400.0)::integer",
        output_field=IntegerField(),
    )


# --- orders ------------------------------------------------------------------------------------------


def order_fill_rate(site, date_from, date_to) -> KpiValue:
    """Lines whose first shipment was in the period; complete = that one shipment shipped the whole line
    (nothing shipped later: first and last shipment times are the same, and it covered the quantity)."""
    p = period_for(site, date_from, date_to)
    qs = in_period(SalesOrderLine.objects.all(), "first_shipped_at", "order__site", site, p)
    row = qs.aggregate(
        den=Count("pk"),
        num=count_if(Q(shipped_quantity__gte=F("quantity_base"), last_shipped_at=F("first_shipped_at"))),
    )
    return KpiValue(
        "order_fill_rate", KPIS["order_fill_rate"].label, ratio(row["num"], row["den"]), row["num"], row["den"], "%", {}
    )


def unit_fill_rate(site, date_from, date_to) -> KpiValue:
    """Units shipped (so far) / units ordered, over lines of orders promised in the period (not drafts, not
    cancelled)."""
    qs = (
        of_site(SalesOrderLine.objects.all(), "order__site", site)
        .filter(order__promised_date__gte=date_from, order__promised_date__lte=date_to)
        .exclude(order__status__in=(SalesOrder.Status.DRAFT, SalesOrder.Status.CANCELLED))
    )
    row = qs.aggregate(num=Coalesce(Sum("shipped_quantity"), 0), den=Coalesce(Sum("quantity_base"), 0))
    return KpiValue(
        "unit_fill_rate", KPIS["unit_fill_rate"].label, ratio(row["num"], row["den"]), row["num"], row["den"], "%", {}
    )


def _promised_orders(site, date_from, date_to):
    return (
        of_site(SalesOrder.objects.all(), "site", site)
        .filter(promised_date__gte=date_from, promised_date__lte=date_to)
        .exclude(status__in=(SalesOrder.Status.DRAFT, SalesOrder.Status.CANCELLED))
    )


def _shipped_on_time() -> Q:
    return Q(status=SalesOrder.Status.SHIPPED, _shipped_local__lte=F("promised_date"))


def on_time_shipment(site, date_from, date_to) -> KpiValue:
    """Orders promised in the period (not drafts, not cancelled) / those fully shipped on or before the
    promised date (the final shipment's local date at the order's site)."""
    qs = _promised_orders(site, date_from, date_to).annotate(_shipped_local=local_date("shipped_at", "site__timezone"))
    row = qs.aggregate(den=Count("pk"), num=count_if(_shipped_on_time()))
    return KpiValue(
        "on_time_shipment",
        KPIS["on_time_shipment"].label,
        ratio(row["num"], row["den"]),
        row["num"],
        row["den"],
        "%",
        {},
    )


def perfect_order_rate(site, date_from, date_to) -> KpiValue:
    """Orders whose final shipment was in the period; perfect = shipped in one go (every line's first
    shipment is the final one), on time, no short pick, no damage (no return line with reason or inspection
    DAMAGED) and no return authorized within 30 days of shipping (rejected returns do not count)."""
    p = period_for(site, date_from, date_to)
    qs = in_period(SalesOrder.objects.filter(status=SalesOrder.Status.SHIPPED), "shipped_at", "site", site, p)
    split = SalesOrderLine.objects.filter(order=OuterRef("pk")).filter(
        Q(first_shipped_at__isnull=True) | ~Q(first_shipped_at=OuterRef("shipped_at"))
    )
    short = PickTask.objects.filter(order_line__order=OuterRef("pk"), status=PickTask.Status.SHORT)
    damaged = ReturnLine.objects.filter(rma__sales_order=OuterRef("pk")).filter(
        Q(reason=ReturnLine.Reason.DAMAGED) | Q(inspection=ReturnLine.Inspection.DAMAGED)
    )
    returned = ReturnAuthorization.objects.filter(
        sales_order=OuterRef("pk"), created_at__lte=OuterRef("shipped_at") + timedelta(days=30)
    ).exclude(status=ReturnAuthorization.Status.REJECTED)
    qs = qs.annotate(
        _shipped_local=local_date("shipped_at", "site__timezone"),
        _split=Exists(split),
        _short=Exists(short),
        _damaged=Exists(damaged),
        _returned=Exists(returned),
    )
    row = qs.aggregate(
        den=Count("pk"),
        num=count_if(
            Q(_shipped_local__lte=F("promised_date"), _split=False, _short=False, _damaged=False, _returned=False)
        ),
        late=count_if(Q(_shipped_local__gt=F("promised_date"))),
        split=count_if(Q(_split=True)),
        short=count_if(Q(_short=True)),
        damaged=count_if(Q(_damaged=True)),
        returned=count_if(Q(_returned=True)),
    )
    failures = {k: row[k] for k in ("late", "split", "short", "damaged", "returned")}
    return KpiValue(
        "perfect_order_rate",
        KPIS["perfect_order_rate"].label,
        ratio(row["num"], row["den"]),
        row["num"],
        row["den"],
        "%",
        {"failures": failures},
    )


def order_cycle_time(site, date_from, date_to) -> KpiValue:
    """Hours from release to the final shipment confirmation, for orders whose final shipment was in the
    period."""
    p = period_for(site, date_from, date_to)
    qs = in_period(
        SalesOrder.objects.filter(status=SalesOrder.Status.SHIPPED, released_at__isnull=False),
        "shipped_at",
        "site",
        site,
        p,
    )
    return _time_value("order_cycle_time", _time_stats(qs, hours_between("shipped_at", "released_at")))


def backorders(site, date_from, date_to) -> KpiValue:
    """Open backordered units (value, numerator) and lines, bucketed by days since the line was backordered,
    as of the end of the period (current quantities: backorders keep no history)."""
    p = period_for(site, date_from, date_to)
    open_orders = [st for st in SalesOrder.Status.values if st not in CLOSED_OR_UNRELEASED]
    qs = of_site(SalesOrderLine.objects.all(), "order__site", site).filter(
        order__status__in=open_orders,  # through the order status index: backorders are few
        backordered_quantity__gt=0,
        backordered_since__isnull=False,
        backordered_since__lt=p.as_of,
    )
    qs = qs.annotate(_age=_days_since("backordered_since", p.as_of))
    aggs = {"units": Coalesce(Sum("backordered_quantity"), 0), "lines": Count("pk")}
    for low, high, name in BACKORDER_BUCKETS:
        cond = Q(_age__gte=low) if high is None else Q(_age__gte=low, _age__lte=high)
        aggs[f"u{name}"] = Coalesce(Sum("backordered_quantity", filter=cond), 0)
        aggs[f"l{name}"] = count_if(cond)
    row = qs.aggregate(**aggs)
    buckets = [
        {"age_days": name, "lines": row[f"l{name}"], "units": row[f"u{name}"]} for _, _, name in BACKORDER_BUCKETS
    ]
    return KpiValue(
        "backorders",
        KPIS["backorders"].label,
        row["units"],
        row["units"],
        None,
        "units",
        {"lines": row["lines"], "buckets": buckets, "as_of": p.as_of.isoformat()},
    )


# --- inventory control -------------------------------------------------------------------------------


def _counted_lines(site, date_from, date_to):
    """Count lines whose final count (the recount when there was one) was entered in the period."""
    p = period_for(site, date_from, date_to)
    qs = CycleCountLine.objects.filter(counted_quantity__isnull=False, expected_quantity__isnull=False).alias(
        _counted_at=Coalesce("recounted_at", "first_counted_at")
    )
    return in_period(qs, "_counted_at", "count__site", site, p)


def inventory_accuracy(site, date_from, date_to) -> KpiValue:
    """Count lines whose final count is within the site's counting.tolerance_percent of the expected
    quantity (the same test the count workflow uses) / count lines counted; by site, zone and ABC class."""
    qs = _counted_lines(site, date_from, date_to)
    site_ids = [site.pk] if site is not None else list(Site.objects.values_list("pk", flat=True))
    tolerance = get_rule_for_sites("counting.tolerance_percent", site_ids)
    tol = Case(
        *[When(count__site_id=sid, then=Value(Decimal(t))) for sid, t in tolerance.items()],
        default=Value(Decimal("0")),
        output_field=DecimalField(max_digits=7, decimal_places=3),
    )
    qs = qs.annotate(_tol=tol, _dev=Abs("variance") * 100)
    within = Q(variance=0) | Q(_dev__lte=F("_tol") * F("expected_quantity"))
    rows = list(
        qs.values("count__site__code", "location__zone__code", "item__abc_class")
        .annotate(den=Count("pk"), num=count_if(within))
        .order_by()
    )
    num = sum(r["num"] for r in rows)
    den = sum(r["den"] for r in rows)
    breakdown = {
        "by_site": _rollup(rows, "count__site__code", "site"),
        "by_zone": _rollup(rows, "location__zone__code", "zone"),
        "by_abc_class": _rollup(rows, "item__abc_class", "abc_class"),
    }
    return KpiValue("inventory_accuracy", KPIS["inventory_accuracy"].label, ratio(num, den), num, den, "%", breakdown)


def _rollup(rows: list[dict], key: str, label: str) -> list[dict]:
    acc: dict = {}
    for r in rows:
        n, d = acc.get(r[key], (0, 0))
        acc[r[key]] = (n + r["num"], d + r["den"])
    return [_ratio_row(n, d, **{label: k}) for k, (n, d) in sorted(acc.items(), key=lambda kv: str(kv[0] or ""))]


def count_variance(site, date_from, date_to) -> KpiValue:
    """Sum of absolute variance units (value, numerator) and value (at the line's unit cost, else the item's
    standard cost) over count lines finally counted in the period; by site and ABC class."""
    qs = _counted_lines(site, date_from, date_to).annotate(
        _abs=Abs("variance"),
        _val=ExpressionWrapper(Abs("variance") * Coalesce("unit_cost", "item__standard_cost"), output_field=MONEY),
    )
    rows = list(
        qs.values("count__site__code", "item__abc_class")
        .annotate(
            units=Coalesce(Sum("_abs"), 0),
            value=Coalesce(Sum("_val"), Decimal("0"), output_field=MONEY),
            lines=Count("pk"),
        )
        .order_by("count__site__code", "item__abc_class")
    )
    units = sum(r["units"] for r in rows)
    value = sum((r["value"] for r in rows), Decimal("0"))

    def roll(key, label):
        acc: dict = {}
        for r in rows:
            a = acc.setdefault(r[key], {label: r[key], "units": 0, "value": Decimal("0"), "lines": 0})
            a["units"] += r["units"]
            a["value"] += r["value"]
            a["lines"] += r["lines"]
        return [{**a, "value": _money(a["value"])} for a in acc.values()]

    return KpiValue(
        "count_variance",
        KPIS["count_variance"].label,
        units,
        units,
        None,
        "units",
        {
            "value": _money(value),
            "lines": sum(r["lines"] for r in rows),
            "by_site": roll("count__site__code", "site"),
            "by_abc_class": roll("item__abc_class", "abc_class"),
        },
    )


def _site_location_ids(site: Site, kinds=None) -> list[int]:
    """Ids of the site's locations (of ``kinds``): moves are then filtered by their indexed location columns
    instead of a join."""
    qs = Location.objects.filter(site=site)
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    return list(qs.values_list("pk", flat=True))


def adjustment_rate(site, date_from, date_to) -> KpiValue:
    """ADJUST moves / all moves of the site (a move belongs to the site of its source location) in the
    period; adjusted value = sum of quantity x unit cost (the move's, else the item's standard cost)."""
    p = period_for(site, date_from, date_to)
    adjust = Q(kind=StockMove.Kind.ADJUST)
    value = ExpressionWrapper(F("quantity") * Coalesce("unit_cost", "item__standard_cost"), output_field=MONEY)
    aggs = {
        "den": Count("pk"),
        "num": count_if(adjust),
        "value": Coalesce(Sum(value, filter=adjust), Decimal("0"), output_field=MONEY),
    }
    if site is not None:
        moves = StockMove.objects.filter(
            from_location_id__in=_site_location_ids(site) or [0], created_at__gte=p.start, created_at__lt=p.end
        )
        row = moves.aggregate(**aggs)
        rows = [{"from_location__site__code": site.code, **row}] if row["den"] else []
    else:
        qs = in_period(StockMove.objects.all(), "created_at", "from_location__site", site, p)
        rows = list(qs.values("from_location__site__code").annotate(**aggs).order_by("from_location__site__code"))
    num = sum(r["num"] for r in rows)
    den = sum(r["den"] for r in rows)
    total = sum((r["value"] for r in rows), Decimal("0"))
    by_site = [
        {**_ratio_row(r["num"], r["den"], site=r["from_location__site__code"]), "adjusted_value": _money(r["value"])}
        for r in rows
    ]
    return KpiValue(
        "adjustment_rate",
        KPIS["adjustment_rate"].label,
        ratio(num, den),
        num,
        den,
        "%",
        {"adjusted_value": _money(total), "by_site": by_site},
    )


# --- inbound -----------------------------------------------------------------------------------------


def dock_to_stock(site, date_from, date_to) -> KpiValue:
    """Hours from receipt confirmation (the task's received_at) to putaway confirmation, for putaways
    confirmed in the period."""
    p = period_for(site, date_from, date_to)
    qs = in_period(PutawayTask.objects.filter(status=PutawayTask.Status.CONFIRMED), "confirmed_at", "site", site, p)
    return _time_value("dock_to_stock", _time_stats(qs, hours_between("confirmed_at", "received_at")))


def supplier_receipt_accuracy(site, date_from, date_to) -> KpiValue:
    """Purchase receipt lines (receipts confirmed in the period) with no discrepancy of their own (OVER,
    SHORT, DAMAGED, WRONG_ITEM, LOT_MISMATCH; LATE is a date matter, see supplier lead time) / receipt lines;
    per supplier."""
    p = period_for(site, date_from, date_to)
    qs = in_period(
        ReceiptLine.objects.filter(receipt__purchase_order__isnull=False),
        "receipt__received_at",
        "receipt__site",
        site,
        p,
    )
    bad = Discrepancy.objects.filter(line=OuterRef("pk")).exclude(code=Discrepancy.Code.LATE)
    rows = list(
        qs.annotate(_bad=Exists(bad))
        .values("receipt__purchase_order__supplier__code")
        .annotate(den=Count("pk"), num=count_if(Q(_bad=False)))
        .order_by("receipt__purchase_order__supplier__code")
    )
    num = sum(r["num"] for r in rows)
    den = sum(r["den"] for r in rows)
    by_supplier = [_ratio_row(r["num"], r["den"], supplier=r["receipt__purchase_order__supplier__code"]) for r in rows]
    return KpiValue(
        "supplier_receipt_accuracy",
        KPIS["supplier_receipt_accuracy"].label,
        ratio(num, den),
        num,
        den,
        "%",
        {"by_supplier": by_supplier},
    )


def supplier_lead_time(site, date_from, date_to) -> KpiValue:
    """Purchase receipts confirmed in the period on or before the order's expected date (local date at the
    receiving site) / receipts; mean lateness = average days after the expected date over all receipts
    (early and on-time receipts count 0); per supplier."""
    from warehouse.models import Receipt

    p = period_for(site, date_from, date_to)
    qs = in_period(Receipt.objects.filter(purchase_order__isnull=False), "received_at", "site", site, p)
    qs = qs.annotate(_local=local_date("received_at", "site__timezone")).annotate(
        _late=Greatest(
            Func(
                F("_local"),
                F("purchase_order__expected_date"),
                arg_joiner=" - ",
                template="(%(expressions)s)",
                output_field=IntegerField(),
            ),
            Value(0),
        )
    )
    rows = list(
        qs.values("purchase_order__supplier__code")
        .annotate(den=Count("pk"), num=count_if(Q(_late=0)), late_days=Coalesce(Sum("_late"), 0))
        .order_by("purchase_order__supplier__code")
    )
    num = sum(r["num"] for r in rows)
    den = sum(r["den"] for r in rows)
    late_days = sum(r["late_days"] for r in rows)
    by_supplier = [
        {
            **_ratio_row(r["num"], r["den"], supplier=r["purchase_order__supplier__code"]),
            "mean_lateness_days": _f(r["late_days"] / r["den"], 2) if r["den"] else None,
        }
        for r in rows
    ]
    return KpiValue(
        "supplier_lead_time",
        KPIS["supplier_lead_time"].label,
        ratio(num, den),
        num,
        den,
        "%",
        {"mean_lateness_days": _f(late_days / den, 2) if den else None, "by_supplier": by_supplier},
    )


def transfer_cycle_time(site, date_from, date_to) -> KpiValue:
    """Hours from transfer shipment to receipt, for transfers received in the period at the site (the
    destination)."""
    p = period_for(site, date_from, date_to)
    qs = in_period(TransferOrder.objects.filter(shipped_at__isnull=False), "received_at", "to_site", site, p)
    return _time_value("transfer_cycle_time", _time_stats(qs, hours_between("received_at", "shipped_at")))


# --- outbound ----------------------------------------------------------------------------------------


def _confirmed_picks(site, date_from, date_to):
    p = period_for(site, date_from, date_to)
    qs = PickTask.objects.filter(status__in=(PickTask.Status.PICKED, PickTask.Status.SHORT), confirmed_at__isnull=False)
    return in_period(qs, "confirmed_at", "site", site, p)


def _shift_expr():
    whens = []
    for name, start, end in SHIFTS:
        cond = Q(_hour__gte=start, _hour__lt=end) if start < end else (Q(_hour__gte=start) | Q(_hour__lt=end))
        whens.append(When(cond, then=Value(name)))
    return Case(*whens, default=Value("night"))


def pick_productivity(site, date_from, date_to) -> KpiValue:
    """Pick lines (tasks) confirmed in the period / operator-hours, an operator-hour being a clock hour in
    which an operator confirmed at least one pick; by site, zone (of the pick location) and shift (local
    hour: early 06-14, late 14-22, night 22-06)."""
    qs = _confirmed_picks(site, date_from, date_to).annotate(
        _hour=local_hour("confirmed_at", "site__timezone"),
        _slot=Func(
            F("confirmed_by_id"),
            Func(
                local_timestamp("confirmed_at", "site__timezone"),
                function="date_trunc",
                template="date_trunc('hour', %(expressions)s)",
                output_field=DateTimeField(),
            ),
            function="ROW",
            output_field=FloatField(),
        ),
    )
    qs = qs.annotate(_shift=_shift_expr())
    total = qs.aggregate(num=Count("pk"), den=Count("_slot", distinct=True))

    def grouped(group, label):
        rows = qs.values(group).annotate(num=Count("pk"), den=Count("_slot", distinct=True)).order_by(group)
        return [
            {
                label: r[group],
                "lines": r["num"],
                "operator_hours": r["den"],
                "value": _f(r["num"] / r["den"], 2) if r["den"] else None,
            }
            for r in rows
        ]

    breakdown = {
        "by_site": grouped("site__code", "site"),
        "by_zone": grouped("location__zone__code", "zone"),
        "by_shift": grouped("_shift", "shift"),
    }
    value = _f(total["num"] / total["den"], 2) if total["den"] else None
    return KpiValue(
        "pick_productivity", KPIS["pick_productivity"].label, value, total["num"], total["den"], "lines/h", breakdown
    )


def short_pick_rate(site, date_from, date_to) -> KpiValue:
    """Pick tasks confirmed short / pick tasks confirmed, in the period."""
    row = _confirmed_picks(site, date_from, date_to).aggregate(
        den=Count("pk"), num=count_if(Q(status=PickTask.Status.SHORT))
    )
    return KpiValue(
        "short_pick_rate", KPIS["short_pick_rate"].label, ratio(row["num"], row["den"]), row["num"], row["den"], "%", {}
    )


# --- exceptions --------------------------------------------------------------------------------------


def exception_backlog(site, date_from, date_to) -> KpiValue:
    """Exceptions open at the end of the period (opened before it, not resolved by then): by code, severity
    and age; overdue = due before that instant."""
    p = period_for(site, date_from, date_to)
    at = p.as_of
    qs = (
        of_site(ExceptionCase.objects.all(), "site", site)
        .filter(opened_at__lt=at)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=at))
        .annotate(_age=_days_since("opened_at", at))
    )
    overdue = Q(due_at__lt=at)
    aggs = {"open": Count("pk"), "overdue": count_if(overdue)}
    for low, high, name in EXCEPTION_AGE_BUCKETS:
        cond = Q(_age__gte=low) if high is None else Q(_age__gte=low, _age__lte=high)
        aggs[f"a{name}"] = count_if(cond)
    row = qs.aggregate(**aggs)
    by_code = list(qs.values("code__code").annotate(open=Count("pk"), overdue=count_if(overdue)).order_by("code__code"))
    by_severity = list(qs.values("severity").annotate(open=Count("pk"), overdue=count_if(overdue)).order_by("severity"))
    return KpiValue(
        "exception_backlog",
        KPIS["exception_backlog"].label,
        row["open"],
        row["open"],
        None,
        "cases",
        {
            "overdue": row["overdue"],
            "by_code": [{"code": r["code__code"], "open": r["open"], "overdue": r["overdue"]} for r in by_code],
            "by_severity": by_severity,
            "by_age": [{"age": name, "open": row[f"a{name}"]} for _, _, name in EXCEPTION_AGE_BUCKETS],
            "as_of": at.isoformat(),
        },
    )


def exception_resolution_time(site, date_from, date_to) -> KpiValue:
    """Hours from opening to resolution, for exceptions resolved in the period; by code."""
    p = period_for(site, date_from, date_to)
    qs = in_period(ExceptionCase.objects.filter(resolved_at__isnull=False), "resolved_at", "site", site, p)
    hours = hours_between("resolved_at", "opened_at")
    return _time_value(
        "exception_resolution_time",
        _time_stats(qs, hours),
        {"by_code": _grouped_times(qs, hours, "code__code", "code")},
    )


# --- stock -------------------------------------------------------------------------------------------


def inventory_turns(site, date_from, date_to) -> KpiValue:
    """Cost of goods shipped (SHIP moves x the move's unit cost, else the item's standard cost) over the 365
    days ending with ``date_to`` / average inventory value, the mean of the on-hand value at the start and at
    the end of those 365 days (today's on-hand quants at standard cost, rolled back through the ledger)."""
    end_day = date_to
    start_day = date_to - timedelta(days=364)
    p = period_for(site, start_day, end_day)
    ship = StockMove.objects.filter(kind=StockMove.Kind.SHIP)
    if site is not None:
        ship = ship.filter(
            from_location_id__in=_site_location_ids(site) or [0], created_at__gte=p.start, created_at__lt=p.end
        )
    else:
        ship = in_period(ship, "created_at", "from_location__site", None, p)
    cogs = ship.aggregate(
        v=Coalesce(
            Sum(ExpressionWrapper(F("quantity") * Coalesce("unit_cost", "item__standard_cost"), output_field=MONEY)),
            Decimal("0"),
            output_field=MONEY,
        )
    )["v"]
    cost = ExpressionWrapper(F("quantity") * F("item__standard_cost"), output_field=MONEY)
    on_hand = (
        _site_location_ids(site, ON_HAND_KINDS)
        if site is not None
        else list(Location.objects.filter(kind__in=ON_HAND_KINDS).values_list("pk", flat=True))
    ) or [0]  # no location: an id that never exists keeps the SQL valid
    now_value = StockQuant.objects.filter(location_id__in=on_hand).aggregate(
        v=Coalesce(Sum(cost), Decimal("0"), output_field=MONEY)
    )["v"]
    into, out = Q(to_location_id__in=on_hand), Q(from_location_id__in=on_hand)
    zero = Value(Decimal("0"), output_field=MONEY)

    def net(since):
        cond = Q(created_at__gte=since)
        return Coalesce(Sum(cost, filter=cond & into), zero) - Coalesce(Sum(cost, filter=cond & out), zero)

    moves = StockMove.objects.filter(created_at__gte=p.start)
    if site is not None:
        moves = moves.filter(into | out)
    row = moves.aggregate(since_start=net(p.start), since_end=net(p.end))
    start_value = now_value - (row["since_start"] or 0)
    end_value = now_value - (row["since_end"] or 0)
    average = (start_value + end_value) / 2
    value = _f(cogs / average, 2) if average > 0 else None
    return KpiValue(
        "inventory_turns",
        KPIS["inventory_turns"].label,
        value,
        _money(cogs),
        _money(average),
        "turns",
        {
            "window": [start_day.isoformat(), end_day.isoformat()],
            "start_value": _money(start_value),
            "end_value": _money(end_value),
        },
    )


def aging_stock(site, date_from, date_to) -> KpiValue:
    """On-hand value (current quants at standard cost) by days since the quant last received stock, as of the
    end of the period (or now); a quant never received (opening balance) counts as 181+, one received after
    that instant as 0 days. value = share of the on-hand
    value in the 181+ bucket (numerator), of all on-hand value (denominator)."""
    p = period_for(site, date_from, date_to)
    qs = of_site(StockQuant.objects.filter(location__kind__in=ON_HAND_KINDS, quantity__gt=0), "site", site).annotate(
        # never received: oldest; received after the as-of instant: newest
        _age=Greatest(Coalesce(_days_since("last_received_at", p.as_of), Value(100000)), Value(0)),
        _value=ExpressionWrapper(F("quantity") * F("item__standard_cost"), output_field=MONEY),
    )
    aggs = {"total": Coalesce(Sum("_value"), Decimal("0"), output_field=MONEY), "units": Coalesce(Sum("quantity"), 0)}
    for low, high, name in AGING_BUCKETS:
        cond = Q(_age__gte=low) if high is None else Q(_age__gte=low, _age__lte=high)
        if low == 0:
            cond = Q(_age__lte=high)
        aggs[f"v{name}"] = Coalesce(Sum("_value", filter=cond), Decimal("0"), output_field=MONEY)
        aggs[f"u{name}"] = Coalesce(Sum("quantity", filter=cond), 0)
    row = qs.aggregate(**aggs)
    oldest = AGING_BUCKETS[-1][2]
    buckets = [
        {"age_days": name, "value": _money(row[f"v{name}"]), "units": row[f"u{name}"]} for _, _, name in AGING_BUCKETS
    ]
    num, den = _money(row[f"v{oldest}"]), _money(row["total"])
    return KpiValue(
        "aging_stock",
        KPIS["aging_stock"].label,
        ratio(num, den),
        num,
        den,
        "%",
        {"buckets": buckets, "units": row["units"], "as_of": p.as_of.isoformat()},
    )


def returns_turnaround(site, date_from, date_to) -> KpiValue:
    """Hours from the return's receipt at the dock to its last disposition, for returns disposed in the
    period."""
    p = period_for(site, date_from, date_to)
    qs = in_period(
        ReturnAuthorization.objects.filter(received_at__isnull=False, disposed_at__isnull=False),
        "disposed_at",
        "site",
        site,
        p,
    )
    return _time_value("returns_turnaround", _time_stats(qs, hours_between("disposed_at", "received_at")))


# --- execution discipline ----------------------------------------------------------------------------


def _scan_ok() -> Q:
    return Q(scanned_location=F("location__code")) & (Q(lot__isnull=True) | Q(scanned_lot=F("lot__number")))


def _no_skipped_scan(*processes: str) -> Q:
    """No scan of the task was skipped (a FloorEvent SKIPPED_SCAN: the API confirmed it without the item scan)."""
    skipped = FloorEvent.objects.filter(
        kind=FloorEvent.Kind.SKIPPED_SCAN, process__in=processes, task_id=OuterRef("pk")
    )
    return ~Q(Exists(skipped))


def scan_compliance(site, date_from, date_to) -> KpiValue:
    """Scanned task confirmations (pick tasks and pick-face replenishment tasks confirmed in the period) whose
    scanned location, and lot when the task names one, are the task's and whose item scan was not skipped (no
    SKIPPED_SCAN adoption event: the API confirms without one) / all of them; by site and operator.
    Putaway confirmations record no scan and are not counted."""
    p = period_for(site, date_from, date_to)
    picks = _confirmed_picks(site, date_from, date_to)
    repl = in_period(
        ReplenishmentTask.objects.filter(
            status__in=(ReplenishmentTask.Status.DONE, ReplenishmentTask.Status.SHORT), confirmed_at__isnull=False
        ),
        "confirmed_at",
        "site",
        site,
        p,
    )
    repl_ok = Q(scanned_location=F("from_location__code")) & (Q(lot__isnull=True) | Q(scanned_lot=F("lot__number")))
    acc: dict = {}
    picks_ok = _scan_ok() & _no_skipped_scan(FloorEvent.Process.PICK, FloorEvent.Process.TRANSFER_PICK)
    repl_ok &= _no_skipped_scan(FloorEvent.Process.REFILL)
    for qs, ok in ((picks, picks_ok), (repl, repl_ok)):
        grouped = qs.values("site__code", "confirmed_by__username").annotate(den=Count("pk"), num=count_if(ok))
        for r in grouped.order_by():
            key = (r["site__code"], r["confirmed_by__username"])
            n, d = acc.get(key, (0, 0))
            acc[key] = (n + r["num"], d + r["den"])
    num = sum(n for n, _ in acc.values())
    den = sum(d for _, d in acc.values())
    by_site: dict = {}
    for (code, _user), (n, d) in acc.items():
        a, b = by_site.get(code, (0, 0))
        by_site[code] = (a + n, b + d)
    return KpiValue(
        "scan_compliance",
        KPIS["scan_compliance"].label,
        ratio(num, den),
        num,
        den,
        "%",
        {
            "by_site": [_ratio_row(n, d, site=k) for k, (n, d) in sorted(by_site.items())],
            "by_operator": [
                _ratio_row(n, d, site=k[0], operator=k[1])
                for k, (n, d) in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            ],
        },
    )


def override_rate(site, date_from, date_to) -> KpiValue:
    """Overrides / confirmations, per kind, in the period: putaways confirmed to another location than
    suggested; picks confirmed from another location or lot than the task's; allocations made by a line's or
    order's ship-from (SHIP_FROM rule) instead of the engine's choice / allocations made; order holds released
    by an approver / hold approvals decided."""
    p = period_for(site, date_from, date_to)
    put = in_period(
        PutawayTask.objects.filter(status=PutawayTask.Status.CONFIRMED, suggested_location__isnull=False),
        "confirmed_at",
        "site",
        site,
        p,
    ).aggregate(den=Count("pk"), num=count_if(~Q(confirmed_location=F("suggested_location"))))
    pick = _confirmed_picks(site, date_from, date_to).aggregate(den=Count("pk"), num=count_if(~_scan_ok()))
    alloc = in_period(Allocation.objects.all(), "created_at", "site", site, p).aggregate(
        den=Count("pk"), num=count_if(Q(rule=SHIP_FROM_RULE))
    )
    hold = in_period(
        ApprovalRequest.objects.filter(
            kind=HOLD_APPROVAL_KIND,
            decided_at__isnull=False,
            status__in=(ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED),
        ),
        "decided_at",
        "site",
        site,
        p,
    ).aggregate(den=Count("pk"), num=count_if(Q(status=ApprovalRequest.Status.APPROVED)))
    kinds = {"putaway": put, "pick": pick, "allocation": alloc, "hold": hold}
    num = sum(r["num"] for r in kinds.values())
    den = sum(r["den"] for r in kinds.values())
    return KpiValue(
        "override_rate",
        KPIS["override_rate"].label,
        ratio(num, den),
        num,
        den,
        "%",
        {"by_kind": [_ratio_row(r["num"], r["den"], kind=k) for k, r in kinds.items()]},
    )


# --- adoption (issue 13; not in KPIS.md, which defines scan compliance and override rate only) -------------
#
# Confirmations: pick tasks (sales order and transfer) and pick-face refills confirmed, putaways confirmed, count
# entries (first counts and recounts) and receipt lines received, each placed in the day and site it was confirmed,
# under the user who confirmed it and its process (the FloorEvent processes).

P = FloorEvent.Process


def _confirmations(site, p: Period) -> list[tuple[str, str, str, int]]:
    """(site code, username, process, confirmations) in the period, one grouped query per kind of task."""
    picks = in_period(
        PickTask.objects.filter(status__in=(PickTask.Status.PICKED, PickTask.Status.SHORT), confirmed_at__isnull=False),
        "confirmed_at",
        "site",
        site,
        p,
    )
    sources = [
        (picks, "site__code", "confirmed_by__username", None),
        (
            in_period(
                ReplenishmentTask.objects.filter(
                    status__in=(ReplenishmentTask.Status.DONE, ReplenishmentTask.Status.SHORT),
                    confirmed_at__isnull=False,
                ),
                "confirmed_at",
                "site",
                site,
                p,
            ),
            "site__code",
            "confirmed_by__username",
            P.REFILL,
        ),
        (
            in_period(
                PutawayTask.objects.filter(status=PutawayTask.Status.CONFIRMED, confirmed_at__isnull=False),
                "confirmed_at",
                "site",
                site,
                p,
            ),
            "site__code",
            "confirmed_by__username",
            P.PUTAWAY,
        ),
        (
            in_period(
                CycleCountLine.objects.filter(first_counted_at__isnull=False),
                "first_counted_at",
                "count__site",
                site,
                p,
            ),
            "count__site__code",
            "first_counted_by__username",
            P.COUNT,
        ),
        (
            in_period(
                CycleCountLine.objects.filter(recounted_at__isnull=False),
                "recounted_at",
                "count__site",
                site,
                p,
            ),
            "count__site__code",
            "recounted_by__username",
            P.COUNT,
        ),
        (
            in_period(ReceiptLine.objects.all(), "receipt__received_at", "receipt__site", site, p),
            "receipt__site__code",
            "receipt__received_by__username",
            P.RECEIVE,
        ),
    ]
    out = []
    for qs, site_path, user_path, process in sources:
        if process is None:  # picks: the process is a column
            rows = (
                qs.annotate(_transfer=ExpressionWrapper(Q(transfer_line__isnull=False), output_field=BooleanField()))
                .values(site_path, user_path, "_transfer")
                .annotate(n=Count("pk"))
                .order_by()
            )
            for r in rows:
                proc = P.TRANSFER_PICK if r["_transfer"] else P.PICK
                out.append((r[site_path], r[user_path], proc, r["n"]))
            continue
        for r in qs.values(site_path, user_path).annotate(n=Count("pk")).order_by():
            out.append((r[site_path], r[user_path], process, r["n"]))
    return out


def _floor_events(site, p: Period, kind: str) -> list[tuple[str, str, str, int]]:
    qs = in_period(FloorEvent.objects.filter(kind=kind), "created_at", "site", site, p)
    rows = qs.values("site__code", "user__username", "process").annotate(n=Count("pk")).order_by()
    return [(r["site__code"], r["user__username"], r["process"], r["n"]) for r in rows]


def _per_confirmations(key: str, site, date_from, date_to, kind: str) -> KpiValue:
    p = period_for(site, date_from, date_to)
    acc: dict[tuple, list[int]] = {}
    for code, user, process, n in _floor_events(site, p, kind):
        acc.setdefault((code, user, process), [0, 0])[0] += n
    for code, user, process, n in _confirmations(site, p):
        acc.setdefault((code, user, process), [0, 0])[1] += n

    def roll(index: tuple[int, ...], *labels: str) -> list[dict]:
        out: dict[tuple, list[int]] = {}
        for k, (num, den) in acc.items():
            group = tuple(k[i] for i in index)
            row = out.setdefault(group, [0, 0])
            row[0] += num
            row[1] += den
        return [
            _ratio_row(num, den, **dict(zip(labels, group, strict=True)))
            for group, (num, den) in sorted(out.items(), key=lambda kv: tuple(x or "" for x in kv[0]))
        ]

    num = sum(v[0] for v in acc.values())
    den = sum(v[1] for v in acc.values())
    return KpiValue(
        key,
        ADOPTION_KPIS[key].label,
        ratio(num, den),
        num,
        den,
        ADOPTION_KPIS[key].unit,
        {
            "by_site": roll((0,), "site"),
            "by_operator": roll((0, 1), "site", "operator"),
            "by_process": roll((0, 2), "site", "process"),
        },
    )


def refused_scan_rate(site, date_from, date_to) -> KpiValue:
    """Refused scans per 100 confirmations: FloorEvents REFUSED_SCAN (a scan the screens' checks, the services or
    the API refused; the same scan refused again within 2 minutes is one) / confirmations (see above) x 100, in the
    period; by site, operator and process. It can exceed 100 (several refusals before one confirmation)."""
    return _per_confirmations("refused_scan_rate", site, date_from, date_to, FloorEvent.Kind.REFUSED_SCAN)


def skipped_scan_rate(site, date_from, date_to) -> KpiValue:
    """Skipped scans per 100 confirmations: FloorEvents SKIPPED_SCAN (a confirmation without a scan its step asks
    for, e.g. a pick confirmed through the API without the item scan; one per missing scan) / confirmations x 100."""
    return _per_confirmations("skipped_scan_rate", site, date_from, date_to, FloorEvent.Kind.SKIPPED_SCAN)


def floor_override_rate(site, date_from, date_to) -> KpiValue:
    """Floor overrides per 100 tasks: FloorEvents OVERRIDE (short picks and refills, putaways elsewhere than
    suggested) / confirmations x 100; by site, operator and process. KPIS.md's ``override_rate`` is the per-kind
    rate of the system's choices overridden (allocations and holds included); this one is the floor's, per user."""
    return _per_confirmations("floor_override_rate", site, date_from, date_to, FloorEvent.Kind.OVERRIDE)


def manual_workarounds(site, date_from, date_to) -> KpiValue:
    """Manual workarounds: ADJUST moves in the period at an item and location (either end of the move) where a PICK
    move of that item left from that location within the ``adoption.workaround_minutes`` (site rule) before it —
    stock fixed by hand after a pick instead of a short pick. Derived from the ledger, not recorded. Count (value =
    numerator), by site and by the adjusting user; denominator = pick moves at the site in the period."""
    p = period_for(site, date_from, date_to)
    sites = [site] if site is not None else list(Site.objects.filter(active=True))
    minutes = get_rule_for_sites("adoption.workaround_minutes", [s.pk for s in sites])
    by_site: dict[str, int] = {}
    by_user: dict[tuple, int] = {}
    picks_by_site: dict[str, int] = {}
    for window in sorted(set(minutes.values())):
        site_ids = [s for s, m in minutes.items() if m == window]
        span = timedelta(minutes=window)
        picked = StockMove.objects.filter(
            kind=StockMove.Kind.PICK,
            item_id=OuterRef("item_id"),
            created_at__lte=OuterRef("created_at"),
            created_at__gte=ExpressionWrapper(OuterRef("created_at") - span, output_field=DateTimeField()),
        )
        adjust = in_period(
            StockMove.objects.filter(kind=StockMove.Kind.ADJUST), "created_at", "from_location__site", site, p
        ).filter(Q(from_location__site_id__in=site_ids) | Q(to_location__site_id__in=site_ids))
        found = adjust.filter(
            Exists(picked.filter(from_location_id=OuterRef("from_location_id")))
            | Exists(picked.filter(from_location_id=OuterRef("to_location_id")))
        )
        for r in found.values("from_location__site__code", "user__username").annotate(n=Count("pk")).order_by():
            code = r["from_location__site__code"]
            by_site[code] = by_site.get(code, 0) + r["n"]
            by_user[(code, r["user__username"])] = by_user.get((code, r["user__username"]), 0) + r["n"]
        pick_moves = in_period(
            StockMove.objects.filter(kind=StockMove.Kind.PICK, from_location__site_id__in=site_ids),
            "created_at",
            "from_location__site",
            site,
            p,
        )
        for r in pick_moves.values("from_location__site__code").annotate(n=Count("pk")).order_by():
            picks_by_site[r["from_location__site__code"]] = r["n"]
    num = sum(by_site.values())
    den = sum(picks_by_site.values())
    return KpiValue(
        "manual_workarounds",
        ADOPTION_KPIS["manual_workarounds"].label,
        num,
        num,
        den,
        "moves",
        {
            "by_site": [
                {"site": c, "workarounds": by_site.get(c, 0), "pick_moves": picks_by_site.get(c, 0)}
                for c in sorted(set(by_site) | set(picks_by_site))
            ],
            "by_operator": [
                {"site": c, "operator": u, "workarounds": n}
                for (c, u), n in sorted(by_user.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            ],
        },
    )


def site_rule_deviation(site, date_from, date_to) -> KpiValue:
    """LOCAL rules whose value at the site differs from the enterprise value (the enterprise-level setting,
    else the default in code) / LOCAL rules; for the network, summed over active sites. Not period-bound."""
    local = {k: d for k, d in REGISTRY.items() if d.standardization == LOCAL}
    sites = [site] if site is not None else list(Site.objects.filter(active=True).order_by("code"))
    stored = list(
        SiteRuleValue.objects.filter(key__in=list(local))
        .filter(Q(site__isnull=True) | Q(site__in=[s.pk for s in sites]))
        .values_list("key", "site_id", "value")
    )
    enterprise = {k: local[k].from_json(v) for k, s, v in stored if s is None}
    overrides: dict[int, dict] = {}
    for k, s, v in stored:
        if s is not None:
            overrides.setdefault(s, {})[k] = local[k].from_json(v)
    by_site = []
    for s in sites:
        deviations = []
        for key, defn in sorted(local.items()):
            base = enterprise.get(key, defn.default)
            value = overrides.get(s.pk, {}).get(key, base)
            if value != base:
                deviations.append(
                    {"rule": key, "site_value": defn.to_json(value), "enterprise_value": defn.to_json(base)}
                )
        by_site.append({"site": s.code, "deviations": len(deviations), "rules": deviations})
    num = sum(r["deviations"] for r in by_site)
    den = len(local) * len(sites)
    return KpiValue(
        "site_rule_deviation", KPIS["site_rule_deviation"].label, num, num, den, "rules", {"by_site": by_site}
    )


# --- registry ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiDef:
    key: str
    label: str
    unit: str
    higher_is_better: bool | None
    function: Callable[..., KpiValue]
    trend: bool = True


_DEFS = [
    ("order_fill_rate", "Order fill rate", "%", True, order_fill_rate),
    ("unit_fill_rate", "Unit fill rate", "%", True, unit_fill_rate),
    ("on_time_shipment", "On-time shipment", "%", True, on_time_shipment),
    ("perfect_order_rate", "Perfect order rate", "%", True, perfect_order_rate),
    ("order_cycle_time", "Order cycle time (median h)", "h", False, order_cycle_time),
    ("backorders", "Backorder volume and aging", "units", False, backorders),
    ("inventory_accuracy", "Inventory accuracy", "%", True, inventory_accuracy),
    ("count_variance", "Count variance", "units", False, count_variance),
    ("adjustment_rate", "Adjustment rate", "%", False, adjustment_rate),
    ("dock_to_stock", "Dock-to-stock time (median h)", "h", False, dock_to_stock),
    ("supplier_receipt_accuracy", "Supplier receipt accuracy", "%", True, supplier_receipt_accuracy),
    ("supplier_lead_time", "Supplier lead-time reliability", "%", True, supplier_lead_time),
    ("transfer_cycle_time", "Transfer cycle time (median h)", "h", False, transfer_cycle_time),
    ("pick_productivity", "Pick productivity", "lines/h", True, pick_productivity),
    ("short_pick_rate", "Short pick rate", "%", False, short_pick_rate),
    ("exception_backlog", "Exception backlog", "cases", False, exception_backlog),
    ("exception_resolution_time", "Exception resolution time (median h)", "h", False, exception_resolution_time),
    ("inventory_turns", "Inventory turns", "turns", True, inventory_turns),
    ("aging_stock", "Aging stock (181+ days, share of value)", "%", False, aging_stock),
    ("returns_turnaround", "Returns turnaround (median h)", "h", False, returns_turnaround),
    ("scan_compliance", "Scan compliance", "%", True, scan_compliance),
    ("override_rate", "Override rate", "%", False, override_rate),
    ("site_rule_deviation", "Site rule deviation", "rules", False, site_rule_deviation),
]

#: key -> definition, in the order of KPIS.md
KPIS: dict[str, KpiDef] = {
    key: KpiDef(key, label, unit, better, fn, trend=(key != "site_rule_deviation"))
    for key, label, unit, better, fn in _DEFS
}


#: adoption KPIs of issue 13 (KPIS.md, shared, does not define them; its scan compliance and override rate are in
#: KPIS): computed like KPIS, shown on the hypercare command centre, not stored as snapshots
ADOPTION_KPIS: dict[str, KpiDef] = {
    key: KpiDef(key, label, unit, better, fn)
    for key, label, unit, better, fn in [
        ("refused_scan_rate", "Refused scans per 100 confirmations", "per 100", False, refused_scan_rate),
        ("skipped_scan_rate", "Skipped scans per 100 confirmations", "per 100", False, skipped_scan_rate),
        ("floor_override_rate", "Floor overrides per 100 tasks", "per 100", False, floor_override_rate),
        ("manual_workarounds", "Manual workarounds (adjustments after a pick)", "moves", False, manual_workarounds),
    ]
}


def compute(key: str, site: Site | None, date_from: date, date_to: date) -> KpiValue:
    defn = KPIS.get(key) or ADOPTION_KPIS[key]
    return defn.function(site, date_from, date_to)


def compute_all(site: Site | None, date_from: date, date_to: date) -> list[KpiValue]:
    """Every KPI for ``site`` (None: the network) over the period, in registry order."""
    return [d.function(site, date_from, date_to) for d in KPIS.values()]
