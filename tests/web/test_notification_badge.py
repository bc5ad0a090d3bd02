"""The menu's Notifications entry carries a badge with the signed-in user's unread in-app notifications: one
COUNT per page, gone when everything is read."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import Notification
from governance.services.notifications import unread_notification_count

pytestmark = pytest.mark.django_db

BADGE = re.compile(r'<span class="badge" data-testid="unread-notifications" title="(\d+) unread">(\d+)</span>')


def _tell(users, n, prefix="event"):
    from governance.services.notifications import notify

    for i in range(n):
        notify(users=users, event_key=f"{prefix}:{i}", title=f"Something {prefix} {i}")


def _badge(client, url=None) -> int | None:
    page = client.get(url or reverse("web:order-list")).content.decode()
    found = BADGE.findall(page)
    assert len(found) <= 1
    if not found:
        return None
    title, shown = found[0]
    assert title == shown
    # it sits inside the Notifications menu link
    link = page[page.index(f'href="{reverse("web:notification-list")}"') :]
    assert link.index('data-testid="unread-notifications"') < link.index("</a>")
    return int(shown)


def test_the_badge_counts_the_users_unread_in_app_notifications(client, boss, make_user, site):
    boss.email = "boss@example.com"
    boss.save()
    other = make_user("supervisor", site, username="other")
    _tell([boss, other], 3)  # boss gets 3 in-app rows and 3 email rows
    _tell([other], 2, prefix="theirs")
    client.force_login(boss)
    assert unread_notification_count(boss) == 3
    assert _badge(client) == 3
    assert _badge(client, reverse("web:notification-list")) == 3


def test_the_badge_goes_down_as_notifications_are_read_and_disappears(client, boss):
    _tell([boss], 2)
    client.force_login(boss)
    first = Notification.objects.filter(user=boss, channel="IN_APP").first()
    client.post(reverse("web:notification-read", args=[first.pk]))
    assert _badge(client) == 1
    client.post(reverse("web:notification-read-all"))
    assert _badge(client) is None
    assert _badge(client, reverse("web:notification-list")) is None
    assert unread_notification_count(boss) == 0


def test_no_badge_without_unread_notifications_or_signed_out(client, boss):
    client.force_login(boss)
    assert _badge(client) is None
    client.logout()
    _tell([boss], 1)
    page = client.get(reverse("web:login")).content.decode()
    assert 'data-testid="unread-notifications"' not in page
    assert unread_notification_count(None) == 0


def _notification_queries(client, url, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return [q["sql"] for q in captured.captured_queries if "governance_notification" in q["sql"]]


def test_one_count_query_per_page_and_none_for_fragments(client, boss):
    _tell([boss], 4)
    client.force_login(boss)
    queries = _notification_queries(client, reverse("web:order-list"))
    assert len(queries) == 1 and "COUNT(*)" in queries[0]
    assert len(_notification_queries(client, reverse("web:dashboard"))) == 1  # the full dashboard page: one more
    # the notifications page counts its unread once, for its heading and the badge; the other COUNT pages the list
    page_counts = _notification_queries(client, reverse("web:notification-list"))
    assert len([q for q in page_counts if "COUNT(*)" in q]) == 2
    # an htmx panel refresh does not draw the menu and does not count
    assert _notification_queries(client, reverse("web:dashboard"), HTTP_HX_REQUEST="true") == []
