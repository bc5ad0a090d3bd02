"""KpiSnapshot admin: read only, rows limited to the sites (and the network) the staff user may see."""

from datetime import date

import pytest
from django.contrib.auth.models import Permission

from reporting.models import KpiSnapshot

pytestmark = pytest.mark.django_db
LIST = "/admin/reporting/kpisnapshot/"


@pytest.fixture
def snapshots(site, other_site):
    return [
        KpiSnapshot.objects.create(site=s, key="order_fill_rate", date=date(2026, 1, 12), value=1)
        for s in (site, other_site, None)
    ]


def _staff(make_user, role, site):
    user = make_user(role, site)
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_kpisnapshot"))
    return user


def test_enterprise_admin_sees_every_snapshot_read_only(client, admin_user, snapshots):
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    page = client.get(LIST)
    assert page.status_code == 200 and page.content.decode().count("order_fill_rate") >= 3
    assert client.get(f"{LIST}add/").status_code == 403
    change = client.get(f"{LIST}{snapshots[0].pk}/change/")
    assert change.status_code == 200 and 'name="value"' not in change.content.decode()
    assert client.post(f"{LIST}{snapshots[0].pk}/delete/", {"post": "yes"}).status_code == 403
    assert KpiSnapshot.objects.count() == 3


def test_site_staff_see_their_site_and_admins_of_a_site_the_network(client, make_user, site, snapshots):
    supervisor = _staff(make_user, "supervisor", site)
    client.force_login(supervisor)
    assert list(client.get(LIST).context["cl"].queryset) == [snapshots[0]]
    assert client.get(f"{LIST}{snapshots[1].pk}/change/").status_code == 404  # not visible: not found

    site_admin = _staff(make_user, "admin", site)
    client.force_login(site_admin)
    assert set(client.get(LIST).context["cl"].queryset) == {snapshots[0], snapshots[2]}
