from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import RuleViolation, StateConflict
from core.validation import field_error
from governance import permissions
from governance.models import ApprovalRequest, RuleChange, Site, SiteRuleValue
from governance.rules import ENTERPRISE, RuleDefinition, definition

from .approvals import ApprovalHandler, approval_kind, register_approval_handler, request_approval
from .history import set_history_user

#: the approval kind of a requested change of a control rule's site override
RULE_CHANGE_KIND = approval_kind("RULE_CHANGE", _("Control rule change"))


def get_rule(key: str, site: Site | int | None = None) -> Any:
    """The effective value of rule ``key`` at ``site``: the site's override, else the enterprise value, else
    the default declared in code. The one function services use to read policy."""
    defn = definition(key)
    site_id = site if (isinstance(site, int) or site is None) else site.pk
    rows = {
        row_site: value
        for row_site, value in SiteRuleValue.objects.filter(key=key)
        .filter(site_id__in=[site_id] if site_id is not None else [])
        .values_list("site_id", "value")
    }
    if site_id is not None and site_id in rows and defn.standardization != ENTERPRISE:
        return defn.from_json(rows[site_id])
    enterprise = SiteRuleValue.objects.filter(key=key, site__isnull=True).values_list("value", flat=True).first()
    if enterprise is not None:
        return defn.from_json(enterprise)
    return defn.default


def get_rule_for_sites(key: str, site_ids: list[int]) -> dict[int, Any]:
    """The effective value of ``key`` at each of ``site_ids``, in one query (for set-based services)."""
    defn = definition(key)
    rows = dict(SiteRuleValue.objects.filter(key=key).filter(site_id__in=site_ids).values_list("site_id", "value"))
    enterprise = SiteRuleValue.objects.filter(key=key, site__isnull=True).values_list("value", flat=True).first()
    base = defn.from_json(enterprise) if enterprise is not None else defn.default
    if defn.standardization == ENTERPRISE:
        return {site_id: base for site_id in site_ids}
    return {site_id: defn.from_json(rows[site_id]) if site_id in rows else base for site_id in site_ids}


def effective_rules(site: Site | None) -> list[dict]:
    """Every declared rule with its enterprise and effective value at ``site`` (None: enterprise level)."""
    from governance.rules import REGISTRY

    stored: dict[tuple[str, int | None], SiteRuleValue] = {
        (row.key, row.site_id): row for row in SiteRuleValue.objects.filter(site_id__in=[site.pk] if site else [])
    }
    stored.update({(row.key, None): row for row in SiteRuleValue.objects.filter(site__isnull=True)})
    out = []
    for key, defn in sorted(REGISTRY.items()):
        enterprise_row = stored.get((key, None))
        enterprise_value = defn.from_json(enterprise_row.value) if enterprise_row else defn.default
        local_row = stored.get((key, site.pk)) if site else None
        overridden = bool(local_row) and defn.standardization != ENTERPRISE
        value = defn.from_json(local_row.value) if overridden else enterprise_value
        out.append(
            {
                "key": key,
                "site": site,
                "type": defn.type,
                "standardization": defn.standardization,
                "description": defn.description,
                "default": defn.default,
                "enterprise_value": enterprise_value,
                "value": value,
                "overridden": overridden and value != enterprise_value,
                "has_override": overridden,
                "reason": (local_row.reason if overridden else (enterprise_row.reason if enterprise_row else "")),
                "min_value": defn.min_value,
                "max_value": defn.max_value,
                "choices": list(defn.choices),
                "unit": defn.unit,
            }
        )
    return out


def _needs_second_person(defn: RuleDefinition, site: Site | None) -> bool:
    """A control rule (an approval value, a tolerance ...) changes only after another person approves: a site
    override by another admin of the site, the enterprise value by another enterprise admin (see README,
    Governance)."""
    return defn.control


@transaction.atomic
def set_rule_value(*, user, key: str, value: Any, reason: str, site: Site | None = None) -> SiteRuleValue | RuleChange:
    """Set the enterprise value (``site`` None) or a site's local override of a rule.

    Validated against the rule's type and bounds; a site override of an
    ENTERPRISE rule is refused; a reason is required. Enterprise admins set
    enterprise values; a site's admins may set its local overrides.

    A site override of a control rule (``RuleDefinition.control``) is not set here: a pending
    :class:`RuleChange` is returned with an approval request of kind RULE_CHANGE, and the value changes only
    when another person who may manage the site approves it (:func:`decide_approval`). Anything else returns
    the stored :class:`SiteRuleValue`.
    """
    defn = definition(key)
    if site is None:
        permissions.require_enterprise_admin(user)
    else:
        permissions.require(user, "site.manage", site, what="site")
        if defn.standardization == ENTERPRISE:
            raise RuleViolation(
                f"{key} is standardized at enterprise level; no site may differ.", code="enterprise_rule", field="site"
            )
    parsed = defn.parse(value)
    if not (reason or "").strip():
        raise field_error("reason", "A reason is required for every rule change.", "required")
    if _needs_second_person(defn, site):
        return _request_change(
            user=user, defn=defn, site=site, action=RuleChange.Action.SET, value=defn.to_json(parsed), reason=reason
        )
    return _write(user=user, key=key, site=site, stored=defn.to_json(parsed), reason=reason.strip())


def _write(*, user, key: str, site: Site | None, stored: Any, reason: str, approved_by=None) -> SiteRuleValue:
    row = SiteRuleValue.objects.select_for_update(no_key=True).filter(key=key, site=site).order_by("pk").first()
    if row is None:
        row = SiteRuleValue(key=key, site=site)
    row.value = stored
    row.reason = reason
    row.updated_by = user if getattr(user, "is_authenticated", False) else None
    row.approved_by = approved_by
    set_history_user(row, approved_by or user)
    row.save()
    return row


def _delete(*, user, key: str, site: Site | None, approved_by=None) -> bool:
    row = SiteRuleValue.objects.select_for_update(no_key=True).filter(key=key, site=site).order_by("pk").first()
    if row is None:
        return False
    # the deletion's history row names who asked (updated_by) and who approved (approved_by, history user)
    row.updated_by = user if getattr(user, "is_authenticated", False) else None
    row.approved_by = approved_by
    set_history_user(row, approved_by or user)
    row.delete()
    return True


@transaction.atomic
def clear_rule_value(*, user, key: str, site: Site | None = None) -> bool | RuleChange:
    """Remove a site override (or the enterprise value), so the next level applies again.

    Removing a site override of a control rule raises or lowers its effective value just as setting one does:
    it returns a pending :class:`RuleChange` (approval of kind RULE_CHANGE) and the override stays until another
    person approves. Otherwise True when a value was removed, False when there was none."""
    defn = definition(key)
    if site is None:
        permissions.require_enterprise_admin(user)
    else:
        permissions.require(user, "site.manage", site, what="site")
    if _needs_second_person(defn, site):
        if not SiteRuleValue.objects.filter(key=key, site=site).exists():
            return False
        return _request_change(
            user=user, defn=defn, site=site, action=RuleChange.Action.CLEAR, value=None, reason="Override removed."
        )
    return _delete(user=user, key=key, site=site)


def _display(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _request_change(
    *, user, defn: RuleDefinition, site: Site | None, action: str, value: Any, reason: str
) -> RuleChange:
    current = get_rule(defn.key, site)
    if action == RuleChange.Action.SET:
        proposed = _display(defn.from_json(value))
    elif site is None:
        proposed = f"(the declared default {_display(defn.default)})"
    else:
        proposed = f"(enterprise value {_display(get_rule(defn.key, None))})"
    where = site.code if site is not None else "enterprise level"
    change = RuleChange(
        key=defn.key,
        site=site,
        action=action,
        value=value,
        previous_value=defn.to_json(current),
        reason=reason.strip(),
        requested_by=user,
    )
    set_history_user(change, user)
    try:
        with transaction.atomic():
            change.save()
    except IntegrityError:
        raise StateConflict(
            f"A change of {defn.key} at {where} already waits for approval; decide or reject it first."
        ) from None
    what = f"set to {proposed}" if action == RuleChange.Action.SET else f"override removed, {proposed} applies"
    request_approval(
        kind=RULE_CHANGE_KIND,
        site=site,
        subject=change,
        requested_by=user,
        reason=f"{defn.key} at {where}: {what} (now {_display(current)}). {change.reason}"[:2000],
        rule_key=defn.key,
        threshold=_display(current)[:60],
        value=proposed[:60],
    )
    return change


def _locked_change(approval: ApprovalRequest) -> RuleChange:
    change = (
        RuleChange.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site")
        .get(pk=approval.object_id)
    )
    if change.status != RuleChange.Status.PENDING:
        raise StateConflict(f"This rule change is already {change.get_status_display().lower()}.")
    return change


def _close(change: RuleChange, user, status: str) -> None:
    change.status = status
    change.decided_by = user
    change.decided_at = timezone.now()
    set_history_user(change, user)
    change.save()


def _on_change_approved(approval: ApprovalRequest, user) -> None:
    """Apply a requested change of a control rule: checked again (type, bounds, the requester still admin of
    the site), written with both names (``updated_by`` asked, ``approved_by`` approved; history user)."""
    change = _locked_change(approval)
    defn = definition(change.key)
    requester = change.requested_by
    permissions.forget_cached_roles(requester)
    if change.site_id is None:
        requester.refresh_from_db(fields=["is_superuser", "is_active"])
        if not permissions.is_enterprise_admin(requester):
            raise StateConflict(f"{requester} is no longer an enterprise admin; the change cannot apply.")
    elif not permissions.can(requester, "site.manage", change.site_id):
        raise StateConflict(f"{requester} no longer manages {change.site.code}; the change cannot apply.")
    if change.action == RuleChange.Action.SET:
        parsed = defn.parse(defn.from_json(change.value))
        _write(
            user=requester,
            key=change.key,
            site=change.site,
            stored=defn.to_json(parsed),
            reason=change.reason,
            approved_by=user,
        )
    else:
        _delete(user=requester, key=change.key, site=change.site, approved_by=user)
    _close(change, user, RuleChange.Status.APPLIED)


def _on_change_rejected(approval: ApprovalRequest, user) -> None:
    _close(_locked_change(approval), user, RuleChange.Status.REJECTED)


def register_handlers() -> None:
    register_approval_handler(
        RULE_CHANGE_KIND,
        ApprovalHandler(on_approved=_on_change_approved, on_rejected=_on_change_rejected, action="site.manage"),
    )
