"""Webhook subscriptions and deliveries (issue 14): domain events POSTed, signed, to integrators.

- **Fan-out.** ``fan_out`` is the outbox's EVENT subscriber (``deliver_outbox_event`` task): in one transaction
  it writes one ``WebhookDelivery`` per active subscription whose type filter and site scope take the event
  (never a site the owner cannot see), marks the event fanned out, and enqueues the delivery task through the
  outbox. Idempotent: a second run finds the event fanned out.
- **No subscription, no fan-out.** The event row's INSERT itself asks whether an active subscription takes its
  type (``TAKES_EVENT_SQL``, registered with the subscriber): when none does, the row is written done (still in
  the ``events/`` feed) and no fan-out task is published. The rule for a subscription created (activated, its
  types widened) at the same moment as an event: it gets every event whose row is written after the
  subscription's transaction committed; an event written before that, even by a transaction still running when
  the subscription committed, is not sent to it (as before, a subscription committed after an event's fan-out
  ran never got it). No cache: every process sees a subscription at its commit, and an event that a subscription
  takes is never written done.
- **Delivery** (``deliver``, the ``governance.tasks.deliver_webhook`` task, never a web request): HTTP POST of
  the JSON event with ``X-Event-Id``, ``X-Event-Type``, ``X-Event-Timestamp`` and ``X-Signature:
  t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`` (one more ``v1`` with the previous secret while a rotation's
  overlap lasts). A 2xx is success; anything else is retried with an exponential backoff (``backoff_seconds``)
  up to ``max_attempts()``, then given up, which opens an INTEGRATION_FAILURE exception for the subscription
  (resolved by the next success). At least once: receivers deduplicate by the event id.
- **Order per document.** A delivery waits while an earlier event of its document (smaller outbox id) is open
  for the same subscription, or not fanned out yet; whoever ends a delivery (success, give-up, skip) wakes the
  next one of the document (``_wake``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import NotFound, PermissionDenied, StateConflict, ValidationFailed
from governance import permissions
from governance.events import EVENT_TYPES
from governance.models import OutboxMessage, Site, WebhookDelivery, WebhookSubscription

from .history import set_history_user

logger = logging.getLogger(__name__)

D = WebhookDelivery.Status
DELIVER_TASK = "governance.tasks.deliver_webhook"
FAILURE_CODE = "INTEGRATION_FAILURE"
SECRET_PREFIX = "whsec_"
#: a rotated-out secret keeps signing deliveries this long by default, so receivers can switch over
DEFAULT_OVERLAP_HOURS = 24
MAX_OVERLAP_HOURS = 24 * 14
EXCERPT = 500
_URL = URLValidator(schemes=["http", "https"])


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8))


def backoff_seconds(attempts: int) -> float:
    """Pure: the wait after the ``attempts``-th failed attempt: base * 2^(attempts-1), at most the cap."""
    base = float(getattr(settings, "WEBHOOK_BACKOFF_SECONDS", 10))
    cap = float(getattr(settings, "WEBHOOK_BACKOFF_MAX_SECONDS", 3600))
    return min(base * 2 ** max(attempts - 1, 0), cap)


def timeouts() -> tuple[float, float]:
    return tuple(getattr(settings, "WEBHOOK_TIMEOUTS", (3.0, 5.0)))


# --- signatures (pure) -----------------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the secret."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets_: list[str], timestamp: int) -> str:
    return ",".join([f"t={timestamp}"] + [f"v1={sign(body, s, timestamp)}" for s in secrets_ if s])


def verify_signature(header: str, body: bytes, secret: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does: the timestamp is recent and one ``v1`` matches the HMAC with its secret."""
    parts = [p.split("=", 1) for p in (header or "").split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs((now if now is not None else time.time()) - t) > tolerance:
        return False
    expected = sign(body, secret, t)
    return any(k.strip() == "v1" and hmac.compare_digest(v.strip(), expected) for k, v in parts)


def active_secrets(subscription: WebhookSubscription, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    keys = [subscription.secret]
    if (
        subscription.previous_secret
        and subscription.previous_secret_expires_at
        and subscription.previous_secret_expires_at > now
    ):
        keys.append(subscription.previous_secret)
    return keys


# --- subscriptions ---------------------------------------------------------------------------------------------


def target_problem(url: str) -> str | None:
    """Why ``url`` may not receive webhooks, or None. Unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` (default: on with
    DEBUG, for local receivers), every address the host resolves to must be a public one: no loopback, private,
    link-local (cloud metadata) or reserved address, so a subscription cannot make the server call its own
    network. Checked when a subscription is saved and again before every delivery (DNS may change)."""
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False):
        return None
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return f"{host} does not resolve."
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return f"{host} is a private, loopback or link-local address ({ip}); webhooks go to public addresses."
    return None


STOCK_EVENT = "stock.level_changed"
MAX_WATCHED_ITEMS = 1000
#: how long a process trusts its copy of the watched SKUs (a subscription changed by another process is seen
#: by this one's ledger within this many seconds; one changed in this process at once)
WATCHED_TTL_SECONDS = 5.0
_watched: dict = {"at": None, "skus": frozenset()}


def watched_skus() -> frozenset:
    """The SKUs some active subscription watches for stock.level_changed (the ledger emits stock events for
    these only). One query per process every WATCHED_TTL_SECONDS."""
    now = time.monotonic()
    at = _watched["at"]
    if at is None or now - at > WATCHED_TTL_SECONDS:
        skus: set[str] = set()
        for types, items in (
            WebhookSubscription.objects.filter(active=True).exclude(items=[]).values_list("event_types", "items")
        ):
            if not types or STOCK_EVENT in types:
                skus.update(items or [])
        _watched["skus"], _watched["at"] = frozenset(skus), now
    return _watched["skus"]


def forget_watched_skus() -> None:
    _watched["at"] = None


def _forget_now_and_at_commit() -> None:
    """A subscription changed: this process reads the watched SKUs again now (its own transaction sees the
    change) and once more after the commit (other transactions see it then)."""
    forget_watched_skus()
    transaction.on_commit(forget_watched_skus)


def _require_items_for_stock_events(event_types: list[str], items: list[str]) -> None:
    if STOCK_EVENT in (event_types or []) and not items:
        raise ValidationFailed(
            f"Name the SKUs whose stock levels you watch: {STOCK_EVENT} is sent for watched items only.",
            errors=[{"field": "items", "code": "required", "message": f"Required with {STOCK_EVENT}."}],
        )


def _clean_items(items, errors: list[dict]) -> list[str] | None:
    if not isinstance(items, list | tuple) or not all(isinstance(s, str) for s in items):
        errors.append({"field": "items", "code": "invalid", "message": "A list of SKUs."})
        return None
    skus = sorted({s.strip() for s in items if s.strip()})
    if len(skus) > MAX_WATCHED_ITEMS:
        errors.append(
            {"field": "items", "code": "too_many", "message": f"At most {MAX_WATCHED_ITEMS:,} SKUs per subscription."}
        )
        return None
    too_long = [s for s in skus if len(s) > 40]
    for sku in too_long:
        errors.append(
            {"field": "items", "code": "too_long", "message": f"{sku[:40]!r}...: a SKU has at most 40 characters."}
        )
    return None if too_long else skus


def check_subscription(*, user, url=None, event_types=None, sites=None, items=None, partial: bool = False) -> dict:
    """Every problem of a subscription's input at once (ValidationFailed with field errors); returns the clean
    values given (``sites`` as Site rows the user can see)."""
    errors: list[dict] = []
    clean: dict = {}
    if url is not None or not partial:
        text = str(url or "").strip()
        try:
            _URL(text)
            if urlsplit(text).scheme not in ("http", "https"):
                raise DjangoValidationError("scheme")
            problem = target_problem(text)
            if problem:
                errors.append({"field": "url", "code": "private_address", "message": problem})
            else:
                clean["url"] = text
        except DjangoValidationError:
            errors.append({"field": "url", "code": "invalid", "message": "Give an http:// or https:// URL."})
        if len(text) > 500:
            errors.append({"field": "url", "code": "too_long", "message": "At most 500 characters."})
    if event_types is not None:
        if not isinstance(event_types, list | tuple) or not all(isinstance(t, str) for t in event_types):
            errors.append({"field": "event_types", "code": "invalid", "message": "A list of event types."})
        else:
            unknown = [t for t in event_types if t not in EVENT_TYPES]
            for t in unknown:
                errors.append(
                    {
                        "field": "event_types",
                        "code": "invalid_choice",
                        "message": f"Unknown event type {t!r}; one of {', '.join(EVENT_TYPES)}.",
                    }
                )
            if not unknown:
                clean["event_types"] = sorted(set(event_types))
    if items is not None:
        skus = _clean_items(items, errors)
        if skus is not None:
            clean["items"] = skus
    if sites is not None:
        rows = []
        for index, code in enumerate(sites):
            code = getattr(code, "code", code)
            site = Site.objects.filter(code=str(code)).first()
            if site is None or not permissions.can_see_site(user, site):
                errors.append({"field": f"sites[{index}]", "code": "does_not_exist", "message": f"No site {code!r}."})
            else:
                rows.append(site)
        clean["sites"] = rows
    if errors:
        raise ValidationFailed(
            "The subscription has problems: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors=errors,
        )
    return clean


def subscriptions_visible_to(user):
    """The owner's subscriptions; enterprise admins: all; site admins: those that can deliver events of a site
    they administer (named in the scope, or an unscoped one whose owner works there)."""
    qs = WebhookSubscription.objects.select_related("owner").prefetch_related("sites")
    if permissions.is_enterprise_admin(user):
        return qs
    admin_sites = permissions.site_ids_for(user, "site.manage") or set()
    q = Q(owner=user)
    if admin_sites:
        q |= Q(sites__in=admin_sites) | Q(sites__isnull=True, owner__site_memberships__site__in=admin_sites)
    return qs.filter(q).distinct()


def _require_manager(user, subscription: WebhookSubscription) -> None:
    if subscription.owner_id == user.pk or permissions.is_enterprise_admin(user):
        return
    if subscriptions_visible_to(user).filter(pk=subscription.pk).exists():
        raise PermissionDenied("Only the subscription's owner (or an enterprise admin) may change it.")
    raise NotFound("No such webhook subscription.")


@transaction.atomic
def create_subscription(
    *, user, url, event_types=None, sites=None, items=None, name: str = "", active: bool = True
) -> tuple[WebhookSubscription, str]:
    """A subscription owned by ``user``; returns it with its secret (shown once). ``items``: the SKUs whose
    stock levels it watches (stock.level_changed)."""
    if permissions.site_ids_for(user) == set():
        raise PermissionDenied("You work at no site, so no event could be delivered to you.")
    clean = check_subscription(
        user=user, url=url, event_types=list(event_types or []), sites=list(sites or []), items=list(items or [])
    )
    _require_items_for_stock_events(clean["event_types"], clean["items"])
    secret = new_secret()
    sub = WebhookSubscription(
        owner=user,
        name=(name or "")[:100],
        url=clean["url"],
        event_types=clean["event_types"],
        items=clean["items"],
        active=bool(active),
        secret=secret,
    )
    set_history_user(sub, user)
    sub.save()
    sub.sites.set(clean["sites"])
    _forget_now_and_at_commit()
    return sub, secret


@transaction.atomic
def update_subscription(*, user, subscription: WebhookSubscription, **changes) -> WebhookSubscription:
    locked = WebhookSubscription.objects.select_for_update(no_key=True).filter(pk=subscription.pk).first()
    if locked is None:
        raise NotFound("No such webhook subscription.")
    _require_manager(user, locked)
    unknown = set(changes) - {"url", "event_types", "sites", "items", "name", "active"}
    if unknown:
        raise ValidationFailed(
            "Read-only field.",
            errors=[{"field": f, "code": "read_only", "message": "This field cannot be changed."} for f in unknown],
        )
    clean = check_subscription(
        user=user,
        url=changes.get("url"),
        event_types=changes.get("event_types"),
        sites=changes.get("sites"),
        items=changes.get("items"),
        partial=True,
    )
    for name in ("url", "event_types", "items"):
        if name in clean:
            setattr(locked, name, clean[name])
    if "name" in changes:
        locked.name = (changes["name"] or "")[:100]
    if "active" in changes:
        locked.active = bool(changes["active"])
    _require_items_for_stock_events(locked.event_types, locked.items)
    set_history_user(locked, user)
    locked.save()
    if "sites" in clean:
        locked.sites.set(clean["sites"])
    _forget_now_and_at_commit()
    return locked


@transaction.atomic
def delete_subscription(*, user, subscription: WebhookSubscription) -> None:
    locked = WebhookSubscription.objects.select_for_update(no_key=True).filter(pk=subscription.pk).first()
    if locked is None:
        raise NotFound("No such webhook subscription.")
    _require_manager(user, locked)
    from .exceptions import resolve_exceptions_for_subject

    resolve_exceptions_for_subject(subject=locked, code=FAILURE_CODE, note="Subscription deleted.", user=user)
    locked.delete()
    _forget_now_and_at_commit()


@transaction.atomic
def rotate_secret(*, user, subscription: WebhookSubscription, overlap_hours: float = DEFAULT_OVERLAP_HOURS) -> tuple:
    """A new current secret; the old one keeps signing (a second ``v1``) for ``overlap_hours`` (0: not at all).
    Returns (subscription, new secret)."""
    try:
        overlap = float(overlap_hours)
    except (TypeError, ValueError):
        overlap = -1
    if not 0 <= overlap <= MAX_OVERLAP_HOURS:
        raise ValidationFailed(
            "Bad overlap.",
            errors=[{"field": "overlap_hours", "code": "invalid", "message": f"From 0 to {MAX_OVERLAP_HOURS} hours."}],
        )
    locked = WebhookSubscription.objects.select_for_update(no_key=True).filter(pk=subscription.pk).first()
    if locked is None:
        raise NotFound("No such webhook subscription.")
    _require_manager(user, locked)
    secret = new_secret()
    locked.previous_secret = locked.secret if overlap else ""
    locked.previous_secret_expires_at = timezone.now() + timedelta(hours=overlap) if overlap else None
    locked.secret = secret
    set_history_user(locked, user)
    locked._change_reason = "Secret rotated"
    locked.save()
    return locked, secret


def in_scope(subscription: WebhookSubscription, owner, site_id: int | None, site_ids: set | None = None) -> bool:
    """May the subscription get an event of ``site_id`` now: the owner is active and can see the site, and the
    subscription's sites (if any) name it. A network-wide event (no site): enterprise admins only."""
    if not (owner and owner.is_active):
        return False
    if site_id is None:
        return permissions.is_enterprise_admin(owner)
    if site_ids is None:
        site_ids = {s.pk for s in subscription.sites.all()}
    if site_ids and site_id not in site_ids:
        return False
    return permissions.can_see_site(owner, site_id)


#: for the outbox (``register_event_subscriber(fan_out, takes_sql=...)``): does an active subscription take events
#: of the type ``%s``; the site scope and the owner are checked at fan-out, this only spares events nobody takes
TAKES_EVENT_SQL = (
    f"EXISTS (SELECT 1 FROM {WebhookSubscription._meta.db_table} WHERE active"
    " AND (event_types IN ('[]'::jsonb, 'null'::jsonb) OR event_types @> jsonb_build_array(%s::text)))"
)


def wants(subscription: WebhookSubscription, event_type: str) -> bool:
    return not subscription.event_types or event_type in subscription.event_types


# --- fan-out and delivery --------------------------------------------------------------------------------------


def fan_out(message: OutboxMessage) -> int:
    """The EVENT subscriber: write the event's deliveries and wake them; returns how many were written."""
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update(no_key=True).filter(pk=message.pk).first()
        if row is None or row.fanned_out_at is not None:
            return 0
        payload = row.payload or {}
        owners: dict = {}
        deliveries = []
        item = ((payload.get("data") or {}).get("item")) if row.topic == STOCK_EVENT else None
        for sub in WebhookSubscription.objects.filter(active=True).select_related("owner").prefetch_related("sites"):
            if not wants(sub, row.topic):
                continue
            if row.topic == STOCK_EVENT and item not in (sub.items or []):
                continue  # stock events go to the subscriptions that watch the item only
            owner = owners.setdefault(sub.owner_id, sub.owner)  # one role cache per owner
            if not in_scope(sub, owner, row.site_id, {s.pk for s in sub.sites.all()}):
                continue
            deliveries.append(
                WebhookDelivery(
                    subscription=sub,
                    event_id=row.pk,
                    event_uuid=str(payload.get("id", ""))[:36],
                    event_type=row.topic[:60],
                    document_key=row.document_key or "",
                    site_id=row.site_id,
                )
            )
        created = WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        row.fanned_out_at = timezone.now()
        row.save(update_fields=["fanned_out_at"])
        if row.document_key:
            _wake(row.document_key)
        else:
            for d in WebhookDelivery.objects.filter(event_id=row.pk, status__in=WebhookDelivery.OPEN):
                _enqueue(d.pk)
        return len(created)


def _enqueue(delivery_id: int, delay: float = 0, *, key: str = "") -> None:
    from .outbox import enqueue_task

    dedup = f"webhook:{delivery_id}{key}"
    enqueue_task(DELIVER_TASK, args=[delivery_id], dedup_key=dedup, delay_seconds=delay)


def _wake(document_key: str) -> None:
    """Enqueue the first open delivery of the document for every subscription that has one."""
    first = (
        WebhookDelivery.objects.filter(document_key=document_key, status__in=WebhookDelivery.OPEN)
        .order_by("subscription_id", "event_id")
        .distinct("subscription_id")
        .values_list("pk", "next_attempt_at")
    )
    now = timezone.now()
    for pk, next_at in first:
        _enqueue(pk, max((next_at - now).total_seconds(), 0) if next_at else 0)


def _blocked(delivery: WebhookDelivery) -> bool:
    """An earlier event of the same document is still open for this subscription, or not fanned out yet."""
    if not delivery.document_key:
        return False
    if WebhookDelivery.objects.filter(
        subscription_id=delivery.subscription_id,
        document_key=delivery.document_key,
        event_id__lt=delivery.event_id,
        status__in=WebhookDelivery.OPEN,
    ).exists():
        return True
    return OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.EVENT,
        document_key=delivery.document_key,
        id__lt=delivery.event_id,
        fanned_out_at__isnull=True,
        done_at__isnull=True,
    ).exists()


def event_body(message: OutboxMessage) -> bytes:
    """Pure: the bytes POSTed (the envelope with its ``sequence``, the outbox id)."""
    return json.dumps({**(message.payload or {}), "sequence": message.pk}, separators=(",", ":")).encode()


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str, str, int]:
    """(status code or None, response excerpt, error, duration ms). Short timeouts, no redirects."""
    import requests

    started = time.monotonic()
    try:
        with requests.post(
            url, data=body, headers=headers, timeout=timeouts(), allow_redirects=False, stream=True
        ) as resp:
            raw = resp.raw.read(EXCERPT * 4, decode_content=True) or b""
            excerpt = raw.decode(resp.encoding or "utf-8", "replace")[:EXCERPT]
            return resp.status_code, excerpt, "", int((time.monotonic() - started) * 1000)
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: {exc}"[:EXCERPT], int((time.monotonic() - started) * 1000)


def deliver(delivery_id: int, *, now: datetime | None = None) -> str:
    """One attempt of a delivery when it is due and its document's earlier events are done; returns what
    happened (the task's result): sent, retrying, gave_up, skipped, waiting, not_due, busy or done."""
    with transaction.atomic():
        d = (
            WebhookDelivery.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .select_related("subscription__owner")
            .filter(pk=delivery_id)
            .first()
        )
        if d is None:
            return "busy"  # another worker holds it (or it is gone)
        if d.status not in WebhookDelivery.OPEN:
            return "done"
        now = now or timezone.now()
        if d.next_attempt_at and d.next_attempt_at > now:
            return "not_due"  # its delayed task comes later
        if _blocked(d):
            return "waiting"  # the earlier delivery wakes it when it ends
        sub = d.subscription
        message = OutboxMessage.objects.filter(pk=d.event_id, kind=OutboxMessage.Kind.EVENT).first()
        if not sub.active or not in_scope(sub, sub.owner, d.site_id):
            d.status = D.SKIPPED
            d.error = "subscription inactive" if not sub.active else "the owner no longer sees this site"
            d.next_attempt_at = None
            d.save(update_fields=["status", "error", "next_attempt_at"])
            _after_end(d)
            return "skipped"
        if message is None:
            d.status = D.GAVE_UP
            d.error = "the event is no longer retained"
            d.save(update_fields=["status", "error"])
            _after_end(d)
            return "gave_up"
        body = event_body(message)
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "distribution-erp-webhooks/1",
            "X-Event-Id": d.event_uuid,
            "X-Event-Type": d.event_type,
            "X-Event-Sequence": str(d.event_id),
            "X-Event-Timestamp": str(stamp),
            "X-Delivery-Id": str(d.pk),
            "X-Signature": signature_header(body, active_secrets(sub, now), stamp),
        }
        problem = target_problem(sub.url)
        if problem:  # resolves to a private address now: no request, a failed attempt
            code, excerpt, error, duration = None, "", problem, 0
        else:
            code, excerpt, error, duration = _post(sub.url, body, headers)
        d.attempts += 1
        d.last_attempt_at = timezone.now()
        d.response_code, d.response_excerpt, d.error, d.duration_ms = code, excerpt, error, duration
        if code is not None and 200 <= code < 300:
            d.status, d.delivered_at, d.next_attempt_at = D.SUCCEEDED, d.last_attempt_at, None
            d.save()
            _resolve_failure(sub)
            _after_end(d)
            return "sent"
        if not error:
            d.error = f"HTTP {code}"
        if d.attempts >= max_attempts():
            d.status, d.next_attempt_at = D.GAVE_UP, None
            d.save()
            _open_failure(sub, d)
            _after_end(d)
            return "gave_up"
        wait = backoff_seconds(d.attempts)
        d.status, d.next_attempt_at = D.RETRYING, d.last_attempt_at + timedelta(seconds=wait)
        d.save()
        _enqueue(d.pk, wait)
        return "retrying"


def _after_end(delivery: WebhookDelivery) -> None:
    if delivery.document_key:
        _wake(delivery.document_key)


def _open_failure(sub: WebhookSubscription, d: WebhookDelivery) -> None:
    from .exceptions import open_exception

    site = d.site or sub.sites.order_by("code").first()
    if site is None:
        ids = permissions.site_ids_for(sub.owner)
        site = Site.objects.filter(**({} if ids is None else {"pk__in": ids})).order_by("code").first()
    if site is None:
        logger.error("webhooks: subscription %s gave up on %s and has no site for an exception", sub.pk, d.pk)
        return
    open_exception(
        site=site,
        code=FAILURE_CODE,
        subject=sub,
        summary=f"Webhook {sub.name or sub.url}: {d.event_type} #{d.event_id} given up after {d.attempts} attempts "
        f"({d.error or d.response_code})."[:300],
        details={"subscription": sub.pk, "delivery": d.pk, "url": sub.url, "response_code": d.response_code},
    )


def _resolve_failure(sub: WebhookSubscription) -> None:
    from django.contrib.contenttypes.models import ContentType

    from governance.models import ExceptionCase

    from .exceptions import resolve_exceptions_for_subject

    open_case = ExceptionCase.objects.filter(
        content_type=ContentType.objects.get_for_model(WebhookSubscription),
        object_id=sub.pk,
        code__code=FAILURE_CODE,
    ).exclude(status=ExceptionCase.Status.RESOLVED)
    if open_case.exists():
        resolve_exceptions_for_subject(subject=sub, code=FAILURE_CODE, note="Deliveries succeed again.")


def deliveries_visible_to(user):
    return WebhookDelivery.objects.select_related("subscription", "site").filter(
        subscription__in=subscriptions_visible_to(user).values("pk")
    )


@transaction.atomic
def redeliver(*, user, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the event again (a new round of attempts), in its document's order; the receiver dedups by id."""
    locked = WebhookDelivery.objects.select_for_update(no_key=True, of=("self",)).filter(pk=delivery.pk).first()
    if locked is None:
        raise NotFound("No such webhook delivery.")
    _require_manager(user, locked.subscription)
    if not locked.subscription.active:
        raise StateConflict("The subscription is inactive; activate it first.")
    if not OutboxMessage.objects.filter(pk=locked.event_id).exists():
        raise StateConflict("The event is no longer retained; it cannot be sent again.")
    locked.status = D.PENDING
    locked.attempts = 0
    locked.redeliveries += 1
    locked.next_attempt_at = None
    locked.error = ""
    locked.save()
    # its own key: a retry's delayed row waiting under the plain key would otherwise absorb this one
    _enqueue(locked.pk, key=f":r{locked.redeliveries}")
    return locked
