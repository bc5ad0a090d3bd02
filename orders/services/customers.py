from __future__ import annotations

from django.db import IntegrityError, transaction

from core.errors import PermissionDenied
from core.validation import field_error, full_clean_or_raise
from governance import permissions
from governance.services.history import set_history_user
from orders.models import Customer

CUSTOMER_FIELDS = (
    "name",
    "active",
    "email",
    "ship_to_address",
    "region",
    "home_site",
    "credit_limit",
    "currency",
    "payment_terms_days",
    "credit_overdue",
    "priority",
    "allow_partial_shipment",
    "allow_backorders",
    "allow_substitution",
    "min_shelf_life_days",
)

#: fields that decide how much a customer may owe: changed only by a credit controller (role ``credit``) or an
#: admin of the customer's home site (action ``customers.credit``), and every change is in the customer's history
CREDIT_FIELDS = ("credit_limit", "credit_overdue", "payment_terms_days", "home_site")


def require_credit_control(user, home_site) -> None:
    """The user may decide credit for a customer homed at ``home_site``: the ``customers.credit`` action there
    (credit controllers and admins of that site); for a customer without a home site, enterprise admins only.
    Planners maintain the rest of a customer's master data but not its credit."""
    if home_site is None:
        if not permissions.is_enterprise_admin(user):
            raise PermissionDenied("Only enterprise admins decide the credit of a customer without a home site.")
        return
    if not permissions.can(user, "customers.credit", home_site):
        needed = ", ".join(sorted(permissions.allowed_roles("customers.credit")))
        raise PermissionDenied(
            f"Credit fields ({', '.join(CREDIT_FIELDS)}) need one of these roles at the customer's home site "
            f"{home_site.code}: {needed}."
        )


@transaction.atomic
def create_customer(*, user, code: str, name: str, **fields) -> Customer:
    if user is not None:
        permissions.require_master_data(user)
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "Unknown field.", "unknown")
    customer = Customer(code=code, name=name, **fields)
    default = Customer(code=code, name=name)
    if user is not None and any(
        getattr(customer, name) != getattr(default, name) for name in CREDIT_FIELDS if name != "home_site"
    ):
        require_credit_control(user, customer.home_site)
    full_clean_or_raise(customer)
    set_history_user(customer, user)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise field_error("code", f"A customer with code {code} exists already.", "unique")
    return customer


@transaction.atomic
def update_customer(*, user, customer: Customer, **changes) -> Customer:
    """Change a customer's master data (admins and planners) and its credit fields (``require_credit_control``:
    a credit controller or an admin of its home site, who may change only those). Every change is in history."""
    locked = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    home_site = locked.home_site
    credit_changed = other_changed = False
    for name, value in changes.items():
        if name not in CUSTOMER_FIELDS:
            raise field_error(name, "This field cannot be changed.", "read_only")
        before = getattr(locked, name)
        setattr(locked, name, value)
        if getattr(locked, name) != before:
            if name in CREDIT_FIELDS:
                credit_changed = True
            else:
                other_changed = True
    if other_changed or not credit_changed:
        permissions.require_master_data(user)
    if credit_changed:
        require_credit_control(user, home_site)
        if locked.home_site_id != (home_site.pk if home_site else None):
            require_credit_control(user, locked.home_site)  # and at the new home site
    full_clean_or_raise(locked)
    set_history_user(locked, user)
    locked.save()
    return locked
