"""Load the demo network (idempotent: a second run changes nothing). The logic is in distribution_erp.demo."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from distribution_erp import demo


class Command(BaseCommand):
    help = (
        "Load demo data: 5 sites in 2 regions, zones and bins, 2,000 items with units and lots, opening balances "
        "through the ledger, demo users for every role, a few site rule overrides, the daily schedules; then "
        "customers, suppliers, replenishment policies, orders in every state, waves, shipments, purchase orders, a "
        "transfer in transit, a pending adjustment, cycle counts and 14 days of KPI snapshots, through the services. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            choices=["full", "small"],
            default="full",
            help="full (default): 2,000 items and a few hundred bins per site; small: a quick subset for tests",
        )
        parser.add_argument("--small", action="store_const", const="small", dest="scale", help="same as --scale small")
        parser.add_argument(
            "--force-demo-users",
            action="store_true",
            help=(
                f"give the demo users the well-known password {demo.DEMO_PASSWORD!r} although DJANGO_DEBUG is off "
                f"(also {demo.DEMO_USERS_ENV}=1); without it and with DJANGO_DEBUG off they get no usable password"
            ),
        )

    def handle(self, *args, scale="full", force_demo_users=False, **options):
        # one line per step (what it created and how long it took) unless -v 0
        verbose = options.get("verbosity", 1) >= 1
        chosen = demo.SMALL if scale == "small" else demo.FULL
        logins = demo.demo_logins_allowed(force=force_demo_users)
        self.stdout.write(f"Loading demo data ({scale} scale) ...")
        created = demo.load_demo(scale=chosen, log=self.stdout.write if verbose else None, demo_logins=logins)
        made = {what: n for what, n in created.items() if n}
        if made:
            self.stdout.write(
                self.style.SUCCESS("Created " + ", ".join(f"{n:,} {what}" for what, n in made.items()) + ".")
            )
        else:
            self.stdout.write(self.style.SUCCESS("Demo data already loaded: nothing changed."))
        if not logins:
            self.stdout.write(
                self.style.WARNING(
                    "DJANGO_DEBUG is off: no demo credentials were created. The demo users have no usable password "
                    "(set one with `manage.py changepassword USER`), or run again with --force-demo-users "
                    f"(or {demo.DEMO_USERS_ENV}=1) to give new demo users the password {demo.DEMO_PASSWORD!r}."
                )
            )
            exposed = demo.demo_users_with_the_demo_password()
            if exposed:
                self.stdout.write(
                    self.style.ERROR(
                        f"Still with the well-known password {demo.DEMO_PASSWORD!r} from an earlier load: "
                        + ", ".join(exposed)
                        + ". Change or remove them (`manage.py changepassword USER`)."
                    )
                )
            return
        if not settings.DEBUG:
            self.stdout.write(
                self.style.WARNING(
                    "DJANGO_DEBUG is off and demo users were forced: the logins below have well-known passwords."
                )
            )
        self.stdout.write("Demo logins (username / password):")
        for username, password, description in demo.DEMO_LOGINS:
            self.stdout.write(f"  {username:<12} {password:<10} {description}")
