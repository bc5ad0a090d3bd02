from __future__ import annotations

from typing import Any

from django.db import transaction

from distribution_erp.errors import RuleViolation
from distribution_erp.validation import field_error
from governance import permissions
from governance.models import Site, SiteRuleValue
from governance.rules import ENTERPRISE, definition

from .history import set_history_user


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


@transaction.atomic
def set_rule_value(*, user, key: str, value: Any, reason: str, site: Site | None = None) -> SiteRuleValue:
    """Set the enterprise value (``site`` None) or a site's local override of a rule.

    Validated against the rule's type and bounds; a site override of an
    ENTERPRISE rule is refused; a reason is required. Enterprise admins set
    enterprise values; a site's admins may set its local overrides.
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
    row = SiteRuleValue.objects.select_for_update().filter(key=key, site=site).order_by("pk").first()
    if row is None:
        row = SiteRuleValue(key=key, site=site)
    row.value = defn.to_json(parsed)
    row.reason = reason.strip()
    row.updated_by = user if getattr(user, "is_authenticated", False) else None
    set_history_user(row, user)
    row.save()
    return row


@transaction.atomic
def clear_rule_value(*, user, key: str, site: Site | None = None) -> bool:
    """Remove a site override (or the enterprise value), so the next level applies again."""
    definition(key)
    if site is None:
        permissions.require_enterprise_admin(user)
    else:
        permissions.require(user, "site.manage", site, what="site")
    row = SiteRuleValue.objects.select_for_update().filter(key=key, site=site).order_by("pk").first()
    if row is None:
        return False
    set_history_user(row, user)
    row.delete()
    return True
