"""Demo data: a realistic distribution network, loaded by ``manage.py load_demo``.

Five live sites in two regions (three distribution centres, two branches) and a sixth, DC-NORTH, in CUTOVER (its
bins and cutover lead, no stock: the go-live walk of the README with cutover/samples/), zones and a few hundred
bins of every physical kind per site, 2,000 items with each/case/pallet units, categories, storage types, ABC classes,
lot tracking with expiry dates, inspection flags and substitutes; opening balances posted through the ledger
(``post_moves``, kind ADJUST from the site's ADJUSTMENT location, reason OPENING_BALANCE); demo users for
every role at specific sites (with the password erp-demo only when DJANGO_DEBUG is on or DEMO_USERS=1 /
``--force-demo-users`` says so; otherwise without a usable password); a few site rule overrides with reasons;
the daily beat schedules.

Then the activity stage, played once through the services (never raw ledger or balance writes, so
``manage.py verify_inventory`` stays clean): 40 customers (eight per site; credit holds, low limits, shelf-life
demands) and 8 suppliers; replenishment policies (MIN_MAX and REORDER_POINT, each with its supplier) and pick-face
min/max for every stocked pick face; at each activity site sales orders in every state (drafts, a credit hold
waiting for approval, allocated, waved, picked, packed, shipped today, backordered; one short pick at the first
site), open purchase orders (half with ship notices, one overdue) and one received short; a transfer in transit
(DC-EAST to BR-BOS), an adjustment at DC-WEST waiting for approval, a small open cycle count per site; and KPI snapshots
of the last 14 days (only today has activity: the services stamp the current time).

Deterministic: every random choice comes from a generator seeded by a fixed number and the thing it
describes (item number, site code), so the same data comes out every time and the small scale is a prefix
of the full one. Idempotent: each step creates only what is missing, opening balances are posted once per
site (in one transaction per site), and a second run changes nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

SEED = 20240611
DEMO_PASSWORD = "erp-demo"
#: set to 1 to give the demo users their well-known password although DJANGO_DEBUG is off
DEMO_USERS_ENV = "DEMO_USERS"
OPENING_REFERENCE = "OPENING-{code}"
OPENING_REASON = "OPENING_BALANCE"


@dataclass(frozen=True)
class Scale:
    items: int
    storage_bins: int  # per distribution centre; branches get 2/3
    pick_bins: int
    dock_bins: int  # receiving doors, staging lanes and quality bins each; damaged bins get half
    moves_per_post: int = 1000
    policies_per_site: int = 60  # replenishment policies (item-sites) per site
    activity_sites: tuple[str, ...] = ()  # where orders, waves, shipments and purchase orders are played through
    orders_per_group: int = 3  # orders per state per site (shipped: four times as many)
    snapshot_days: int = 14  # days of KPI snapshots (today and the days before)


FULL = Scale(
    items=2000,
    storage_bins=300,
    pick_bins=200,
    dock_bins=16,
    activity_sites=("DC-EAST", "DC-SOUTH", "DC-WEST", "BR-BOS", "BR-LAX"),
)
SMALL = Scale(
    items=120,
    storage_bins=24,
    pick_bins=16,
    dock_bins=3,
    policies_per_site=6,
    activity_sites=("DC-EAST",),
    orders_per_group=1,
    snapshot_days=2,
)

# code, name, region, kind, timezone, address
SITES = [
    ("DC-EAST", "East Coast distribution centre", "EAST", "DC", "America/New_York", "400 Port Newark Blvd, Newark NJ"),
    (
        "DC-SOUTH",
        "Southeast distribution centre",
        "EAST",
        "DC",
        "America/New_York",
        "2100 Fulton Industrial Blvd, Atlanta GA",
    ),
    (
        "DC-WEST",
        "West Coast distribution centre",
        "WEST",
        "DC",
        "America/Los_Angeles",
        "9100 Sierra Logistics Way, Reno NV",
    ),
    ("BR-BOS", "Boston branch", "EAST", "BRANCH", "America/New_York", "55 Summer St, Boston MA"),
    ("BR-LAX", "Los Angeles branch", "WEST", "BRANCH", "America/Los_Angeles", "1800 E 7th St, Los Angeles CA"),
]
ALL_SITES = [code for code, *_ in SITES]
#: the sixth site, going live (issue 13): zones and bins like the others, a cutover lead, no stock; moved to
#: CUTOVER, so that a newcomer walks its go-live in the browser with the sample files in cutover/samples/
CUTOVER_SITE = (
    "DC-NORTH",
    "North distribution centre (going live)",
    "EAST",
    "DC",
    "America/New_York",
    "1 Harbor Way, Portland ME",
)

ZONES = [
    ("RECV", "Receiving docks"),
    ("BULK", "Bulk reserve storage"),
    ("PICK", "Forward pick faces"),
    ("STAGE", "Outbound staging lanes"),
    ("QA", "Quality hold and damaged goods"),
]

# username, first name, last name, {site: [roles]}, staff groups, superuser, description
USERS = [
    ("admin", "Alex", "Morgan", {}, [], True, "enterprise admin: every site, Django admin, site rules"),
    ("coord", "Casey", "Rivera", {s: ["coordinator"] for s in ALL_SITES}, [], False, "order coordinator, all sites"),
    ("sup-east", "Sam", "Okafor", {"DC-EAST": ["supervisor"]}, ["Site staff"], False, "supervisor at DC-EAST"),
    ("sup-south", "Jordan", "Lee", {"DC-SOUTH": ["supervisor"]}, ["Site staff"], False, "supervisor at DC-SOUTH"),
    ("sup-west", "Taylor", "Nguyen", {"DC-WEST": ["supervisor"]}, ["Site staff"], False, "supervisor at DC-WEST"),
    (
        "mgr-bos",
        "Robin",
        "Schultz",
        {"BR-BOS": ["admin", "supervisor"]},
        ["Site staff", "Site admins"],
        False,
        "branch manager (site admin + supervisor) at BR-BOS",
    ),
    ("op-east", "Chris", "Patel", {"DC-EAST": ["operator"]}, [], False, "warehouse operator at DC-EAST (scan screens)"),
    ("op-lax", "Dana", "Garcia", {"BR-LAX": ["operator"]}, [], False, "warehouse operator at BR-LAX"),
    ("planner", "Morgan", "Fischer", {s: ["planner"] for s in ALL_SITES}, [], False, "planner, all sites"),
    (
        "integrator",
        "API",
        "Integration",
        {s: ["integrator"] for s in ALL_SITES},
        [],
        False,
        "integrator (API token: .venv/bin/python manage.py create_api_token integrator --scope read)",
    ),
    ("auditor", "Pat", "Kowalski", {s: ["auditor"] for s in ALL_SITES}, [], False, "auditor, read only, all sites"),
    (
        "credit",
        "Jamie",
        "Brooks",
        {s: ["credit"] for s in ALL_SITES},
        [],
        False,
        "credit controller, all sites: customers' credit limits, overdue flags and terms",
    ),
    (
        "mgr-west",
        "Avery",
        "Hughes",
        {"DC-WEST": ["admin"], "DC-SOUTH": ["admin"]},
        ["Site staff", "Site admins"],
        False,
        "regional manager (site admin) at DC-WEST and DC-SOUTH: the second person on their control rule changes",
    ),
    (
        "lead-north",
        "Riley",
        "Thompson",
        {"DC-NORTH": ["admin"]},
        ["Site staff", "Site admins"],
        False,
        "cutover lead (site admin) at DC-NORTH, the site going live: imports, reconciliation, site lead sign-off",
    ),
    (
        "sup-north",
        "Quinn",
        "Baker",
        {"DC-NORTH": ["supervisor"]},
        ["Site staff"],
        False,
        "supervisor at DC-NORTH: approves the cutover posts, signs off the opening balances as their data owner",
    ),
]

#: (username, password, description) of every demo login, for the run command to print
DEMO_LOGINS: list[tuple[str, str, str]] = [(u[0], DEMO_PASSWORD, u[6]) for u in USERS]


def demo_logins_allowed(force: bool = False) -> bool:
    """May the demo users get their well-known password? Only with DJANGO_DEBUG on, or when forced
    (``load_demo --force-demo-users`` or ``DEMO_USERS=1``): a production database never gets ``admin``/erp-demo
    by accident."""
    import os

    from django.conf import settings

    wanted = os.environ.get(DEMO_USERS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
    return bool(force or wanted or settings.DEBUG)


def demo_users_with_the_demo_password() -> list[str]:
    """The demo users that have the well-known password (so that a command can warn about them)."""
    User = get_user_model()
    users = User.objects.filter(username__in=[u[0] for u in USERS]).order_by("username")
    return [u.username for u in users if u.has_usable_password() and u.check_password(DEMO_PASSWORD)]


#: permissions of the staff groups (Django admin): codename prefixes per app label
GROUP_PERMISSIONS = {
    "Site staff": {
        "view": ["governance", "inventory"],
        "change": ["governance.exceptioncase", "inventory.zone", "inventory.location"],
        "add": ["inventory.zone", "inventory.location"],
    },
    "Site admins": {
        "view": ["governance", "inventory"],
        "add": ["governance.sitemembership", "governance.siterulevalue"],
        "change": ["governance.siterulevalue"],
        "delete": ["governance.sitemembership", "governance.siterulevalue"],
    },
}

# site, rule key, value, reason
RULE_OVERRIDES = [
    (
        "DC-WEST",
        "inventory.adjustment_approval_value",
        "250.00",
        "Shrink found in the spring audit: adjustments above $250 need a second person until the audit closes.",
    ),
    (
        "BR-BOS",
        "picking.min_remaining_shelf_life_days",
        "45",
        "Grocery retail customers of the Boston branch refuse goods with less than 45 days of shelf life.",
    ),
    (
        "BR-LAX",
        "receiving.over_receipt_action",
        "REFUSE",
        "The LA branch has one small dock and no space to hold excess: over-receipts are refused at the door.",
    ),
    (
        "DC-SOUTH",
        "counting.tolerance_percent",
        "3",
        "Bulk goods at DC-SOUTH are counted by weight; the floor scales are accurate to about 3%.",
    ),
    (
        "DC-EAST",
        "shipping.late_risk_window_hours",
        "36",
        "Linehaul to New England takes a day and a half: warn about late shipments earlier.",
    ),
]

# code, name, lead time days, everything received lands on HOLD, over-receipt tolerance percent (None: site rule)
SUPPLIERS = [
    ("NORTHBOLT", "Northbolt Fasteners Inc.", 5, False, Decimal("5")),
    ("AQUAFLOW", "Aquaflow Plumbing Supply", 10, False, None),
    ("VOLTLINE", "Voltline Electrical Wholesale", 7, False, None),
    ("CLEARCHEM", "ClearChem Cleaning Products", 14, True, None),
    ("FRESHFIELD", "Freshfield Foods & Dairy", 2, False, Decimal("0")),
    ("HARBORPAPER", "Harbor Paper Mills", 21, False, Decimal("10")),
    ("ROADMASTER", "Roadmaster Automotive Parts", 12, False, None),
    ("DESKPRO", "DeskPro Office & Pet Distributors", 6, False, None),
]
SUPPLIER_OF_CATEGORY = {
    "Fasteners": "NORTHBOLT",
    "Plumbing": "AQUAFLOW",
    "Electrical": "VOLTLINE",
    "Cleaning": "CLEARCHEM",
    "Beverages": "FRESHFIELD",
    "Dairy": "FRESHFIELD",
    "Snacks": "FRESHFIELD",
    "Personal care": "CLEARCHEM",
    "Paper goods": "HARBORPAPER",
    "Automotive": "ROADMASTER",
    "Office supplies": "DESKPRO",
    "Pet supplies": "DESKPRO",
}
CUSTOMER_NAMES = [
    "Acme Hardware",
    "Bayside Grocers",
    "Cedar Builders Supply",
    "Dockside Marine",
    "Evergreen Markets",
    "Fairway Facilities",
    "Granite State Stores",
    "Hilltop Pharmacy",
    "Ironwood Contractors",
    "Juniper Cafes",
]
CUSTOMER_KINDS = ["Co.", "LLC", "Inc.", "Group"]
CUSTOMER_CITIES = {"DC-EAST": "Newark", "DC-SOUTH": "Atlanta", "DC-WEST": "Reno", "BR-BOS": "Boston", "BR-LAX": "LA"}


def plan_customers() -> list[dict]:
    """Eight customers per site (40): most in good standing; per site one with a low credit limit (its orders
    are held for approval), one that wants at least 60 days of shelf life and one that takes only complete
    shipments; the two branches' last customers have overdue invoices."""
    out = []
    for s, (code, _name, region, kind, *_rest) in enumerate(SITES):
        for n in range(8):
            rng = random.Random(f"{SEED}-customer-{code}-{n}")
            index = s * 8 + n
            plan = {
                "code": f"C{1001 + index}",
                "name": f"{CUSTOMER_NAMES[index % 10]} {CUSTOMER_CITIES[code]} {CUSTOMER_KINDS[index % 4]}",
                "site": code,
                "region": region,
                "email": f"purchasing{1001 + index}@customer.example",
                "ship_to_address": f"{100 + index * 7} {rng.choice(['Main', 'Market', 'Harbor', 'Mill'])} St",
                "credit_limit": Decimal(rng.choice((25000, 50000, 100000, 250000))),
                "payment_terms_days": rng.choice((15, 30, 45, 60)),
                "priority": 1 + (n * 3 + s) % 5,
            }
            if n == 7:
                plan["credit_limit"] = Decimal("500.00")
                plan["credit_overdue"] = kind == "BRANCH"
            if n == 6:
                plan["min_shelf_life_days"] = 60
            if n == 5:
                plan["allow_partial_shipment"] = False
                plan["allow_substitution"] = True
            out.append(plan)
    return out


# name, SKU prefix, storage types, shelf life days (None: not lot tracked), cost range, case sizes, nouns, variants
CATEGORIES = [
    (
        "Fasteners",
        "FAS",
        ["AMBIENT"],
        None,
        (0.04, 1.8),
        (50, 100, 200),
        ["Hex bolt", "Wood screw", "Machine screw", "Flat washer", "Nylon lock nut", "Wall anchor", "Blind rivet"],
        ["M6x30", "M8x40", "M10x60", "#8 x 1-1/4in", "#10 x 2in", "1/4in zinc", "3/8in stainless"],
    ),
    (
        "Plumbing",
        "PLB",
        ["AMBIENT", "BULKY"],
        None,
        (0.9, 45.0),
        (10, 20, 25),
        ["PVC elbow 90deg", "Ball valve", "Copper pipe 3m", "Compression fitting", "Sink trap", "Hose clamp"],
        ["1/2in", "3/4in", "1in", "15mm", "22mm", "28mm"],
    ),
    (
        "Electrical",
        "ELC",
        ["AMBIENT"],
        None,
        (0.5, 60.0),
        (6, 12, 24),
        ["LED bulb", "Extension cord", "Cable ties", "Duplex outlet", "Circuit breaker", "Junction box", "Wire nut"],
        ["A19 9W", "BR30 11W", "3m", "8m", "100 pack", "15A", "20A"],
    ),
    (
        "Cleaning",
        "CLN",
        ["AMBIENT", "HAZMAT"],
        (540, 900),
        (1.2, 24.0),
        (6, 12),
        ["All-purpose cleaner", "Bleach", "Dish soap", "Floor polish", "Glass cleaner", "Degreaser"],
        ["500ml", "750ml", "1L", "3.8L", "5L"],
    ),
    (
        "Beverages",
        "BEV",
        ["AMBIENT"],
        (180, 365),
        (0.4, 3.5),
        (12, 24),
        ["Sparkling water", "Orange juice", "Cola", "Iced tea", "Cold brew coffee", "Sports drink"],
        ["330ml can", "500ml bottle", "1L carton", "1.5L bottle"],
    ),
    (
        "Dairy",
        "DRY",
        ["CHILLED"],
        (21, 60),
        (0.9, 9.0),
        (6, 12),
        ["Whole milk", "Greek yogurt", "Cheddar block", "Salted butter", "Whipping cream", "Cottage cheese"],
        ["250g", "500g", "1L", "2L", "4 pack"],
    ),
    (
        "Snacks",
        "SNK",
        ["AMBIENT"],
        (120, 270),
        (0.6, 6.0),
        (12, 24, 36),
        ["Potato chips", "Granola bar", "Salted peanuts", "Pretzels", "Crackers", "Trail mix"],
        ["45g", "150g", "200g", "6 pack", "family size"],
    ),
    (
        "Personal care",
        "PRC",
        ["AMBIENT"],
        (720, 1095),
        (1.5, 14.0),
        (12, 24),
        ["Shampoo", "Toothpaste", "Liquid hand soap", "Deodorant", "Sunscreen SPF50", "Body lotion"],
        ["75ml", "250ml", "400ml", "travel size"],
    ),
    (
        "Paper goods",
        "PAP",
        ["BULKY"],
        None,
        (2.0, 38.0),
        (4, 6, 8),
        ["Paper towels", "Toilet tissue", "Copy paper A4", "Dinner napkins", "Kraft wrapping roll"],
        ["6 rolls", "12 rolls", "500 sheets", "ream x5", "250 pack"],
    ),
    (
        "Automotive",
        "AUT",
        ["AMBIENT", "HAZMAT"],
        (900, 1460),
        (3.0, 55.0),
        (4, 6, 12),
        ["Motor oil 5W-30", "Wiper blade", "Antifreeze coolant", "Brake fluid DOT4", "Cabin air filter"],
        ["1L", "5L", "16in", "22in", "universal"],
    ),
    (
        "Office supplies",
        "OFF",
        ["AMBIENT"],
        None,
        (0.3, 25.0),
        (12, 24, 48),
        ["Ballpoint pen", "Stapler", "Sticky notes", "Ring binder", "Highlighter", "Printer toner"],
        ["blue", "black", "3x3in", "2in", "assorted", "high yield"],
    ),
    (
        "Pet supplies",
        "PET",
        ["AMBIENT", "BULKY"],
        (365, 540),
        (2.0, 48.0),
        (4, 6, 12),
        ["Dry dog food", "Clumping cat litter", "Dog treats", "Wild bird seed", "Wet cat food"],
        ["2kg", "10kg", "12 pack", "500g"],
    ),
]


@dataclass(frozen=True)
class ItemPlan:
    sku: str
    description: str
    category: str
    storage_type: str
    standard_cost: Decimal
    lot_tracked: bool
    shelf_life_days: int | None
    abc_class: str
    requires_inspection: bool
    weight_grams: int
    case: int
    pallet: int
    lots: tuple[tuple[str, int], ...]  # (number, days until expiry)
    substitutes: tuple[int, ...]  # indexes of other items


def _item_rng(index: int) -> random.Random:
    return random.Random(SEED * 1_000_003 + index)


def plan_item(index: int) -> ItemPlan:
    """Item number ``index`` of the catalogue (the same item at every scale)."""
    rng = _item_rng(index)
    name, prefix, storage_types, shelf_life, (lo, hi), cases, nouns, variants = CATEGORIES[index % len(CATEGORIES)]
    storage_type = rng.choice(storage_types)
    lot_tracked = shelf_life is not None
    shelf = rng.randint(*shelf_life) if shelf_life else None
    abc = rng.choices("ABC", weights=(20, 30, 50))[0]
    case = rng.choice(cases)
    lots: tuple[tuple[str, int], ...] = ()
    if lot_tracked:
        lots = tuple(
            (f"L{(SEED + index * 7 + n) % 97:02d}{index:05d}-{n + 1}", rng.randint(max(10, shelf // 3), shelf))
            for n in range(rng.randint(1, 3))
        )
    return ItemPlan(
        sku=f"{prefix}-{10000 + index:05d}",
        description=f"{rng.choice(nouns)} {rng.choice(variants)}",
        category=name,
        storage_type=storage_type,
        standard_cost=Decimal(str(round(rng.uniform(lo, hi), 2))).quantize(Decimal("0.01")),
        lot_tracked=lot_tracked,
        shelf_life_days=shelf,
        abc_class=abc,
        requires_inspection=storage_type == "HAZMAT" or rng.random() < 0.03,
        weight_grams=rng.randint(20, 12000),
        case=case,
        pallet=case * rng.choice((20, 30, 40, 48, 60)),
        lots=lots,
        substitutes=(),
    )


def plan_items(count: int) -> list[ItemPlan]:
    """The first ``count`` items. About one in twelve has one or two substitutes: earlier items of its own
    category, so a smaller catalogue is exactly a prefix of a bigger one."""
    step = len(CATEGORIES)
    out = []
    for i in range(count):
        plan = plan_item(i)
        rng = random.Random(SEED * 7 + i)
        earlier = [j for j in range(i - step, max(-1, i - 6 * step), -step) if j >= 0]
        subs: list[int] = []
        if earlier and rng.random() < 0.08:
            subs = rng.sample(earlier, k=min(len(earlier), rng.randint(1, 2)))
        out.append(ItemPlan(**{**plan.__dict__, "substitutes": tuple(sorted(subs))}))
    return out


def _storage_code(n: int) -> str:
    """Reserve racking: aisle-bay-level-position, 60 bins per aisle (A-01-02-A .. E-10-04-B for 300 bins)."""
    aisle, rest = divmod(n, 60)
    bay, rest = divmod(rest, 6)
    level, position = divmod(rest, 2)
    return f"{'ABCDEFGHJK'[aisle]}-{bay + 1:02d}-{level + 2:02d}-{'AB'[position]}"


def _pick_code(n: int) -> str:
    """Pick faces at floor level: 100 per aisle (P-01-01-A .. Q-25-01-D for 200 bins)."""
    aisle, rest = divmod(n, 100)
    bay, position = divmod(rest, 4)
    return f"{'PQRSTU'[aisle]}-{bay + 1:02d}-01-{'ABCD'[position]}"


def plan_bins(scale: Scale, site_kind: str) -> list[tuple[str, str, str]]:
    """(code, kind, zone code) of a site's physical bins."""
    factor = 1.0 if site_kind == "DC" else 2 / 3
    storage = int(scale.storage_bins * factor)
    pick = int(scale.pick_bins * factor)
    docks = max(2, int(scale.dock_bins * factor))
    bins = [(_storage_code(n), "STORAGE", "BULK") for n in range(storage)]
    bins += [(_pick_code(n), "PICK", "PICK") for n in range(pick)]
    bins += [(f"DOCK-{n + 1:02d}", "RECEIVING", "RECV") for n in range(docks)]
    bins += [(f"STG-{n + 1:02d}", "STAGING", "STAGE") for n in range(docks)]
    bins += [(f"QA-{n + 1:02d}", "QUALITY", "QA") for n in range(docks)]
    bins += [(f"DMG-{n + 1:02d}", "DAMAGED", "QA") for n in range(max(1, docks // 2))]
    return bins


# --- loading ------------------------------------------------------------------------------------------------------


class DemoLoader:
    """Loads the demo step by step; every step creates only what is missing."""

    def __init__(
        self,
        *,
        scale: Scale = FULL,
        log: Callable[[str], None] | None = None,
        activity: bool = True,
        demo_logins: bool = True,
    ):
        self.scale = scale
        self.demo_logins = demo_logins
        self.with_activity = activity
        self.log = log or (lambda message: None)
        self.created: dict[str, int] = {}
        self.today = timezone.localdate()

    def _count(self, what: str, n: int) -> None:
        self.created[what] = self.created.get(what, 0) + n

    def run(self) -> dict[str, int]:
        started = time.monotonic()
        steps = (
            self.groups,
            self.users,
            self.sites,
            self.memberships,
            self.zones_and_bins,
            self.items,
            self.opening_balances,
            self.rule_overrides,
            self.schedules,
            *(
                (self.customers_and_suppliers, self.replenishment_policies, self.activity, self.kpi_snapshots)
                if self.with_activity
                else ()
            ),
            self.cutover_site,
        )
        for number, step in enumerate(steps, start=1):
            begun = time.monotonic()
            before = sum(self.created.values())
            with transaction.atomic():
                step()
            made = sum(self.created.values()) - before
            what = f"{made:,} created" if made else "nothing new"
            self.log(
                f"  [{number}/{len(steps)}] {step.__name__.replace('_', ' ')}: {what}, {time.monotonic() - begun:.1f}s"
            )
        self.log(f"demo data ready in {time.monotonic() - started:.1f}s")
        return self.created

    # people -------------------------------------------------------------------------------------------------
    def groups(self) -> None:
        for name, spec in GROUP_PERMISSIONS.items():
            group, created = Group.objects.get_or_create(name=name)
            self._count("groups", int(created))
            wanted = set()
            for action, targets in spec.items():
                for target in targets:
                    app_label, _, model = target.partition(".")
                    perms = Permission.objects.filter(
                        content_type__app_label=app_label, codename__startswith=f"{action}_"
                    )
                    if model:
                        perms = perms.filter(content_type__model=model)
                    wanted.update(perms.values_list("pk", flat=True))
            if set(group.permissions.values_list("pk", flat=True)) != wanted:
                group.permissions.set(wanted)

    def users(self) -> None:
        from django.contrib.auth.hashers import make_password

        User = get_user_model()
        hashed = None  # hashed once: a slow password hash per user would cost seconds
        for username, first, last, _, groups, superuser, _ in USERS:
            if User.objects.filter(username=username).exists():
                continue
            user = User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.example",
                is_staff=superuser or bool(groups),
                is_superuser=superuser,
            )
            if self.demo_logins:
                hashed = hashed or make_password(DEMO_PASSWORD)
                user.password = hashed
            else:
                user.set_unusable_password()  # the user and their roles, but no way to sign in as them
            user.save()
            if groups:
                user.groups.set(Group.objects.filter(name__in=groups))
            self._count("users", 1)
        self.admin = User.objects.get(username="admin")

    def sites(self) -> None:
        from governance.models import Site
        from governance.services import create_site

        existing = set(Site.objects.values_list("code", flat=True))
        for code, name, region, kind, tz, address in SITES:
            if code in existing:
                continue
            create_site(
                user=self.admin,
                code=code,
                name=name,
                region=region,
                kind=kind,
                timezone=tz,
                address=address,
                stage=Site.Stage.LIVE,
            )
            self._count("sites", 1)
        self.site_of = {s.code: s for s in Site.objects.filter(code__in=ALL_SITES)}

    def memberships(self) -> None:
        from governance.models import SiteMembership
        from governance.services import add_membership

        have = set(
            SiteMembership.objects.filter(site__code__in=ALL_SITES).values_list("user__username", "site__code", "role")
        )
        for username, _, _, roles_at, *_ in USERS:
            for code, roles in roles_at.items():
                if code not in self.site_of:  # the cutover site's people: added with it (cutover_site)
                    continue
                for role in roles:
                    if (username, code, role) not in have:
                        add_membership(user=self.admin, member_username=username, site=self.site_of[code], role=role)
                        self._count("memberships", 1)

    # places -------------------------------------------------------------------------------------------------
    def zones_and_bins(self) -> None:
        for code, *_rest in SITES:
            self._zones_and_bins_of(self.site_of[code])

    def _zones_and_bins_of(self, site) -> None:
        from inventory.models import Location, Zone
        from inventory.services import create_zone
        from inventory.services.master import bulk_add_locations

        zones = {z.code: z for z in Zone.objects.filter(site=site)}
        for zone_code, zone_name in ZONES:
            if zone_code not in zones:
                zones[zone_code] = create_zone(user=self.admin, site=site, code=zone_code, name=zone_name)
                self._count("zones", 1)
        existing = set(Location.objects.filter(site=site).values_list("code", flat=True))
        new = [
            Location(
                site=site,
                code=bin_code,
                kind=kind,
                zone=zones[zone_code],
                aisle=bin_code.split("-")[0] if kind in ("STORAGE", "PICK") else "",
                capacity=None,
            )
            for bin_code, kind, zone_code in plan_bins(self.scale, site.kind)
            if bin_code not in existing
        ]
        self._count("locations", bulk_add_locations(new, user=self.admin))

    def cutover_site(self) -> None:
        """The sixth site, DC-NORTH, going live: created PLANNED through create_site, its zones and bins like the
        other sites', its cutover lead and supervisor, then moved to CUTOVER (stock frozen) through change_stage.
        No stock and no activity: its opening balances come from cutover/samples/ through the import pages."""
        from governance.models import Site, SiteMembership
        from governance.services import add_membership, create_site
        from governance.services.lifecycle import change_stage

        code, name, region, kind, tz, address = CUTOVER_SITE
        site = Site.objects.filter(code=code).first()
        if site is None:
            site = create_site(
                user=self.admin, code=code, name=name, region=region, kind=kind, timezone=tz, address=address
            )
            self._count("sites", 1)
        self._zones_and_bins_of(site)
        have = set(SiteMembership.objects.filter(site=site).values_list("user__username", "role"))
        for username, _, _, roles_at, *_ in USERS:
            for role in roles_at.get(code, ()):
                if (username, role) not in have:
                    add_membership(user=self.admin, member_username=username, site=site, role=role)
                    self._count("memberships", 1)
        if site.stage == Site.Stage.PLANNED and not site.stage_changes.exists():
            change_stage(
                user=self.admin,
                site=site,
                to_stage=Site.Stage.CUTOVER,
                note="Demo: cutover of DC-NORTH (load the files of cutover/samples/)",
            )
            self._count("stage changes", 1)
        self._rollout_wave(site)

    def _rollout_wave(self, site) -> None:
        """DC-NORTH's rollout wave (governance.services.rollout): cutover started yesterday, pilot in a week, live
        in three; shown on the hypercare command centre and under rollout-waves/."""
        from datetime import timedelta

        from governance.models import RolloutWave
        from governance.services.rollout import create_wave
        from governance.services.sites import site_local_date

        if RolloutWave.objects.filter(code="WAVE-NORTH").exists():
            return
        today = site_local_date(site)
        create_wave(
            user=self.admin,
            code="WAVE-NORTH",
            name="North region",
            planned_cutover=today - timedelta(days=1),
            planned_pilot=today + timedelta(days=7),
            planned_go_live=today + timedelta(days=21),
            sites=[site],
            note="Demo: the wave DC-NORTH goes live in",
        )
        self._count("rollout waves", 1)

    # things -------------------------------------------------------------------------------------------------
    def items(self) -> None:
        from inventory.models import Item, ItemSubstitute, ItemUnit, Lot
        from inventory.services.master import bulk_add_items

        plans = plan_items(self.scale.items)
        existing = set(Item.objects.filter(sku__in=[p.sku for p in plans]).values_list("sku", flat=True))
        new = [
            Item(
                sku=p.sku,
                description=p.description,
                base_unit="EA",
                category=p.category,
                storage_type=p.storage_type,
                standard_cost=p.standard_cost,
                lot_tracked=p.lot_tracked,
                shelf_life_days=p.shelf_life_days,
                abc_class=p.abc_class,
                requires_inspection=p.requires_inspection,
                weight_grams=p.weight_grams,
            )
            for p in plans
            if p.sku not in existing
        ]
        self._count("items", bulk_add_items(new, user=self.admin)["items"])

        item_id = dict(Item.objects.filter(sku__in=[p.sku for p in plans]).values_list("sku", "pk"))
        have_units = set(ItemUnit.objects.filter(item_id__in=item_id.values()).values_list("item_id", "code"))
        units = [
            ItemUnit(item_id=item_id[p.sku], code=code, factor=factor)
            for p in plans
            for code, factor in (("EA", 1), ("CASE", p.case), ("PALLET", p.pallet))
            if (item_id[p.sku], code) not in have_units
        ]
        self._count("units", bulk_add_items([], user=self.admin, units=units)["units"])

        have_subs = set(
            ItemSubstitute.objects.filter(item_id__in=item_id.values()).values_list("item_id", "substitute_id")
        )
        subs = [
            ItemSubstitute(item_id=item_id[p.sku], substitute_id=item_id[plans[j].sku], preference=n + 1)
            for p in plans
            for n, j in enumerate(p.substitutes)
            if (item_id[p.sku], item_id[plans[j].sku]) not in have_subs
        ]
        self._count("substitutes", bulk_add_items([], user=self.admin, substitutes=subs)["substitutes"])

        have_lots = set(Lot.objects.filter(item_id__in=item_id.values()).values_list("item_id", "number"))
        lots = [
            Lot(item_id=item_id[p.sku], number=number, expiry_date=self.today + timedelta(days=days))
            for p in plans
            for number, days in p.lots
            if (item_id[p.sku], number) not in have_lots
        ]
        self._count("lots", bulk_add_items([], user=self.admin, lots=lots)["lots"])
        self.plans = plans
        self.item_id = item_id

    # stock ---------------------------------------------------------------------------------------------------
    def opening_balances(self) -> None:
        """Post each site's opening stock through the ledger, once per site (one transaction per site)."""
        from inventory.models import Location, Lot, StockMove

        lot_ids = {(item, number): pk for pk, item, number in Lot.objects.values_list("pk", "item_id", "number")}
        for code, *_rest in SITES:
            site = self.site_of[code]
            reference = OPENING_REFERENCE.format(code=code)
            if StockMove.objects.filter(reference=reference).exists():
                continue
            locations = {kind: [] for kind in ("STORAGE", "PICK", "QUALITY", "DAMAGED", "ADJUSTMENT")}
            for location in Location.objects.filter(site=site, kind__in=list(locations)).order_by("code"):
                locations[location.kind].append(location)
            lines = self._opening_lines(site, locations, lot_ids)
            with transaction.atomic():
                self._post(lines, reference)
            self._count("opening moves", len(lines))

    def _opening_lines(self, site, locations, lot_ids) -> list:
        from inventory.services import MoveLine

        rng = random.Random(f"{SEED}-{site.code}")
        source = locations["ADJUSTMENT"][0]
        storage, pick = locations["STORAGE"], locations["PICK"]
        quality, damaged = locations["QUALITY"], locations["DAMAGED"]
        share = {"DC": {"A": 1.0, "B": 0.9, "C": 0.75}, "BRANCH": {"A": 0.9, "B": 0.55, "C": 0.3}}[site.kind]
        cases = {"A": (6, 16), "B": (3, 8), "C": (1, 4)}
        free_pick_faces = list(pick)
        lines = []

        def line(plan, quantity, location, status, lot_id):
            lines.append(
                MoveLine(
                    self.item_id[plan.sku],
                    lot_id,
                    quantity,
                    source,
                    "",
                    location,
                    status,
                    unit_cost=plan.standard_cost,
                )
            )

        # A items first, so they get the pick faces
        for plan in sorted(self.plans, key=lambda p: (p.abc_class, p.sku)):
            if rng.random() >= share[plan.abc_class]:
                continue
            total = rng.randint(*cases[plan.abc_class]) * plan.case
            lots = [lot_ids[(self.item_id[plan.sku], number)] for number, _ in plan.lots] or [None]
            parts = _split(total, len(lots), rng)
            for lot_id, quantity in zip(lots, parts, strict=True):
                if quantity <= 0:
                    continue
                if plan.abc_class in "AB" and free_pick_faces and quantity > plan.case:
                    face_quantity = min(quantity // 3 or 1, plan.case * 2)
                    line(plan, face_quantity, free_pick_faces[0], "AVAILABLE", lot_id)
                    quantity -= face_quantity
                if quantity > 0:
                    line(plan, quantity, rng.choice(storage), "AVAILABLE", lot_id)
            if plan.abc_class in "AB" and free_pick_faces:
                free_pick_faces.pop(0)
            if plan.requires_inspection and quality and rng.random() < 0.4:
                line(plan, plan.case, rng.choice(quality), "HOLD", lots[0])
            if damaged and rng.random() < 0.02:
                line(plan, rng.randint(1, max(1, plan.case // 2)), rng.choice(damaged), "DAMAGED", lots[-1])
        return lines

    def _post(self, lines, reference) -> None:
        from inventory.models import StockMove
        from inventory.services import post_moves

        size = self.scale.moves_per_post
        for start in range(0, len(lines), size):
            post_moves(
                lines=lines[start : start + size],
                kind=StockMove.Kind.ADJUST,
                user=self.admin,
                reference=reference,
                reason_code=OPENING_REASON,
                note="Opening balance (demo data)",
            )

    # rules and schedules ------------------------------------------------------------------------------------------
    def rule_overrides(self) -> None:
        from django.contrib.auth import get_user_model

        from governance.models import RuleChange, SiteRuleValue
        from governance.rules import REGISTRY
        from governance.selectors import pending_approval
        from governance.services import decide_approval, set_rule_value

        for code, key, value, reason in RULE_OVERRIDES:
            site = self.site_of[code]
            if key not in REGISTRY or SiteRuleValue.objects.filter(key=key, site=site).exists():
                continue
            change = RuleChange.objects.filter(key=key, site=site, status=RuleChange.Status.PENDING).first()
            if change is None:
                change = set_rule_value(user=self.admin, key=key, value=value, reason=reason, site=site)
            if isinstance(change, RuleChange):
                # a control rule: in force once another admin of the site approves (issue 12, finding 3)
                approver = (
                    get_user_model()
                    .objects.filter(site_memberships__site=site, site_memberships__role="admin")
                    .exclude(pk=change.requested_by_id)
                    .order_by("username")
                    .first()
                )
                if approver is None:
                    continue  # stays pending: nobody else may approve it
                decide_approval(
                    approval=pending_approval(subject=change), user=approver, approve=True, note="Demo data."
                )
            self._count("rule overrides", 1)

    def schedules(self) -> None:
        from distribution_erp.schedules import ensure_periodic_tasks

        self._count("periodic tasks", ensure_periodic_tasks())

    # customers, suppliers, replenishment ------------------------------------------------------------------------
    def customers_and_suppliers(self) -> None:
        from orders.models import Customer, Supplier
        from orders.services import create_customer, create_supplier

        have = set(Supplier.objects.filter(code__in=[s[0] for s in SUPPLIERS]).values_list("code", flat=True))
        for code, name, lead_time, inspects, tolerance in SUPPLIERS:
            if code in have:
                continue
            create_supplier(
                user=self.admin,
                code=code,
                name=name,
                email=f"orders@{code.lower()}.example",
                lead_time_days=lead_time,
                requires_inspection=inspects,
                over_receipt_tolerance_percent=tolerance,
            )
            self._count("suppliers", 1)
        plans = plan_customers()
        have = set(Customer.objects.filter(code__in=[c["code"] for c in plans]).values_list("code", flat=True))
        for plan in plans:
            if plan["code"] in have:
                continue
            fields = {k: v for k, v in plan.items() if k not in ("code", "name", "site")}
            create_customer(
                user=self.admin, code=plan["code"], name=plan["name"], home_site=self.site_of[plan["site"]], **fields
            )
            self._count("customers", 1)

    def replenishment_policies(self) -> None:
        """Replenishment policies (MIN_MAX and REORDER_POINT, each with its supplier) for the first stocked items
        of every site, and min/max for every stocked pick face (one in eight at its min: the pick-face sweep
        opens refill tasks for those); through the replenishment services."""
        from inventory.models import Item, Location, StockQuant
        from orders.models import PickFacePolicy, ReplenishmentPolicy, Supplier
        from orders.services.replenishment import create_pick_face_policy, create_policy
        from warehouse.services.replenishment import sweep_pick_faces

        suppliers = {s.code: s for s in Supplier.objects.filter(code__in=[s[0] for s in SUPPLIERS])}
        for code in ALL_SITES:
            site = self.site_of[code]
            have = set(ReplenishmentPolicy.objects.filter(site=site).values_list("item_id", flat=True))
            stocked = (
                Item.objects.filter(levels__site=site, levels__available__gt=0, active=True)
                .order_by("sku")
                .distinct()[: self.scale.policies_per_site]
            )
            cases = dict(
                Item.objects.filter(units__code="CASE", pk__in=[i.pk for i in stocked]).values_list(
                    "pk", "units__factor"
                )
            )
            for n, item in enumerate(stocked):
                if item.pk in have:
                    continue
                case = cases.get(item.pk, 1)
                reorder_point = item.abc_class == "A" or n % 3 == 0
                create_policy(
                    user=self.admin,
                    site=site,
                    item=item,
                    method="REORDER_POINT" if reorder_point else "MIN_MAX",
                    min_quantity=case * (1 if reorder_point else 2),
                    max_quantity=case * (4 if reorder_point else 8),
                    pack_multiple=case,
                    min_order_quantity=case * 2,
                    supplier=suppliers[SUPPLIER_OF_CATEGORY[item.category]],
                )
                self._count("replenishment policies", 1)
            have_faces = set(PickFacePolicy.objects.filter(site=site).values_list("location_id", "item_id"))
            faces = (
                StockQuant.objects.filter(
                    site=site, location__kind=Location.Kind.PICK, status="AVAILABLE", quantity__gt=0
                )
                .values("location_id", "item_id")
                .annotate(quantity=Sum("quantity"))
                .order_by("location_id", "item_id")
            )
            locations = {loc.pk: loc for loc in Location.objects.filter(site=site, kind=Location.Kind.PICK)}
            items = {}
            created = 0
            for n, face in enumerate(faces):
                if (face["location_id"], face["item_id"]) in have_faces:
                    continue
                item = items.get(face["item_id"]) or Item.objects.get(pk=face["item_id"])
                items[item.pk] = item
                # one face in eight is at its min already: the sweep below opens its refill task
                low = face["quantity"] if n % 8 == 3 else max(1, face["quantity"] // 4)
                create_pick_face_policy(
                    user=self.admin,
                    location=locations[face["location_id"]],
                    item=item,
                    min_quantity=low,
                    max_quantity=max(face["quantity"] * 2, low + 1),
                )
                created += 1
            if created:
                sweep_pick_faces(site_id=site.pk)
            self._count("pick face min/max", created)

    # activity -------------------------------------------------------------------------------------------------------
    def activity(self) -> None:
        """Orders in every state, waves, picks (one short), shipments, purchase orders (one overdue, some with
        ship notices, received with a discrepancy), a transfer in transit, an adjustment waiting for approval and
        a small cycle count per site: played once through the services (skipped when the demo customers have
        orders)."""
        from orders.models import SalesOrder

        codes = [c["code"] for c in plan_customers()]
        if SalesOrder.objects.filter(customer__code__in=codes).exists():
            return
        from inventory.models import Location
        from inventory.services.counts import busy_location_ids, create_cycle_count
        from orders.services.purchasing import sweep_overdue_receipts

        for n, code in enumerate(self.scale.activity_sites):
            self._site_activity(self.site_of[code], first=n == 0)
        self._transfer_in_transit()
        self._pending_adjustment()
        self._returns(self.site_of[self.scale.activity_sites[0]])
        sweep_overdue_receipts()
        for code in ALL_SITES:  # a small count waiting at every site: one reserve aisle's first bins
            site = self.site_of[code]
            busy = busy_location_ids(site.pk)
            bins = [
                loc
                for loc in Location.objects.filter(site=site, kind=Location.Kind.STORAGE, quants__quantity__gt=0)
                .distinct()
                .order_by("code")[:12]
                if loc.pk not in busy
            ][:6]
            if bins:
                create_cycle_count(user=self.admin, site=site, locations=bins, note="Weekly check of aisle A")
                self._count("cycle counts", 1)

    def _free_items(self, site, *, minimum: int) -> list:
        """Active items without lots or inspection with at least ``minimum`` free units at ``site``, pick-face
        stock first (deterministic order)."""
        from inventory.models import Item, Location, StockLevel

        free = {
            item_id: available - allocated
            for item_id, available, allocated in StockLevel.objects.filter(site=site).values_list(
                "item_id", "available", "allocated"
            )
        }
        items = list(
            Item.objects.filter(
                pk__in=[i for i, q in free.items() if q >= minimum],
                active=True,
                lot_tracked=False,
                requires_inspection=False,
            ).order_by("sku")
        )
        on_face = set(
            Item.objects.filter(
                quants__site=site, quants__location__kind=Location.Kind.PICK, quants__quantity__gt=0
            ).values_list("pk", flat=True)
        )
        return sorted(items, key=lambda i: (i.pk not in on_face, i.sku))

    def _site_activity(self, site, *, first: bool) -> None:
        from orders.models import Customer, SalesOrder
        from orders.services import allocate_orders, create_order, release_order

        rng = random.Random(f"{SEED}-activity-{site.code}")
        k = self.scale.orders_per_group
        customers = list(Customer.objects.filter(home_site=site, code__in=[c["code"] for c in plan_customers()]))
        good = [c for c in customers if c.credit_limit >= 10000 and not c.credit_overdue and not c.min_shelf_life_days]
        held = next((c for c in customers if c.credit_limit < 10000 or c.credit_overdue), None)
        items = self._free_items(site, minimum=40)
        if not good or len(items) < 4:
            return
        cursor = iter(range(10**6))
        today = timezone.localdate()

        def order(customer=None, *, lines: int | None = None, channel="EDI", line_value: int = 0):
            lines = lines or rng.randint(1, 3)
            number = next(cursor)
            start = number * 3
            picked = [items[(start + j) % len(items)] for j in range(lines)]
            prices = {i.pk: (i.standard_cost * Decimal("1.4")).quantize(Decimal("0.01")) for i in picked}
            return create_order(
                user=self.admin,
                customer=customer or good[number % len(good)],
                promised_date=today + timedelta(days=rng.randint(1, 5)),
                lines=[
                    {
                        "item": item.sku,
                        "quantity": max(rng.randint(2, 8), int(line_value / max(prices[item.pk], Decimal("0.01")))),
                        "unit_price": str(prices[item.pk]),
                    }
                    for item in picked
                ],
                ship_from=site.code,
                channel=channel,
                customer_reference=f"PO-{rng.randint(100000, 999999)}",
                carrier=rng.choice(("UPS", "FEDEX", "LTL")),
            )

        def released(n):
            orders = [release_order(user=self.admin, order=order()) for _ in range(n)]
            allocate_orders([o.pk for o in orders])
            return orders

        # shipped (one short pick at the first site), packed, picked, waved, allocated
        released(4 * k)
        self._wave(site, pick=True, short=first, pack=True, ship=True)
        released(k)
        self._wave(site, pick=True, pack=True)
        released(k)
        self._wave(site, pick=True)
        released(k)
        self._wave(site)
        released(2 * k)
        # drafts (one entered on the web), a credit hold waiting for approval, a backorder
        for n in range(k + 1):
            order(channel="WEB" if n == 0 else "EMAIL")
        if held is not None:
            held_order = order(held, lines=3, line_value=250)  # over the 500.00 limit
            release_order(user=self.admin, order=held_order)
        missing = self._missing_item(site)
        if missing is not None:
            back = create_order(
                user=self.admin,
                customer=good[0],
                promised_date=today + timedelta(days=3),
                lines=[{"item": missing.sku, "quantity": 24}],
                ship_from=site.code,
                customer_reference=f"PO-{rng.randint(100000, 999999)}",
            )
            release_order(user=self.admin, order=back)
            allocate_orders([back.pk])
        self._count("sales orders", SalesOrder.objects.filter(site=site).count())
        self._purchasing(site, rng, first=first)

    def _missing_item(self, site):
        """An active item without lots with no free stock at ``site`` (its order is backordered)."""
        from inventory.models import Item, StockLevel

        stocked = StockLevel.objects.filter(site=site, available__gt=0).values("item_id")
        return (
            Item.objects.filter(active=True, lot_tracked=False, pk__in=[self.item_id[p.sku] for p in self.plans])
            .exclude(pk__in=stocked)
            .order_by("sku")
            .first()
        )

    def _wave(self, site, *, pick=False, short=False, pack=False, ship=False) -> None:
        from warehouse.models import PickTask
        from warehouse.services import confirm_pick, confirm_shipment, pack_wave, plan_wave, release_wave

        wave = plan_wave(user=self.admin, site=site)
        wave = release_wave(user=self.admin, wave=wave)
        self._count("waves", 1)
        if not pick:
            return
        tasks = PickTask.objects.filter(wave=wave, status=PickTask.Status.OPEN).select_related(
            "location", "item", "lot"
        )
        for n, task in enumerate(tasks.order_by("id")):
            confirm_pick(
                user=self.admin,
                task=task,
                quantity=task.quantity - 1 if short and n == 0 and task.quantity > 1 else task.quantity,
                location_code=task.location.code,
                lot_number=task.lot.number if task.lot_id else "",
                item_sku=task.item.sku,
            )
        if not pack:
            return
        for shipment in pack_wave(user=self.admin, wave=wave):
            self._count("shipments", 1)
            if ship:
                confirm_shipment(
                    user=self.admin,
                    shipment=shipment,
                    carrier=shipment.carrier or "UPS",
                    tracking_number=f"1Z{site.pk:02d}{shipment.pk:010d}",
                )

    def _purchasing(self, site, rng: random.Random, *, first: bool) -> None:
        """Open purchase orders (half with a ship notice; one overdue at the first site) and one received short."""
        from orders.models import Supplier
        from orders.services import add_ship_notice, create_purchase_order
        from warehouse.services import receive

        suppliers = list(Supplier.objects.filter(code__in=[s[0] for s in SUPPLIERS], requires_inspection=False))
        items = self._free_items(site, minimum=1)[::-1]  # the slower movers
        today = timezone.localdate()
        count = self.scale.orders_per_group * 2
        for n in range(count + 1):
            supplier = suppliers[(site.pk + n) % len(suppliers)]
            lines = [items[(n * 5 + j) % len(items)] for j in range(rng.randint(2, 5))]
            lines = list({i.pk: i for i in lines}.values())
            overdue = first and n == 0
            po = create_purchase_order(
                user=self.admin,
                supplier=supplier,
                site=site,
                expected_date=today + timedelta(days=-9 if overdue else rng.randint(1, supplier.lead_time_days)),
                lines=[{"item": i.sku, "quantity": rng.randint(2, 10) * 12} for i in lines],
                supplier_reference=f"SO-{rng.randint(10000, 99999)}",
                note="Overdue: the supplier missed the delivery date" if overdue else "",
            )
            self._count("purchase orders", 1)
            if n == count:  # delivered today, the first line short: a discrepancy and putaway tasks
                receive(
                    user=self.admin,
                    purchase_order=po,
                    lines=[
                        {"item": line.item.sku, "quantity": line.quantity - (6 if m == 0 else 0)}
                        for m, line in enumerate(po.lines.select_related("item").order_by("line_number"))
                    ],
                    note="Pallet 2 short-shipped by the supplier",
                )
                self._count("receipts", 1)
            elif n % 2 == 1:
                add_ship_notice(
                    user=self.admin,
                    purchase_order=po,
                    lines=[
                        {"item": line.item.sku, "quantity": line.quantity} for line in po.lines.select_related("item")
                    ],
                )

    def _transfer_in_transit(self) -> None:
        from orders.models import TransferOrder
        from warehouse.models import PickTask
        from warehouse.services.transfers import confirm_transfer_pick, create_transfer, release_transfer, ship_transfer

        source, target = self.site_of["DC-EAST"], self.site_of["BR-BOS"]
        items = self._free_items(source, minimum=40)[-2:]
        if not items:
            return
        transfer = create_transfer(
            user=self.admin,
            from_site=source,
            to_site=target,
            lines=[{"item": i.sku, "quantity": 6} for i in items],
            reason="Branch restock: Boston ran low before the weekend",
        )
        self._count("transfers", 1)
        if transfer.status != TransferOrder.Status.APPROVED:
            return
        release_transfer(user=self.admin, transfer=transfer)
        for task in PickTask.objects.filter(
            transfer_line__transfer=transfer, status=PickTask.Status.OPEN
        ).select_related("location", "item", "lot"):
            confirm_transfer_pick(
                user=self.admin,
                task=task,
                quantity=task.quantity,
                location_code=task.location.code,
                lot_number=task.lot.number if task.lot_id else "",
                item_sku=task.item.sku,
            )
        ship_transfer(user=self.admin, transfer=transfer)

    def _pending_adjustment(self) -> None:
        """A loss above DC-WEST's approval value: it waits for a second person (nothing is posted yet)."""
        from inventory.models import Location, StockQuant
        from inventory.services.adjustments import adjust_stock

        site = self.site_of["DC-WEST"]
        for quant in (
            StockQuant.objects.filter(
                site=site, location__kind=Location.Kind.STORAGE, status="AVAILABLE", quantity__gt=1, lot__isnull=True
            )
            .select_related("item", "location")
            .order_by("-item__standard_cost", "id")[:20]
        ):
            units = quant.quantity // 2
            if units * quant.item.standard_cost > Decimal("300"):
                adjust_stock(
                    user=self.admin,
                    location=quant.location,
                    item=quant.item,
                    quantity_delta=-units,
                    reason_code="LOST",
                    note="Half a pallet missing after the night shift; counted twice.",
                )
                self._count("adjustments", 1)
                return

    def _returns(self, site) -> None:
        """Two returns of shipped units at ``site``: one received and split (a good unit restocked, a damaged one
        scrapped), one authorized and on its way (through the returns services)."""
        from orders.models import ReturnAuthorization, SalesOrderLine
        from orders.services.returns import create_return
        from warehouse.services.returns import receive_return

        lines = list(
            SalesOrderLine.objects.filter(
                order__site=site, shipped_quantity__gte=2, item__lot_tracked=False, return_lines__isnull=True
            )
            .select_related("order")
            .order_by("order__number", "line_number")[:2]
        )
        for n, line in enumerate(lines):
            rma = create_return(
                user=self.admin,
                order=line.order,
                lines=[{"line": line, "quantity": 2, "reason": "DAMAGED" if n == 0 else "NOT_NEEDED"}],
                note="Two cases, one crushed in transit." if n == 0 else "The customer ordered too many.",
            )
            self._count("returns", 1)
            if n == 0 and rma.status == ReturnAuthorization.Status.AUTHORIZED:
                (return_line,) = rma.lines.all()
                receive_return(
                    user=self.admin,
                    rma=rma,
                    lines=[
                        {"line": return_line, "quantity": 1, "inspection": "GOOD", "disposition": "RESTOCK"},
                        {
                            "line": return_line,
                            "quantity": 1,
                            "inspection": "DAMAGED",
                            "disposition": "SCRAP",
                            "note": "crushed",
                        },
                    ],
                )

    def kpi_snapshots(self) -> None:
        """KPI snapshots of the last 14 days (small scale: 2), per site and for the network, where there are none
        yet (the daily job overwrites them later; days before the demo's activity are mostly empty)."""
        from reporting.models import KpiSnapshot
        from reporting.services import store_snapshots

        today = timezone.localdate()
        days = [today - timedelta(days=n) for n in range(self.scale.snapshot_days - 1, -1, -1)]
        have = set(KpiSnapshot.objects.filter(date__in=days).values_list("site_id", "date").distinct())
        for site in [None, *(self.site_of[c] for c in ALL_SITES)]:
            for day in days:
                if (site.pk if site else None, day) not in have:
                    store_snapshots(site, day)
                    self._count("KPI snapshot days", 1)


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` in ``parts`` positive-ish pieces (the first gets the most: the older lot is the bigger one)."""
    if parts == 1:
        return [total]
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if total > parts else list(range(1, parts))
    pieces = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return sorted(pieces, reverse=True)


def load_demo(
    *,
    scale: Scale = FULL,
    log: Callable[[str], None] | None = None,
    activity: bool = True,
    demo_logins: bool | None = None,
) -> dict[str, int]:
    """Load the demo network (``activity`` False: without customers, suppliers, policies, orders and the rest of
    the activity stage); returns what was created (empty on a second run).

    ``demo_logins``: give the new demo users the well-known password ``DEMO_PASSWORD``; by default only when
    ``demo_logins_allowed()`` (DJANGO_DEBUG on or DEMO_USERS=1). Otherwise they are created without a usable
    password (their roles are there; nobody signs in as them until an admin sets a password)."""
    if demo_logins is None:
        demo_logins = demo_logins_allowed()
    return DemoLoader(scale=scale, log=log, activity=activity, demo_logins=demo_logins).run()


__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "CUTOVER_SITE",
    "DEMO_USERS_ENV",
    "FULL",
    "SMALL",
    "Scale",
    "demo_logins_allowed",
    "demo_users_with_the_demo_password",
    "load_demo",
]
