"""Demo data: a realistic distribution network, loaded by ``manage.py load_demo``.

Five sites in two regions (three distribution centres, two branches), zones and a few hundred bins of every
physical kind per site, 2,000 items with each/case/pallet units, categories, storage types, ABC classes, lot
tracking with expiry dates, inspection flags and substitutes; opening balances posted through the ledger
(``post_moves``, kind ADJUST from the site's ADJUSTMENT location, reason OPENING_BALANCE); demo users for
every role at specific sites; a few site rule overrides with reasons; the daily beat schedules.

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
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

SEED = 20240611
DEMO_PASSWORD = "erp-demo"
OPENING_REFERENCE = "OPENING-{code}"
OPENING_REASON = "OPENING_BALANCE"


@dataclass(frozen=True)
class Scale:
    items: int
    storage_bins: int  # per distribution centre; branches get 2/3
    pick_bins: int
    dock_bins: int  # receiving doors, staging lanes and quality bins each; damaged bins get half
    moves_per_post: int = 1000


FULL = Scale(items=2000, storage_bins=300, pick_bins=200, dock_bins=16)
SMALL = Scale(items=120, storage_bins=24, pick_bins=16, dock_bins=3)

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
        "integrator (API tokens: manage.py create_api_token integrator)",
    ),
    ("auditor", "Pat", "Kowalski", {s: ["auditor"] for s in ALL_SITES}, [], False, "auditor, read only, all sites"),
]

#: (username, password, description) of every demo login, for the run command to print
DEMO_LOGINS: list[tuple[str, str, str]] = [(u[0], DEMO_PASSWORD, u[6]) for u in USERS]

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

    def __init__(self, *, scale: Scale = FULL, log: Callable[[str], None] | None = None):
        self.scale = scale
        self.log = log or (lambda message: None)
        self.created: dict[str, int] = {}
        self.today = timezone.localdate()

    def _count(self, what: str, n: int) -> None:
        self.created[what] = self.created.get(what, 0) + n

    def run(self) -> dict[str, int]:
        started = time.monotonic()
        for step in (
            self.groups,
            self.users,
            self.sites,
            self.memberships,
            self.zones_and_bins,
            self.items,
            self.opening_balances,
            self.rule_overrides,
            self.schedules,
        ):
            begun = time.monotonic()
            with transaction.atomic():
                step()
            self.log(f"  {step.__name__.replace('_', ' ')}: {time.monotonic() - begun:.1f}s")
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
            hashed = hashed or make_password(DEMO_PASSWORD)
            user.password = hashed
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
            create_site(user=self.admin, code=code, name=name, region=region, kind=kind, timezone=tz, address=address)
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
                for role in roles:
                    if (username, code, role) not in have:
                        add_membership(user=self.admin, member_username=username, site=self.site_of[code], role=role)
                        self._count("memberships", 1)

    # places -------------------------------------------------------------------------------------------------
    def zones_and_bins(self) -> None:
        from inventory.models import Location, Zone
        from inventory.services import create_zone

        for code, *_rest in SITES:
            site = self.site_of[code]
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
            for location in new:
                location.full_clean(exclude=["site", "zone"], validate_unique=False, validate_constraints=False)
            if new:
                bulk_create_with_history(new, Location, batch_size=1000, default_user=self.admin)
            self._count("locations", len(new))

    # things -------------------------------------------------------------------------------------------------
    def items(self) -> None:
        from inventory.models import Item, ItemSubstitute, ItemUnit, Lot

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
        for item in new:
            item.full_clean(validate_unique=False, validate_constraints=False)
        if new:
            bulk_create_with_history(new, Item, batch_size=1000, default_user=self.admin)
        self._count("items", len(new))

        item_id = dict(Item.objects.filter(sku__in=[p.sku for p in plans]).values_list("sku", "pk"))
        have_units = set(ItemUnit.objects.filter(item_id__in=item_id.values()).values_list("item_id", "code"))
        units = [
            ItemUnit(item_id=item_id[p.sku], code=code, factor=factor)
            for p in plans
            for code, factor in (("EA", 1), ("CASE", p.case), ("PALLET", p.pallet))
            if (item_id[p.sku], code) not in have_units
        ]
        if units:
            bulk_create_with_history(units, ItemUnit, batch_size=2000, default_user=self.admin)
        self._count("units", len(units))

        have_subs = set(
            ItemSubstitute.objects.filter(item_id__in=item_id.values()).values_list("item_id", "substitute_id")
        )
        subs = [
            ItemSubstitute(item_id=item_id[p.sku], substitute_id=item_id[plans[j].sku], preference=n + 1)
            for p in plans
            for n, j in enumerate(p.substitutes)
            if (item_id[p.sku], item_id[plans[j].sku]) not in have_subs
        ]
        ItemSubstitute.objects.bulk_create(subs)
        self._count("substitutes", len(subs))

        have_lots = set(Lot.objects.filter(item_id__in=item_id.values()).values_list("item_id", "number"))
        lots = [
            Lot(item_id=item_id[p.sku], number=number, expiry_date=self.today + timedelta(days=days))
            for p in plans
            for number, days in p.lots
            if (item_id[p.sku], number) not in have_lots
        ]
        Lot.objects.bulk_create(lots)
        self._count("lots", len(lots))
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
        from governance.models import SiteRuleValue
        from governance.rules import REGISTRY
        from governance.services import set_rule_value

        for code, key, value, reason in RULE_OVERRIDES:
            if key not in REGISTRY or SiteRuleValue.objects.filter(key=key, site=self.site_of[code]).exists():
                continue
            set_rule_value(user=self.admin, key=key, value=value, reason=reason, site=self.site_of[code])
            self._count("rule overrides", 1)

    def schedules(self) -> None:
        from distribution_erp.schedules import ensure_periodic_tasks

        self._count("periodic tasks", ensure_periodic_tasks())


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` in ``parts`` positive-ish pieces (the first gets the most: the older lot is the bigger one)."""
    if parts == 1:
        return [total]
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if total > parts else list(range(1, parts))
    pieces = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return sorted(pieces, reverse=True)


def load_demo(*, scale: Scale = FULL, log: Callable[[str], None] | None = None) -> dict[str, int]:
    """Load the demo network; returns what was created (empty on a second run)."""
    return DemoLoader(scale=scale, log=log).run()


__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "FULL", "SMALL", "Scale", "load_demo"]
