"""A site's roll-out lifecycle (issue 13): PLANNED -> CUTOVER -> PILOT -> LIVE, each step recorded
(``SiteStageChange``) with the gate results it was taken on.

- **Freeze window.** While a site is in CUTOVER its stock is frozen: the ledger refuses every stock-changing post
  and reservation at the site except the cutover postings (move kind OPENING), naming the freeze
  (:func:`refuse_frozen`), and allocation takes no stock there (orders wait, or ship from another site when the
  allocation rules allow it).
- **Gates.** A step may have gates: higher apps register a gate per target stage (:func:`register_stage_gate`;
  the cutover app registers the readiness scorecard for LIVE). Each gate returns criteria
  ``{key, label, status: GREEN|AMBER|RED, value, threshold, evidence}``. A step with a RED criterion is refused
  unless an enterprise admin records a waiver (``waiver_reason``); the criteria are stored with the step.
- **Hypercare.** Going LIVE starts hypercare for ``rollout.hypercare_days`` (site rule) days; it ends on its
  date or earlier with :func:`end_hypercare`.

Only these services write a site's stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import PermissionDenied, StateConflict, ValidationFailed
from governance import permissions
from governance.models import Site, SiteStageChange

from .history import set_history_user

S = Site.Stage
GREEN, AMBER, RED = "GREEN", "AMBER", "RED"

#: the steps a site may take: forward, and one step back (a cutover abandoned, a pilot sent back to cutover)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.PLANNED: (S.CUTOVER,),
    S.CUTOVER: (S.PILOT, S.PLANNED),
    S.PILOT: (S.LIVE, S.CUTOVER),
    S.LIVE: (),
}

Gate = Callable[[Site], list[dict]]
_gates: dict[str, list[Gate]] = {}


def register_stage_gate(to_stage: str, gate: Gate) -> None:
    """A check a step into ``to_stage`` must pass (apps register theirs in ``AppConfig.ready()``)."""
    if to_stage not in S.values:
        raise ValueError(f"unknown stage {to_stage!r}")
    if gate not in _gates.setdefault(to_stage, []):
        _gates[to_stage].append(gate)


def evaluate_gates(site: Site, to_stage: str) -> list[dict]:
    """Every criterion of the gates of a step into ``to_stage``, as evaluated now."""
    criteria: list[dict] = []
    for gate in _gates.get(to_stage, []):
        criteria.extend(gate(site))
    return criteria


def red(criteria: Iterable[dict]) -> list[dict]:
    """Pure: the criteria that block a step."""
    return [c for c in criteria if c.get("status") == RED]


def allowed_steps(stage: str) -> tuple[str, ...]:
    """Pure: the stages a site in ``stage`` may move to."""
    return TRANSITIONS.get(stage, ())


def frozen_sites(site_ids: Iterable[int]) -> list[Site]:
    """The sites among ``site_ids`` in their cutover freeze (one query)."""
    ids = {i for i in site_ids if i is not None}
    if not ids:
        return []
    return list(Site.objects.filter(pk__in=ids, stage=S.CUTOVER).only("pk", "code", "stage_changed_at"))


def freeze_message(site: Site) -> str:
    since = f" since {timezone.localtime(site.stage_changed_at):%Y-%m-%d %H:%M}" if site.stage_changed_at else ""
    return (
        f"{site.code} is in its cutover freeze{since}: its stock changes only through the cutover postings "
        "(opening balances) until the site moves to PILOT."
    )


def refuse_frozen(site_ids: Iterable[int]) -> None:
    """Raise StateConflict naming the freeze when a site among ``site_ids`` is in CUTOVER."""
    frozen = frozen_sites(site_ids)
    if frozen:
        raise StateConflict(freeze_message(sorted(frozen, key=lambda s: s.code)[0]))


def _require_may_step(user, site: Site, to_stage: str) -> None:
    if user is None:
        return
    if permissions.is_enterprise_admin(user):
        return
    if to_stage == S.LIVE:
        raise PermissionDenied("Only an enterprise admin takes a site live (the go / no-go decision).")
    permissions.require(user, "site.manage", site, what="site")


@transaction.atomic
def change_stage(*, user, site: Site, to_stage: str, note: str = "", waiver_reason: str = "") -> SiteStageChange:
    """Move ``site`` to ``to_stage`` after its gates; returns the recorded step.

    Refused (nothing changes): an unknown stage or a step not in TRANSITIONS (StateConflict), a user who may not
    (site admins for every step but LIVE, enterprise admins for all), a RED gate criterion without a waiver, a
    waiver by anyone but an enterprise admin."""
    if to_stage not in S.values:
        raise ValidationFailed(
            f"Unknown stage {to_stage!r}.",
            errors=[{"field": "stage", "code": "invalid_choice", "message": f"One of {', '.join(S.values)}."}],
        )
    locked = Site.objects.select_for_update(no_key=True).get(pk=site.pk)
    _require_may_step(user, locked, to_stage)
    if to_stage not in allowed_steps(locked.stage):
        steps = ", ".join(allowed_steps(locked.stage)) or "none"
        raise StateConflict(f"{locked.code} is {locked.stage}: it cannot move to {to_stage} (next: {steps}).")
    criteria = evaluate_gates(locked, to_stage)
    blocking = red(criteria)
    waiver_reason = (waiver_reason or "").strip()
    if blocking and not waiver_reason:
        raise StateConflict(
            f"{locked.code} cannot move to {to_stage}: "
            + "; ".join(f"{c['label']} ({c.get('value')}, needs {c.get('threshold')})" for c in blocking)
            + ". Fix them, or an enterprise admin records a waiver."
        )
    if waiver_reason and not (user is not None and permissions.is_enterprise_admin(user)):
        raise PermissionDenied("Only an enterprise admin may waive a red gate.")
    now = timezone.now()
    step = SiteStageChange.objects.create(
        site=locked,
        from_stage=locked.stage,
        to_stage=to_stage,
        changed_at=now,
        changed_by=user if getattr(user, "is_authenticated", False) else None,
        note=(note or "")[:500],
        scorecard=criteria,
        waived_by=user if blocking and getattr(user, "is_authenticated", False) else None,
        waiver_reason=waiver_reason[:500] if blocking else "",
    )
    locked.stage = to_stage
    locked.stage_changed_at = now
    if to_stage == S.LIVE:
        from governance.services import get_rule
        from governance.services.sites import site_local_date

        days = int(get_rule("rollout.hypercare_days", locked.pk))
        locked.hypercare_ends_on = site_local_date(locked, now) + timedelta(days=days) if days else None
    else:
        locked.hypercare_ends_on = None
    set_history_user(locked, user)
    locked._change_reason = f"Stage {step.from_stage} -> {to_stage}" + (" (gate waived)" if blocking else "")
    locked.save(update_fields=["stage", "stage_changed_at", "hypercare_ends_on"])
    return step


@transaction.atomic
def end_hypercare(*, user, site: Site, note: str = "") -> Site:
    """End a live site's hypercare today (the command centre stops following it)."""
    locked = Site.objects.select_for_update(no_key=True).get(pk=site.pk)
    _require_may_step(user, locked, S.PILOT)  # a site admin may end it
    if locked.stage != S.LIVE or locked.hypercare_ends_on is None:
        raise StateConflict(f"{locked.code} is not in hypercare.")
    from governance.services.sites import site_local_date

    locked.hypercare_ends_on = site_local_date(locked)
    set_history_user(locked, user)
    locked._change_reason = ("Hypercare ended. " + (note or "")).strip()[:100]
    locked.save(update_fields=["hypercare_ends_on"])
    return locked


def in_hypercare(site: Site, today=None) -> bool:
    """A live site whose hypercare has not ended (today at the site, unless given)."""
    if site.stage != S.LIVE or site.hypercare_ends_on is None:
        return False
    from governance.services.sites import site_local_date

    return (today or site_local_date(site)) <= site.hypercare_ends_on
