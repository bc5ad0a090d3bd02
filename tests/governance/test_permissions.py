"""The one place that decides what a user may see and do (governance.permissions)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from core.errors import NotFound, PermissionDenied
from governance import permissions
from governance.models import Site
from governance.services import add_membership
from inventory.models import Location
from tests.factories import LocationFactory, SiteFactory

pytestmark = pytest.mark.django_db


def test_a_member_sees_only_the_sites_they_belong_to(site, other_site, supervisor):
    assert permissions.site_ids_for(supervisor) == {site.pk}
    assert list(permissions.visible_sites(supervisor)) == [site]
    assert permissions.can_see_site(supervisor, site)
    assert not permissions.can_see_site(supervisor, other_site.pk)


def test_site_ids_for_an_action_lists_only_sites_where_a_role_allows_it(make_user, site, other_site):
    user = make_user("operator", site)
    add_membership(user=make_user(superuser=True), member_username=user.username, site=other_site, role="auditor")
    permissions.forget_cached_roles(user)

    assert permissions.site_ids_for(user, "view") == {site.pk, other_site.pk}
    assert permissions.site_ids_for(user, "inventory.move") == {site.pk}
    assert permissions.site_ids_for(user, "approval.decide") == set()


def test_roles_of_several_memberships_at_one_site_add_up(make_user, site):
    user = make_user(["operator", "coordinator"], site)
    assert permissions.roles_at(user, site) == {"operator", "coordinator"}
    assert permissions.can(user, "inventory.move", site)
    assert permissions.can(user, "orders.manage", site)
    assert not permissions.can(user, "approval.decide", site)


def test_restrict_limits_a_queryset_to_the_users_sites(site, other_site, supervisor):
    LocationFactory(site=site, code="MINE")
    LocationFactory(site=other_site, code="THEIRS")
    visible = permissions.restrict(Location.objects.all(), supervisor)
    assert set(visible.values_list("site_id", flat=True)) == {site.pk}
    assert visible.filter(code="THEIRS").count() == 0


def test_restrict_by_action_and_through_a_related_site_field(site, other_site, make_user):
    user = make_user("auditor", site)
    LocationFactory(site=site, code="MINE")
    assert permissions.restrict(Location.objects.all(), user, "location.manage").count() == 0
    assert permissions.restrict(Location.objects.all(), user, "view").filter(code="MINE").count() == 1
    zone_locations = permissions.restrict(Location.objects.all(), user, site_field="site__pk")
    assert set(zone_locations.values_list("site_id", flat=True)) == {site.pk}


def test_require_reports_a_site_the_user_cannot_see_as_not_found(other_site, supervisor):
    with pytest.raises(NotFound, match="No such location"):
        permissions.require(supervisor, "inventory.move", other_site, what="location")


def test_require_reports_a_missing_role_at_a_visible_site_as_permission_denied(site, make_user):
    auditor = make_user("auditor", site)
    with pytest.raises(PermissionDenied, match="inventory.move"):
        permissions.require(auditor, "inventory.move", site)
    permissions.require(auditor, "view", site)  # seeing is allowed


def test_a_superuser_sees_and_may_do_everything_everywhere(site, other_site, admin_user):
    assert permissions.site_ids_for(admin_user) is None
    assert permissions.site_ids_for(admin_user, "site.manage") is None
    assert set(permissions.visible_sites(admin_user)) == {site, other_site}
    assert permissions.restrict(Site.objects.all(), admin_user, site_field="pk").count() == 2
    permissions.require(admin_user, "site.manage", other_site)
    assert permissions.can_manage_master_data(admin_user)
    assert permissions.roles_at(admin_user, site) == set(permissions.ALL_ROLES)


def test_an_inactive_site_is_invisible_to_its_members(site, supervisor):
    site.active = False
    site.save()
    permissions.forget_cached_roles(supervisor)

    assert permissions.site_ids_for(supervisor) == set()
    assert permissions.restrict(Location.objects.filter(site=site), supervisor).count() == 0
    with pytest.raises(NotFound):
        permissions.require(supervisor, "view", site)


def test_an_inactive_user_sees_nothing_and_may_do_nothing(make_user, site):
    planner = make_user(["planner", "supervisor"], site)
    planner.is_active = False
    planner.save()

    assert permissions.site_ids_for(planner) == set()
    assert permissions.restrict(Location.objects.filter(site=site), planner).count() == 0
    assert permissions.roles_at(planner, site) == set()
    assert not permissions.can_manage_master_data(planner)
    with pytest.raises(NotFound):
        permissions.require(planner, "view", site)


def test_an_inactive_superuser_is_not_an_enterprise_admin(admin_user, site):
    admin_user.is_active = False
    admin_user.save()
    assert not permissions.is_enterprise_admin(admin_user)
    assert permissions.site_ids_for(admin_user) == set()
    assert not permissions.can_manage_master_data(admin_user)


def test_an_anonymous_user_sees_nothing(site):
    anonymous = AnonymousUser()
    assert permissions.site_ids_for(anonymous) == set()
    assert permissions.site_ids_for(None) == set()
    assert permissions.restrict(Location.objects.filter(site=site), anonymous).count() == 0
    assert not permissions.can_manage_master_data(anonymous)
    with pytest.raises(NotFound):
        permissions.require(anonymous, "view", site)


def test_only_admins_and_planners_maintain_master_data(make_user, site):
    assert permissions.can_manage_master_data(make_user("planner", site))
    assert permissions.can_manage_master_data(make_user("admin", site))
    supervisor = make_user("supervisor", site)
    assert not permissions.can_manage_master_data(supervisor)
    with pytest.raises(PermissionDenied):
        permissions.require_master_data(supervisor)


def test_a_new_membership_takes_effect_for_the_member_at_once(make_user, site, admin_user):
    user = make_user("operator", SiteFactory(code="ELSEWHERE"))
    assert not permissions.can_see_site(user, site)  # the roles are now cached on the user
    add_membership(user=admin_user, member_username=user.username, site=site, role="operator")
    # the service forgets the cache of the member object it loaded; a fresh copy of the user sees the site
    fresh = type(user).objects.get(pk=user.pk)
    assert permissions.can_see_site(fresh, site)
