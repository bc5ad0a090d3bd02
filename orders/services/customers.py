from __future__ import annotations

from django.db import IntegrityError, transaction

from distribution_erp.validation import field_error, full_clean_or_raise
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


@transaction.atomic
def create_customer(*, user, code: str, name: str, **fields) -> Customer:
    if user is not None:
        permissions.require_master_data(user)
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "Unknown field.", "unknown")
    customer = Customer(code=code, name=name, **fields)
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
    permissions.require_master_data(user)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    for name, value in changes.items():
        if name not in CUSTOMER_FIELDS:
            raise field_error(name, "This field cannot be changed.", "read_only")
        setattr(locked, name, value)
    full_clean_or_raise(locked)
    set_history_user(locked, user)
    locked.save()
    return locked
