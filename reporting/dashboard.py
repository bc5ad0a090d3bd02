"""Reads for KPI tiles and KPI pages (the browser workspace): current values from the KPI functions of
``reporting.kpis`` (the same definitions as the API and the snapshots), trend lines from the daily snapshots.

Nothing here computes a KPI itself: a tile is ``rollup.period_value`` for the current period (the KPI function,
with the past days read from their snapshots where the KPI allows) plus ``selectors.trends`` for the line. The
number of queries is fixed: it depends on the tiles, never on the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from governance.models import Site
from governance.services.sites import site_local_date

from .kpis import KPIS, KpiValue
from .rollup import ROLLUPS, complete_snapshots, period_value
from .selectors import trends

#: the supervisor dashboard's tiles, in display order: flow KPIs over the last TILE_DAYS days (today included),
#: state KPIs (backorders, exception backlog) as of now
DASHBOARD_TILES = (
    "order_fill_rate",
    "perfect_order_rate",
    "order_cycle_time",
    "short_pick_rate",
    "pick_productivity",
    "dock_to_stock",
    "backorders",
    "exception_backlog",
)
TILE_DAYS = 7
TREND_DAYS = 30
#: KPIs read "as of" the end of the period rather than over it
STATE_KPIS = frozenset({"backorders", "exception_backlog", "aging_stock", "site_rule_deviation"})


def local_today(site: Site | None, now: datetime | None = None) -> date:
    """Today at ``site`` (its time zone; the network: UTC)."""
    return site_local_date(site, now)


@dataclass
class Tile:
    key: str
    label: str
    unit: str
    higher_is_better: bool | None
    value: KpiValue
    period: str
    trend: list[dict] = field(default_factory=list)

    @property
    def display(self) -> str:
        return format_value(self.value.value, self.unit)

    @property
    def fraction(self) -> str:
        """numerator / denominator as shown in small print ('n' alone for counts)."""
        v = self.value
        if v.denominator is None:
            return format_number(v.numerator)
        if self.unit == "h":
            return f"{format_number(v.numerator)} h over {format_number(v.denominator)}"
        return f"{format_number(v.numerator)} / {format_number(v.denominator)}"

    @property
    def trend_id(self) -> str:
        return f"trend-{self.key}"

    @property
    def trend_json(self) -> str:
        """The trend points as JSON text for a hidden element: the dashboard refreshes its panels through htmx,
        which drops every <script> (json_script) of swapped content (allowScriptTags is off)."""
        import json

        return json.dumps(self.trend_points)

    @property
    def trend_points(self) -> dict:
        return trend_chart(self.key, self.unit, self.trend)


def trend_chart(key: str, unit: str, points: list[dict]) -> dict:
    """A trend line (reporting.selectors.trend's points) for web/static/web/kpi-trend.js: x = day (epoch seconds,
    UTC midnight), y = value (None: a gap)."""
    return {
        "key": key,
        "unit": unit,
        "x": [int(datetime.combine(p["date"], time.min, tzinfo=UTC).timestamp()) for p in points],
        "y": [p["value"] for p in points],
    }


def format_number(x) -> str:
    if x is None:
        return "—"
    x = float(x)
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.2f}"


def format_value(x, unit: str) -> str:
    if x is None:
        return "—"
    if unit == "%":
        return f"{float(x):.1f} %"
    if unit == "h":
        return f"{float(x):.1f} h"
    return f"{format_number(x)} {unit}".strip()


def dashboard_tiles(site: Site, *, now: datetime | None = None, keys=DASHBOARD_TILES) -> list[Tile]:
    """The KPI tiles of ``site``: each KPI for the last TILE_DAYS local days (today included; state KPIs as of
    now) and its daily trend over the TREND_DAYS days before today."""
    today = local_today(site, now)
    since = today - timedelta(days=TILE_DAYS - 1)
    lines = trends(site, list(keys), TREND_DAYS, until=today - timedelta(days=1))
    stored = complete_snapshots(site, [key for key in keys if key in ROLLUPS], since, today)
    tiles = []
    for key in keys:
        d = KPIS[key]
        value = period_value(key, site, since, today, stored)  # the past days from their snapshots where allowed
        period = "now" if key in STATE_KPIS else f"last {TILE_DAYS} days"
        tiles.append(Tile(key, d.label, d.unit, d.higher_is_better, value, period, lines.get(key, [])))
    return tiles
