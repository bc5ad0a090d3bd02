"""Events and webhooks benchmark (issue 14). Run with `make bench` or
`python tests/bench/bench_events.py [--events 1000] [--orders 200]`.

1. Throughput: ``--events`` EVENT rows are written to the outbox (as services write them, in one transaction),
   then ``relay_outbox`` drains them with the tasks run in process (eager): each event is fanned out to one
   subscription and POSTed, signed, to a local receiver (http.server on 127.0.0.1). Prints events/s relayed and
   delivered.
2. The outbox's cost on order release: ``--orders`` orders released one by one with no subscription, then as
   many with a subscription taking every event type; each release runs its allocation and the events' fan-out
   and deliveries in process after commit, as one worker would. Prints ms per release and the ratio.

Uses a scratch database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/erp_bench), which it
migrates and wipes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.benchdb import setup_django, truncate  # noqa: E402


def wipe() -> None:
    truncate(
        "governance_site",
        "inventory_item",
        "orders_customer",
        "governance_outboxmessage",
        "governance_webhooksubscription",
        "governance_exceptioncase",
        "auth_user",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")  # the receiver listens on 127.0.0.1 (DEBUG is off)
    setup_django()
    wipe()

    from django.db import transaction
    from django.utils import timezone

    from governance.events import document_key, envelope
    from governance.models import OutboxMessage, SiteMembership, WebhookDelivery
    from governance.services import webhooks
    from governance.services.outbox import relay_outbox
    from inventory.models import Location
    from inventory.services import receive_stock
    from orders.services import create_order, release_order
    from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory, UserFactory
    from tests.governance.webhook_receiver import Receiver

    site = SiteFactory(code="BENCH1", name="Bench DC", region="EAST")
    owner = UserFactory(username="bench-integrator")
    SiteMembership.objects.create(user=owner, site=site, role="integrator")
    coordinator = UserFactory(username="bench-coord")
    SiteMembership.objects.create(user=coordinator, site=site, role="coordinator")

    with Receiver() as receiver:
        # 1. throughput: events written, relayed, fanned out and delivered
        sub, _ = webhooks.create_subscription(user=owner, url=receiver.url)
        now = timezone.now()
        rows = [
            OutboxMessage(
                kind=OutboxMessage.Kind.EVENT,
                topic="order.released",
                payload=envelope(
                    "order.released",
                    site_code=site.code,
                    document_type="sales_order",
                    document_id=i % 100,
                    number=f"SO-{i % 100}",
                    data={"status": "RELEASED", "lines": [{"item": "X", "quantity": 5}]},
                ),
                site=site,
                document_key=document_key("sales_order", i % 100),
                created_at=now,
                available_at=now,
            )
            for i in range(args.events)
        ]
        with transaction.atomic():
            OutboxMessage.objects.bulk_create(rows, batch_size=500)
        started = time.perf_counter()
        relayed = 0
        while True:
            sent = relay_outbox(limit=200)["sent"]
            relayed += sent
            if not sent:
                break
        elapsed = time.perf_counter() - started
        delivered = WebhookDelivery.objects.filter(status="SUCCEEDED").count()
        print(
            f"throughput: {args.events} events (100 documents), {relayed} outbox rows relayed, {delivered} "
            f"delivered and {len(receiver.requests)} POSTs received in {elapsed:.2f} s: "
            f"{args.events / elapsed:.0f} events/s relayed and delivered"
        )
        sub.delete()

        # 2. the outbox's cost on order release, with and without a subscriber, in one run
        item = ItemFactory(sku="BENCH-ITEM", standard_cost="1.00")
        storage = LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
        receive_stock(user=None, item=item, location=storage, quantity=10**7, check_permission=False)
        customer = CustomerFactory(code="BENCHCUST", home_site=site, region=site.region, credit_limit=10**9)
        tomorrow = timezone.localdate() + timedelta(days=1)

        def release_many(n: int) -> float:
            orders = [
                create_order(
                    user=coordinator,
                    customer=customer,
                    promised_date=tomorrow,
                    lines=[{"item": item.sku, "quantity": 3}],
                )
                for _ in range(n)
            ]
            started = time.perf_counter()
            for order in orders:
                release_order(user=coordinator, order=order)
            return (time.perf_counter() - started) / n * 1000

        release_many(10)  # warm up
        before = len(receiver.requests)
        without = release_many(args.orders)
        webhooks.create_subscription(user=owner, url=receiver.url)
        with_sub = release_many(args.orders)
        posts = len(receiver.requests) - before
        print(
            f"order release: {without:.1f} ms without a subscriber, {with_sub:.1f} ms with one "
            f"({posts} POSTs: order.created, .released and .allocated per order); ratio {with_sub / without:.2f}"
        )


if __name__ == "__main__":
    main()
