"""Notifications: in-app messages per user and their email delivery (immediate for critical, else a digest).

Every notification is about one event (``event_key``, e.g. ``exception:12:level:1``). The unique constraint
on (user, event key, channel) and ``INSERT ... ON CONFLICT DO NOTHING`` mean nobody is told twice about the
same event, however many workers try. Email rows are locked with ``FOR UPDATE SKIP LOCKED`` while they are
sent, so two workers never send the same row; an email goes out at least once (a crash between the SMTP
hand-off and the commit sends it again on the next run, the only duplicate SMTP allows).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from core.errors import NotFound
from governance.models import ExceptionCase, ExceptionCode, Notification, Site

logger = logging.getLogger(__name__)

CRITICAL = ExceptionCode.Severity.CRITICAL
EMAIL = Notification.Channel.EMAIL
IN_APP = Notification.Channel.IN_APP


def notify(
    *,
    users: Iterable,
    event_key: str,
    title: str,
    body: str = "",
    severity: str = ExceptionCode.Severity.MEDIUM,
    case: ExceptionCase | None = None,
    subject=None,
    site: Site | None = None,
    now: datetime | None = None,
) -> int:
    """Tell ``users`` about one event: an in-app row each, and an email row for those with an address.

    Returns how many rows were written; a row that exists already (same user, event and channel) is skipped
    by the database (ON CONFLICT DO NOTHING), so calling this twice for one event tells nobody twice.
    """
    from django.contrib.contenttypes.models import ContentType

    now = now or timezone.now()
    subject = subject if subject is not None else case
    content_type = ContentType.objects.get_for_model(subject) if subject is not None else None
    common = {
        "event_key": event_key[:150],
        "exception": case,
        "content_type": content_type,
        "object_id": subject.pk if subject is not None else None,
        "site": site or (case.site if case is not None else None),
        "severity": severity,
        "title": title[:200],
        "body": body,
        "created_at": now,
    }
    rows = []
    for user in {u.pk: u for u in users}.values():
        if not user.is_active:
            continue
        rows.append((user.pk, IN_APP))
        if user.email:
            rows.append((user.pk, EMAIL))
    return len(_insert_once(rows, common))


_COLUMNS = (
    "user_id",
    "channel",
    "event_key",
    "exception_id",
    "content_type_id",
    "object_id",
    "site_id",
    "severity",
    "title",
    "body",
    "created_at",
)


def _insert_once(rows: list[tuple[int, str]], common: dict) -> list[int]:
    """INSERT the (user, channel) rows of one event, skipping those that exist: the ids of the new rows."""
    if not rows:
        return []
    values = {
        **common,
        "exception_id": common["exception"].pk if common["exception"] is not None else None,
        "content_type_id": common["content_type"].pk if common["content_type"] is not None else None,
        "site_id": common["site"].pk if common["site"] is not None else None,
    }
    shared = [values[c] for c in _COLUMNS[2:]]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * len(rows))
    params = [p for user_id, channel in rows for p in (user_id, channel, *shared)]
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {placeholders} "
            "ON CONFLICT (user_id, event_key, channel) DO NOTHING RETURNING id",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _subject_prefix() -> str:
    return getattr(settings, "EMAIL_SUBJECT_PREFIX_ERP", "[ERP] ")


def _line(n: Notification) -> str:
    site = f"{n.site.code} " if n.site_id else ""
    text = f"- [{n.severity}] {site}{n.title} ({n.created_at:%Y-%m-%d %H:%M} UTC)"
    return text + (f"\n  {n.body}" if n.body else "")


def send_critical_emails(*, now: datetime | None = None) -> dict:
    """Email every unsent CRITICAL notification now, one email each (the rest wait for the digest)."""
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0}
    pending = list(
        Notification.objects.filter(
            channel=EMAIL, sent_at__isnull=True, severity=CRITICAL, user__is_active=True
        ).values_list("pk", flat=True)
    )
    for pk in pending:
        try:
            with transaction.atomic():
                row = (
                    Notification.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                    .select_related("user", "site")
                    .filter(pk=pk, sent_at__isnull=True)
                    .first()
                )
                if row is None:
                    continue  # another worker has it, or sent it already
                send_mail(
                    subject=f"{_subject_prefix()}CRITICAL: {row.title}",
                    message=_line(row) + "\n",
                    from_email=None,
                    recipient_list=[row.user.email],
                )
                row.sent_at = now
                row.save(update_fields=["sent_at"])
                counts["sent"] += 1
        except OSError:  # SMTP down: the row stays unsent and is tried again by the next run or the digest
            logger.exception("could not send critical notification %s", pk)
            counts["failed"] += 1
    return counts


def send_notification_digests(*, now: datetime | None = None) -> dict:
    """One email per user listing every notification not emailed yet (the ones since their last digest)."""
    now = now or timezone.now()
    counts = {"emails": 0, "notifications": 0, "failed": 0}
    user_ids = sorted(
        set(
            Notification.objects.filter(channel=EMAIL, sent_at__isnull=True, user__is_active=True)
            .exclude(user__email="")
            .values_list("user_id", flat=True)
        )
    )
    for user_id in user_ids:
        try:
            with transaction.atomic():
                rows = list(
                    Notification.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
                    .select_related("user", "site")
                    .filter(user_id=user_id, channel=EMAIL, sent_at__isnull=True)
                    .order_by("created_at", "id")
                )
                if not rows:
                    continue
                user = rows[0].user
                lines = "\n".join(_line(n) for n in rows)
                send_mail(
                    subject=f"{_subject_prefix()}{len(rows)} new alert{'s' if len(rows) != 1 else ''}",
                    message=f"Hello {user.get_username()},\n\nNew since your last digest:\n\n{lines}\n",
                    from_email=None,
                    recipient_list=[user.email],
                )
                Notification.objects.filter(pk__in=[n.pk for n in rows]).update(sent_at=now)
                counts["emails"] += 1
                counts["notifications"] += len(rows)
        except OSError:
            logger.exception("could not send the notification digest of user %s", user_id)
            counts["failed"] += 1
    return counts


def notifications_for(user):
    """The user's in-app notification list, newest first."""
    return Notification.objects.filter(user=user, channel=IN_APP).select_related("site", "exception")


def unread_notification_count(user) -> int:
    """How many of the user's in-app notifications are unread: one COUNT on the (user, channel, read_at) index."""
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, channel=IN_APP, read_at__isnull=True).count()


@transaction.atomic
def mark_notification_read(*, user, notification: Notification, now: datetime | None = None) -> Notification:
    """Mark one of the user's own notifications read (again: nothing changes). Another's is not found."""
    row = (
        Notification.objects.select_for_update(no_key=True)
        .filter(pk=notification.pk, user=user, channel=IN_APP)
        .first()
    )
    if row is None:
        raise NotFound("No such notification.")
    if row.read_at is None:
        row.read_at = now or timezone.now()
        row.save(update_fields=["read_at"])
    return row


def mark_all_notifications_read(*, user, now: datetime | None = None) -> int:
    """Mark every unread in-app notification of the user read; returns how many."""
    return notifications_for(user).filter(read_at__isnull=True).update(read_at=now or timezone.now())


def active_users(ids: Iterable[int]):
    return list(get_user_model().objects.filter(pk__in=list(ids), is_active=True).order_by("pk"))
