"""Rollout waves (issue 13): sites grouped to go live together, with planned dates, and whether each is on plan.

A wave is planned by an enterprise admin (the rollout team): its code, name and planned cutover / pilot / go-live
dates, and its sites (a site is in one wave at most; moving a site to another wave is allowed while it is not
LIVE, so a late site can slip to the next wave). Progress is read, never typed: each site's stage and the day it
reached each stage (its SiteStageChange rows) against the wave's dates. A site is *behind* when a planned day has
passed (at the site: its own calendar) and it has not reached that stage; *done* once LIVE."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction

from core.errors import StateConflict, ValidationFailed
from core.validation import field_error
from governance import permissions
from governance.models import RolloutWave, Site, SiteStageChange

from .history import set_history_user
from .sites import site_local_date

S = Site.Stage
#: the stage each planned date asks for, in roll-out order
PLANNED_STEPS = (("planned_cutover", S.CUTOVER), ("planned_pilot", S.PILOT), ("planned_go_live", S.LIVE))
_ORDER = {S.PLANNED: 0, S.CUTOVER: 1, S.PILOT: 2, S.LIVE: 3}


def _check_dates(cutover, pilot, go_live) -> None:
    errors = []
    if not isinstance(cutover, date):
        errors.append({"field": "planned_cutover", "code": "required", "message": "Give the planned cutover day."})
    if not isinstance(go_live, date):
        errors.append({"field": "planned_go_live", "code": "required", "message": "Give the planned go-live day."})
    if not errors:
        if go_live < cutover:
            errors.append(
                {"field": "planned_go_live", "code": "invalid", "message": "Go-live cannot be before the cutover."}
            )
        if pilot is not None and not cutover <= pilot <= go_live:
            errors.append(
                {
                    "field": "planned_pilot",
                    "code": "invalid",
                    "message": "The pilot starts between cutover and go-live.",
                }
            )
    if errors:
        raise ValidationFailed("Check the wave's dates.", errors=errors)


def _assign(wave: RolloutWave, sites: list[Site], user) -> None:
    locked = list(Site.objects.select_for_update(no_key=True).filter(pk__in=[s.pk for s in sites]).order_by("pk"))
    live_elsewhere = [s.code for s in locked if s.stage == S.LIVE and s.rollout_wave_id not in (None, wave.pk)]
    if live_elsewhere:
        raise StateConflict(f"Already live in another wave: {', '.join(live_elsewhere)}.")
    for site in locked:
        if site.rollout_wave_id == wave.pk:
            continue
        site.rollout_wave = wave
        set_history_user(site, user)
        site._change_reason = f"Rollout wave {wave.code}"
        site.save(update_fields=["rollout_wave"])


@transaction.atomic
def create_wave(
    *,
    user,
    code: str,
    planned_cutover: date,
    planned_go_live: date,
    name: str = "",
    planned_pilot: date | None = None,
    sites: list[Site] = (),
    note: str = "",
) -> RolloutWave:
    """Plan a wave (enterprise admins only) with its sites; every date problem at once, nothing written."""
    permissions.require_enterprise_admin(user)
    if not (code or "").strip():
        raise field_error("code", "Give the wave a code.", "required")
    _check_dates(planned_cutover, planned_pilot, planned_go_live)
    wave = RolloutWave(
        code=code.strip().upper(),
        name=(name or code).strip()[:120],
        planned_cutover=planned_cutover,
        planned_pilot=planned_pilot,
        planned_go_live=planned_go_live,
        note=(note or "")[:500],
    )
    set_history_user(wave, user)
    try:
        with transaction.atomic():
            wave.save()
    except IntegrityError:
        raise field_error("code", f"A wave {wave.code} exists already.", "unique")
    _assign(wave, list(sites), user)
    return wave


@transaction.atomic
def update_wave(*, user, wave: RolloutWave, **changes) -> RolloutWave:
    """Change a wave's name, note or planned dates (enterprise admins; the dates checked together)."""
    permissions.require_enterprise_admin(user)
    locked = RolloutWave.objects.select_for_update(no_key=True).get(pk=wave.pk)
    unknown = set(changes) - {"name", "note", "planned_cutover", "planned_pilot", "planned_go_live"}
    if unknown:
        raise field_error(sorted(unknown)[0], "This field cannot be changed.", "read_only")
    for name, value in changes.items():
        setattr(locked, name, value)
    _check_dates(locked.planned_cutover, locked.planned_pilot, locked.planned_go_live)
    set_history_user(locked, user)
    locked.save()
    return locked


@transaction.atomic
def set_wave_sites(*, user, wave: RolloutWave, sites: list[Site]) -> RolloutWave:
    """The wave's sites become ``sites`` (sites left out leave the wave, unless live: a live site stays)."""
    permissions.require_enterprise_admin(user)
    locked = RolloutWave.objects.select_for_update(no_key=True).get(pk=wave.pk)
    keep = {s.pk for s in sites}
    leaving = list(
        Site.objects.select_for_update(no_key=True).filter(rollout_wave=locked).exclude(pk__in=keep).order_by("pk")
    )
    live = [s.code for s in leaving if s.stage == S.LIVE]
    if live:
        raise StateConflict(f"{', '.join(live)} went live in {locked.code}; a live site stays in its wave.")
    for site in leaving:
        site.rollout_wave = None
        set_history_user(site, user)
        site._change_reason = f"Left rollout wave {locked.code}"
        site.save(update_fields=["rollout_wave"])
    _assign(locked, list(sites), user)
    return locked


@dataclass
class SiteProgress:
    site: Site
    reached: dict[str, date] = field(default_factory=dict)  # stage -> the day (at the site) it was reached
    behind: list[str] = field(default_factory=list)  # the stages whose planned day passed without them

    @property
    def status(self) -> str:
        if self.site.stage == S.LIVE:
            return "done"
        return "behind" if self.behind else "on plan"


@dataclass
class WaveProgress:
    wave: RolloutWave
    sites: list[SiteProgress]

    @property
    def status(self) -> str:
        if self.sites and all(p.status == "done" for p in self.sites):
            return "done"
        return "behind" if any(p.status == "behind" for p in self.sites) else "on plan"

    @property
    def live(self) -> int:
        return sum(1 for p in self.sites if p.site.stage == S.LIVE)


def wave_progress(waves: list[RolloutWave], *, today: date | None = None) -> list[WaveProgress]:
    """Each wave's sites with the day they reached each stage and the planned days they missed (two queries)."""
    sites = list(Site.objects.filter(rollout_wave__in=waves).order_by("code"))
    reached: dict[int, dict[str, date]] = {}
    steps = SiteStageChange.objects.filter(site__in=sites).order_by("changed_at", "id")
    by_id = {s.pk: s for s in sites}
    for step in steps:
        reached.setdefault(step.site_id, {}).setdefault(
            step.to_stage, site_local_date(by_id[step.site_id], step.changed_at)
        )
    out = []
    for wave in waves:
        rows = []
        for site in (s for s in sites if s.rollout_wave_id == wave.pk):
            local_today = today or site_local_date(site)
            behind = [
                stage
                for attr, stage in PLANNED_STEPS
                if getattr(wave, attr) is not None
                and getattr(wave, attr) < local_today
                and _ORDER.get(site.stage, 0) < _ORDER[stage]
            ]
            rows.append(SiteProgress(site=site, reached=reached.get(site.pk, {}), behind=behind))
        out.append(WaveProgress(wave=wave, sites=rows))
    return out


def waves_for(user) -> list[RolloutWave]:
    """The waves with at least one site the user sees (every wave for an enterprise admin)."""
    qs = RolloutWave.objects.all()
    if not permissions.is_enterprise_admin(user):
        qs = qs.filter(sites__in=permissions.visible_sites(user)).distinct()
    return list(qs.order_by("planned_cutover", "code"))
