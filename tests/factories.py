"""factory_boy factories. Sites and master data go through the services, so virtual locations exist."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from governance.models import Site, SiteMembership
from inventory.models import Item, ItemUnit, Location, Lot, Zone


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "pass-word-123")
        if create:
            self.save(update_fields=["password"])


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    code = factory.Sequence(lambda n: f"S{n}")
    name = factory.LazyAttribute(lambda s: f"Site {s.code}")
    region = "EAST"
    kind = Site.Kind.DISTRIBUTION_CENTER
    stage = Site.Stage.LIVE

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from governance.services import create_site

        return create_site(user=None, **kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteMembership

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(SiteFactory)
    role = "supervisor"


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"Z{n}")
    name = factory.LazyAttribute(lambda z: f"Zone {z.code}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"A-{n:03d}")
    kind = Location.Kind.STORAGE


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item
        skip_postgeneration_save = True

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    description = factory.LazyAttribute(lambda i: f"Item {i.sku}")
    standard_cost = Decimal("10.00")

    @factory.post_generation
    def units(self, create, extracted, **kwargs):
        if not create:
            return
        ItemUnit.objects.get_or_create(item=self, code=self.base_unit, defaults={"factor": 1})
        for code, factor in (extracted or {"CASE": 12}).items():
            ItemUnit.objects.get_or_create(item=self, code=code, defaults={"factor": factor})


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    item = factory.SubFactory(ItemFactory, lot_tracked=True)
    number = factory.Sequence(lambda n: f"LOT{n:04d}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.Customer"

    code = factory.Sequence(lambda n: f"CUST{n:04d}")
    name = factory.LazyAttribute(lambda c: f"Customer {c.code}")
    credit_limit = Decimal("1000000.00")
    region = "EAST"


def set_rule_now(*, key: str, value, reason: str = "test", site=None, user=None):
    """Set a rule value for a test's setup and have it in force at once: a site override of a control rule
    (``RuleDefinition.control``) waits for a second person, so a second enterprise admin approves it here."""
    from governance.models import RuleChange
    from governance.selectors import pending_approval
    from governance.services import decide_approval, set_rule_value

    User = get_user_model()
    if user is None:
        user = User.objects.filter(username="rules-admin").first() or User.objects.create_superuser(
            "rules-admin", "rules-admin@example.com", None
        )
    result = set_rule_value(user=user, key=key, value=value, reason=reason, site=site)
    if not isinstance(result, RuleChange):
        return result
    approver = User.objects.filter(username="rules-approver").first() or User.objects.create_superuser(
        "rules-approver", "rules-approver@example.com", None
    )
    decide_approval(approval=pending_approval(subject=result), user=approver, approve=True, note="test setup")
    from governance.models import SiteRuleValue

    return SiteRuleValue.objects.get(key=key, site=site)
