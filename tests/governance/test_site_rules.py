"""The site rules register: typed values, bounds, enterprise standardization, precedence and history."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from governance.models import SiteRuleValue
from governance.rules import REGISTRY
from governance.services import clear_rule_value, get_rule, set_rule_value
from governance.services.rules import effective_rules, get_rule_for_sites
from tests.factories import set_rule_now

pytestmark = pytest.mark.django_db

APPROVAL = "inventory.adjustment_approval_value"  # decimal, LOCAL, 0..1,000,000
GRACE = "receiving.overdue_grace_days"  # int, LOCAL, 0..60
NOTE = "inventory.adjustment_note_required"  # bool, LOCAL
ACTION = "receiving.over_receipt_action"  # choice REFUSE/HOLD, LOCAL
CREDIT = "orders.credit_check_enabled"  # bool, ENTERPRISE


@pytest.fixture
def site_admin(make_user, site):
    return make_user("admin", site, username="site-admin")


def _error_codes(exc_info) -> list[str]:
    return [e["code"] for e in exc_info.value.errors]


def test_rules_the_inventory_services_need_are_declared():
    assert REGISTRY[APPROVAL].type == "decimal"
    assert REGISTRY["inventory.negative_stock_allowed"].standardization == "ENTERPRISE"


def test_get_rule_returns_the_declared_default_when_nobody_set_a_value(site):
    assert get_rule(GRACE, site) == 1
    assert get_rule(NOTE, site) is True
    assert get_rule(ACTION, site) == "HOLD"


def test_get_rule_returns_a_decimal_for_decimal_rules(site, admin_user):
    assert get_rule(APPROVAL, site) == Decimal("500.00")
    assert isinstance(get_rule(APPROVAL, site), Decimal)
    set_rule_now(user=admin_user, key=APPROVAL, value="750.50", reason="larger pallets", site=site)
    value = get_rule(APPROVAL, site)
    assert value == Decimal("750.50")
    assert isinstance(value, Decimal)
    assert SiteRuleValue.objects.get(key=APPROVAL, site=site).value == "750.50"  # stored as a string, never a float


def test_site_override_wins_over_the_enterprise_value_only_at_that_site(site, other_site, admin_user):
    set_rule_value(user=admin_user, key=GRACE, value=3, reason="enterprise policy")
    set_rule_value(user=admin_user, key=GRACE, value=10, reason="remote site", site=site)

    assert get_rule(GRACE, site) == 10
    assert get_rule(GRACE, site.pk) == 10
    assert get_rule(GRACE, other_site) == 3
    assert get_rule(GRACE) == 3
    assert get_rule_for_sites(GRACE, [site.pk, other_site.pk]) == {site.pk: 10, other_site.pk: 3}


def test_effective_rules_show_the_enterprise_value_and_which_site_deviates(site, admin_user):
    set_rule_value(user=admin_user, key=GRACE, value=10, reason="remote site", site=site)
    rows = {row["key"]: row for row in effective_rules(site)}
    assert set(rows) == set(REGISTRY)
    assert (rows[GRACE]["value"], rows[GRACE]["enterprise_value"], rows[GRACE]["overridden"]) == (10, 1, True)
    assert rows[GRACE]["reason"] == "remote site"
    assert rows[NOTE]["overridden"] is False


def test_clearing_a_site_override_falls_back_to_the_enterprise_value(site, admin_user):
    set_rule_value(user=admin_user, key=GRACE, value=3, reason="enterprise policy")
    set_rule_value(user=admin_user, key=GRACE, value=10, reason="remote site", site=site)

    assert clear_rule_value(user=admin_user, key=GRACE, site=site) is True

    assert get_rule(GRACE, site) == 3
    assert clear_rule_value(user=admin_user, key=GRACE, site=site) is False  # nothing left to clear
    assert clear_rule_value(user=admin_user, key=GRACE) is True
    assert get_rule(GRACE, site) == 1  # back to the default declared in code


def test_setting_a_rule_again_updates_the_one_row_of_that_level(site, admin_user):
    set_rule_value(user=admin_user, key=GRACE, value=2, reason="first", site=site)
    set_rule_value(user=admin_user, key=GRACE, value=4, reason="second", site=site)
    row = SiteRuleValue.objects.get(key=GRACE, site=site)
    assert (row.value, row.reason) == (4, "second")
    assert SiteRuleValue.objects.filter(key=GRACE).count() == 1


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        (GRACE, 5, 5),
        (GRACE, "7", 7),
        (GRACE, 0, 0),
        (GRACE, 60, 60),
        (APPROVAL, "0", Decimal("0")),
        (APPROVAL, 1000000, Decimal("1000000")),
        (APPROVAL, "12.5", Decimal("12.5")),
        (NOTE, False, False),
        (NOTE, "true", True),
        (NOTE, "no", False),
        (ACTION, "REFUSE", "REFUSE"),
    ],
)
def test_valid_values_are_stored_in_the_rules_type(site, admin_user, key, raw, expected):
    set_rule_now(user=admin_user, key=key, value=raw, reason="tuning", site=site)
    assert get_rule(key, site) == expected
    assert type(get_rule(key, site)) is type(expected)


@pytest.mark.parametrize(
    ("key", "raw", "code"),
    [
        (GRACE, "three", "invalid_type"),
        (GRACE, 2.5, "invalid_type"),
        (GRACE, "2.5", "invalid_type"),
        (GRACE, True, "invalid_type"),
        (GRACE, Decimal("2.5"), "invalid_type"),
        (GRACE, Decimal("Infinity"), "invalid_type"),
        (GRACE, None, "invalid_type"),
        (GRACE, -1, "below_minimum"),
        (GRACE, 61, "above_maximum"),
        (APPROVAL, "abc", "invalid_type"),
        (APPROVAL, "NaN", "invalid_type"),
        (APPROVAL, "Infinity", "invalid_type"),
        (APPROVAL, True, "invalid_type"),
        (APPROVAL, "-0.01", "below_minimum"),
        (APPROVAL, "1000000.01", "above_maximum"),
        (NOTE, "maybe", "invalid_type"),
        (NOTE, 1, "invalid_type"),
        (NOTE, None, "invalid_type"),
        (ACTION, "DISCARD", "not_allowed"),
        (ACTION, "hold", "not_allowed"),
    ],
)
def test_a_value_of_the_wrong_type_or_out_of_bounds_is_refused_and_nothing_is_stored(site, admin_user, key, raw, code):
    with pytest.raises(ValidationFailed) as exc_info:
        set_rule_value(user=admin_user, key=key, value=raw, reason="tuning", site=site)
    assert _error_codes(exc_info) == [code]
    assert not SiteRuleValue.objects.exists()
    assert get_rule(key, site) == REGISTRY[key].default


def test_an_unknown_rule_is_refused(site, admin_user):
    with pytest.raises(ValidationFailed) as exc_info:
        set_rule_value(user=admin_user, key="inventory.no_such_rule", value=1, reason="x", site=site)
    assert _error_codes(exc_info) == ["unknown_rule"]
    with pytest.raises(ValidationFailed):
        get_rule("inventory.no_such_rule", site)


def test_a_site_may_not_override_an_enterprise_rule(site, admin_user):
    with pytest.raises(RuleViolation) as exc_info:
        set_rule_value(user=admin_user, key=CREDIT, value=False, reason="we trust them", site=site)
    assert exc_info.value.code == "enterprise_rule"
    assert not SiteRuleValue.objects.exists()


def test_an_enterprise_rule_reads_the_enterprise_value_even_if_a_site_row_exists(site, admin_user):
    set_rule_value(user=admin_user, key=CREDIT, value=False, reason="enterprise decision")
    SiteRuleValue.objects.create(key=CREDIT, site=site, value=True, reason="legacy row")  # e.g. loaded by hand
    assert get_rule(CREDIT, site) is False
    assert get_rule_for_sites(CREDIT, [site.pk]) == {site.pk: False}


def test_negative_stock_can_never_be_allowed(admin_user):
    with pytest.raises(ValidationFailed) as exc_info:
        set_rule_value(user=admin_user, key="inventory.negative_stock_allowed", value=True, reason="please")
    assert _error_codes(exc_info) == ["not_allowed"]


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_rule_change_needs_a_reason(site, admin_user, reason):
    with pytest.raises(ValidationFailed) as exc_info:
        set_rule_value(user=admin_user, key=GRACE, value=3, reason=reason, site=site)
    assert _error_codes(exc_info) == ["required"]
    assert not SiteRuleValue.objects.exists()


def test_a_site_admin_may_override_rules_of_their_own_site(site, site_admin):
    row = set_rule_value(user=site_admin, key=GRACE, value=5, reason="slow carriers", site=site)
    assert row.updated_by == site_admin
    assert get_rule(GRACE, site) == 5


def test_a_supervisor_may_not_change_site_rules(site, supervisor):
    with pytest.raises(PermissionDenied):
        set_rule_value(user=supervisor, key=GRACE, value=5, reason="slow carriers", site=site)
    with pytest.raises(PermissionDenied):
        set_rule_value(user=supervisor, key=GRACE, value=5, reason="slow carriers")
    assert not SiteRuleValue.objects.exists()


def test_a_site_admin_may_not_set_enterprise_values_or_other_sites_rules(site, other_site, site_admin):
    with pytest.raises(PermissionDenied):
        set_rule_value(user=site_admin, key=GRACE, value=5, reason="everyone", site=None)
    with pytest.raises(NotFound):
        set_rule_value(user=site_admin, key=GRACE, value=5, reason="theirs", site=other_site)
    assert not SiteRuleValue.objects.exists()


def test_only_admins_may_clear_a_rule_value(site, admin_user, supervisor, outsider):
    set_rule_value(user=admin_user, key=GRACE, value=5, reason="slow carriers", site=site)
    with pytest.raises(PermissionDenied):
        clear_rule_value(user=supervisor, key=GRACE, site=site)
    with pytest.raises(NotFound):
        clear_rule_value(user=outsider, key=GRACE, site=site)
    with pytest.raises(PermissionDenied):
        clear_rule_value(user=supervisor, key=GRACE)
    assert get_rule(GRACE, site) == 5


def test_every_rule_change_is_in_history_with_the_acting_user(site, site_admin, admin_user):
    set_rule_value(user=site_admin, key=GRACE, value=5, reason="slow carriers", site=site)
    set_rule_value(user=admin_user, key=GRACE, value=6, reason="slower carriers", site=site)
    clear_rule_value(user=admin_user, key=GRACE, site=site)

    history = list(SiteRuleValue.history.filter(key=GRACE).order_by("history_date", "history_id"))
    assert [(h.history_type, h.value, h.reason, h.history_user) for h in history] == [
        ("+", 5, "slow carriers", site_admin),
        ("~", 6, "slower carriers", admin_user),
        ("-", 6, "slower carriers", admin_user),
    ]
