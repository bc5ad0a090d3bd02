"""The daily count plan per site: triggered counts (requests from other apps such as short picks, locations
with recent adjustments or count variances) plus each ABC class's daily share of its locations, least recently
counted first.

Higher apps contribute triggers without inventory importing them: ``register_count_trigger_source(fn)`` where
``fn(site_id)`` returns :class:`TriggeredCount` rows (warehouse registers its open count requests). When a
location has been counted, ``inventory.signals.location_counted`` tells them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from governance.models import Site
from governance.services import get_rule, record_job
from governance.services.sites import site_local_date
from inventory.models import Adjustment, CycleCount, CycleCountLine, InventoryStatus, Location, StockMove, StockQuant
from inventory.policy import counting as policy

from .counts import busy_location_ids, line_keys_for, lock_for_change, make_count

#: location kinds the ABC schedule covers (docks and staging only hold stock in passing)
SCHEDULED_KINDS = (Location.Kind.STORAGE, Location.Kind.PICK, Location.Kind.QUALITY, Location.Kind.DAMAGED)
COUNTABLE_KINDS = (*SCHEDULED_KINDS, Location.Kind.RECEIVING, Location.Kind.STAGING)


@dataclass(frozen=True)
class TriggeredCount:
    location_id: int
    item_id: int | None
    trigger: str  # a CycleCountLine.Trigger value
    reason: str


_SOURCES: list[Callable[[int], list[TriggeredCount]]] = []


def register_count_trigger_source(source: Callable[[int], list[TriggeredCount]]) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def recent_variance_triggers(site_id: int, *, now=None) -> list[TriggeredCount]:
    """Locations with a stock adjustment within the site's look-back days that were not counted since.

    Opening balances are adjustments too but not variances: stock loaded when a site goes live (or the demo
    network is loaded) must not put every bin of the site on the next day's count."""
    now = now or timezone.now()
    since = now - timedelta(days=get_rule("counting.variance_lookback_days", site_id))
    latest: dict[int, tuple] = {}
    adjustments = StockMove.objects.filter(
        Q(from_location__site_id=site_id) | Q(to_location__site_id=site_id),
        kind=StockMove.Kind.ADJUST,
        created_at__gte=since,
    ).exclude(reason_code=Adjustment.Reason.OPENING_BALANCE)
    for from_id, to_id, item_id, at in adjustments.values_list(
        "from_location_id", "to_location_id", "item_id", "created_at"
    ):
        for location_id in (from_id, to_id):
            if location_id not in latest or latest[location_id][1] < at:
                latest[location_id] = (item_id, at)
    if not latest:
        return []
    locations = Location.objects.filter(pk__in=list(latest), site_id=site_id, active=True, kind__in=COUNTABLE_KINDS)
    out = []
    for location_id, counted_at in locations.values_list("pk", "last_counted_at"):
        item_id, at = latest[location_id]
        if counted_at is None or counted_at < at:
            out.append(
                TriggeredCount(location_id, item_id, CycleCountLine.Trigger.VARIANCE, f"Adjusted {at:%Y-%m-%d %H:%M}")
            )
    return out


def recent_count_variance_triggers(site_id: int, *, now=None) -> list[TriggeredCount]:
    """Locations where a count found a variance (posted or rejected) within the site's look-back days and that
    were not counted again since: the next daily count verifies them once."""
    now = now or timezone.now()
    since = now - timedelta(days=get_rule("counting.variance_lookback_days", site_id))
    counted_at = Coalesce("recounted_at", "first_counted_at")
    found = list(
        CycleCountLine.objects.filter(
            count__site_id=site_id, status__in=(CycleCountLine.Status.POSTED, CycleCountLine.Status.REJECTED)
        )
        .exclude(variance=0)
        .exclude(variance__isnull=True)
        .annotate(at=counted_at)
        .filter(at__gte=since)
        .values_list("count_id", "count__number", "location_id", "item_id", "at")
    )
    if not found:
        return []
    # when each of those counts last counted the location (what it stamped on the location)
    stamped = {
        (row["count_id"], row["location_id"]): row["stamp"]
        for row in CycleCountLine.objects.filter(
            count_id__in={f[0] for f in found}, location_id__in={f[2] for f in found}
        )
        .values("count_id", "location_id")
        .annotate(stamp=Max(counted_at))
    }
    last_counted = dict(
        Location.objects.filter(
            pk__in={f[2] for f in found}, site_id=site_id, active=True, kind__in=COUNTABLE_KINDS
        ).values_list("pk", "last_counted_at")
    )
    out: dict[int, TriggeredCount] = {}
    for count_id, number, location_id, item_id, at in sorted(found, key=lambda f: f[4], reverse=True):
        if location_id not in last_counted or location_id in out:
            continue
        last, stamp = last_counted[location_id], stamped.get((count_id, location_id)) or at
        if last is None or last <= stamp:  # not counted by a later count
            out[location_id] = TriggeredCount(
                location_id, item_id, CycleCountLine.Trigger.VARIANCE, f"Count variance {number} {at:%Y-%m-%d}"
            )
    return list(out.values())


def scheduled_candidates(site_id: int) -> list[policy.LocationDue]:
    """Every active location of the scheduled kinds that holds stock, with its class (the highest class of the
    items it holds) and when it was last counted: one query for the whole site."""
    classes: dict[int, set[str]] = defaultdict(set)
    counted: dict[int, object] = {}
    for location_id, abc, last in (
        StockQuant.objects.filter(
            site_id=site_id, quantity__gt=0, location__active=True, location__kind__in=SCHEDULED_KINDS
        )
        .exclude(status=InventoryStatus.IN_TRANSIT)
        .values_list("location_id", "item__abc_class", "location__last_counted_at")
        .distinct()
    ):
        classes[location_id].add(abc)
        counted[location_id] = last
    return [policy.LocationDue(loc, policy.location_class(abcs), counted[loc]) for loc, abcs in classes.items()]


def plan_daily_count(
    *, site: Site, today: date | None = None, user=None, now: datetime | None = None
) -> tuple[CycleCount | None, bool]:
    """Create the site's count for ``today`` (once: a second run returns the existing one, created=False).
    None when there is nothing to count today. ``today`` defaults to the date at the site (its time zone) at
    ``now``, not the server's date: a site far east or west of the server plans its own calendar day."""
    today = today or site_local_date(site, now)
    with transaction.atomic():
        lock_for_change(Site.objects.filter(pk=site.pk))  # two workers planning the same site queue here
        existing = CycleCount.objects.filter(site=site, origin=CycleCount.Origin.PLANNED, plan_date=today).first()
        if existing is not None:
            return existing, False
        busy = busy_location_ids(site.pk)
        triggered: dict[int, TriggeredCount] = {}
        items_wanted: dict[int, set[int]] = defaultdict(set)
        for source in [*_SOURCES, recent_variance_triggers, recent_count_variance_triggers]:
            for trig in source(site.pk):
                if trig.location_id in busy:
                    continue
                triggered.setdefault(trig.location_id, trig)
                if trig.item_id:
                    items_wanted[trig.location_id].add(trig.item_id)
        # only countable locations of this site
        valid = set(
            Location.objects.filter(
                pk__in=list(triggered), site=site, active=True, kind__in=COUNTABLE_KINDS
            ).values_list("pk", flat=True)
        )
        triggered = {k: v for k, v in triggered.items() if k in valid}
        frequencies = {abc: get_rule(f"counting.frequency_days_{abc.lower()}", site.pk) for abc in policy.CLASS_ORDER}
        scheduled = policy.choose_scheduled(scheduled_candidates(site.pk), frequencies, exclude=busy | set(triggered))
        lines = []
        for loc, item, lot in line_keys_for(set(triggered) | set(scheduled), items_wanted=items_wanted):
            trig = triggered.get(loc)
            if trig is not None:
                lines.append((loc, item, lot, trig.trigger, trig.reason))
            else:
                lines.append((loc, item, lot, CycleCountLine.Trigger.SCHEDULE, "ABC schedule"))
        if not lines:
            return None, False
        try:
            with transaction.atomic():
                count = make_count(
                    site=site,
                    origin=CycleCount.Origin.PLANNED,
                    lines=lines,
                    user=user,
                    note=f"Daily count {today}: {len(triggered)} triggered, {len(scheduled)} scheduled location(s)",
                    plan_date=today,
                )
        except IntegrityError:  # pragma: no cover - the site lock makes this unreachable; kept as a backstop
            return CycleCount.objects.get(site=site, origin=CycleCount.Origin.PLANNED, plan_date=today), False
        return count, True


def create_daily_counts(*, today: date | None = None, user=None, now: datetime | None = None) -> dict:
    """The beat job: plan today's count at every active site (today by each site's time zone, unless ``today``
    is given); records a job run with counts. Idempotent."""
    now = now or timezone.now()
    with record_job("create_daily_counts", requested_by=user) as counts:
        counts.update({"sites": 0, "counts_created": 0, "lines": 0, "already_planned": 0, "nothing_to_count": 0})
        for site in Site.objects.filter(active=True).order_by("code"):
            counts["sites"] += 1
            count, created = plan_daily_count(site=site, today=today, user=user, now=now)
            if count is None:
                counts["nothing_to_count"] += 1
            elif created:
                counts["counts_created"] += 1
                counts["lines"] += count.lines.count()
            else:
                counts["already_planned"] += 1
    return counts
