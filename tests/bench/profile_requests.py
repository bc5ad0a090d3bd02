"""Where an API request spends its time (issue 16): profiles order create (5 lines) and release requests through
the whole Django request path in process (middleware, token authentication, throttles, Idempotency-Key,
serializers, services, history, outbox) with cProfile, and prints the time per request and the largest costs by
area and by function. Not a benchmark of throughput (bench_api.py is); run it before and after a change:

    python tests/bench/profile_requests.py [--requests 200] [--top 25] [--out var/profile-create.prof]

Uses the benchmark database (BENCH_DATABASE_URL, default erp_bench) with the small demo data; it is migrated and
loaded when DC-EAST is missing. Tasks are not run inside the requests (the release's allocation waits in the
outbox); a third part, ``allocate``, profiles what the worker then does for one release: the release task's body
(``allocate_released`` for the site, as the worker runs it after each release at one client) and marking its
outbox row done.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

#: function file path fragments -> the area a cost is charged to (first match wins, in this order)
AREAS = [
    ("psycopg", "database driver (round trips)"),
    ("django/db/models/sql", "ORM: SQL compilation"),
    ("django/db/models", "ORM: models and querysets"),
    ("simple_history", "history (django-simple-history)"),
    ("rest_framework/serializers", "DRF serializers"),
    ("rest_framework/fields", "DRF serializers"),
    ("rest_framework/renderers", "DRF rendering"),
    ("rest_framework/throttling", "throttles"),
    ("rest_framework", "DRF views and request"),
    ("governance/api/authentication", "token authentication"),
    ("core/api/idempotency", "Idempotency-Key"),
    ("distribution_erp/middleware", "project middleware"),
    ("django/middleware", "Django middleware"),
    ("django/contrib/sessions", "sessions"),
    ("governance/services/outbox", "outbox"),
    ("governance/services/rules", "site rules"),
    ("governance/permissions", "permissions"),
    ("orders/", "orders services"),
    ("inventory/", "inventory"),
    ("json", "JSON"),
    ("django/", "Django (other)"),
]


def area_of(filename: str) -> str:
    for fragment, area in AREAS:
        if fragment in filename:
            return area
    return "other"


def by_area(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time (tottime) summed per area: where the CPU and the waits actually are."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        totals[area_of(filename)] += tottime
    return sorted(totals.items(), key=lambda kv: -kv[1])


def ensure_demo(url: str) -> None:
    from tests.bench.benchdb import ensure_database

    ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "0"}
    probe = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c",
         "from governance.models import Site; print(Site.objects.filter(code='DC-EAST').exists())"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if probe.returncode == 0 and probe.stdout.strip().endswith("True"):
        return
    for step in (["migrate", "--noinput", "-v", "0"], ["load_demo", "--scale", "small"]):
        subprocess.run([sys.executable, str(ROOT / "manage.py"), *step], cwd=ROOT, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", default="", help="also write the raw profiles to <out>-create.prof / -release.prof")
    args, _ = parser.parse_known_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench")
    ensure_demo(url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "distribution_erp.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1",
            "DJANGO_SECRET_KEY": "profile-" + uuid.uuid4().hex * 2,
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    import django

    django.setup()
    from django.utils.timezone import now as time_now
    from rest_framework.test import APIClient

    from tests.bench.bench_api import order_body, seed

    world = seed()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world['token']}")

    def create(n: int) -> int:
        response = client.post(
            "/api/v1/sales-orders/", order_body(world, 5, n), format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
        assert response.status_code == 201, response.content[:300]
        return response.json()["id"]

    for n in range(10):  # warm caches (rules, content types, permissions, URL resolver)
        client.post(f"/api/v1/sales-orders/{create(n)}/release/")

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as created:
        order_id = create(10_000)
    with CaptureQueriesContext(connection) as released:
        client.post(f"/api/v1/sales-orders/{order_id}/release/")
    print(f"queries per request: create {len(created.captured_queries)}, release {len(released.captured_queries)}")
    print(f"load average {os.getloadavg()[0]:.2f}; {args.requests} requests each")
    from governance.models import OutboxMessage
    from governance.services.outbox import mark_done
    from orders.models import SalesOrder
    from orders.services.allocation import allocate_released

    site_id = SalesOrder.objects.get(pk=order_id).site_id
    allocate_released(site_id)  # what the warm-up released
    OutboxMessage.objects.filter(topic="orders.tasks.allocate_released_task", done_at__isnull=True).update(
        done_at=time_now()
    )
    with CaptureQueriesContext(connection) as allocated:
        allocate_released(site_id)  # nothing waiting: the cost of an empty run
    empty = len(allocated.captured_queries)
    release_one = create(20_000)
    client.post(f"/api/v1/sales-orders/{release_one}/release/")
    with CaptureQueriesContext(connection) as allocated:
        allocate_released(site_id)
    print(f"queries of the release task: one order {len(allocated.captured_queries)}, nothing waiting {empty}")

    ids: list[int] = []
    for name in ("create", "release", "allocate"):
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for n in range(args.requests):
            if name == "create":
                ids.append(create(n))
            elif name == "allocate":
                profile.disable()  # one release at a time (not profiled), then the task it triggers
                order = create(30_000 + n)
                client.post(f"/api/v1/sales-orders/{order}/release/")
                row = OutboxMessage.objects.filter(
                    topic="orders.tasks.allocate_released_task", done_at__isnull=True
                ).first()
                profile.enable()
                allocate_released(site_id)
                if row is not None:
                    mark_done(row.pk)
            else:
                response = client.post(f"/api/v1/sales-orders/{ids[n]}/release/")
                assert response.status_code in (200, 202), response.content[:300]
        profile.disable()
        elapsed = time.perf_counter() - started
        if name == "allocate":  # the untimed releases ran inside the window: report the profiled time only
            elapsed = sum(row[2] for row in pstats.Stats(profile).stats.values())
        if args.out:
            profile.dump_stats(f"{args.out}-{name}.prof")
        stats = pstats.Stats(profile)
        total = sum(row[2] for row in stats.stats.values())
        what = "release task run" if name == "allocate" else "request"
        print(f"\n== {name}: {elapsed / args.requests * 1000:.1f} ms per {what} (profiled) ==")
        print("own time by area:")
        for area, seconds in by_area(stats)[:14]:
            print(f"  {area:<36} {seconds / args.requests * 1000:7.2f} ms  {100 * seconds / total:5.1f} %")
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("cumulative").print_stats(args.top)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-6000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
