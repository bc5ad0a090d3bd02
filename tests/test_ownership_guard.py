"""The one-owner-per-row guard (tests/ownership.py) catches a write by one app into another app's table."""

import os

import pytest

from tests import ownership

pytestmark = pytest.mark.django_db


def _run_as(path: str, source: str, env: dict) -> None:
    """Run ``source`` as if it were code in the project file ``path`` (the guard judges by the frame's file)."""
    exec(compile(source, os.path.join(ownership.ROOT, path), "exec"), env)


def test_a_warehouse_write_into_orders_rows_is_a_violation_naming_writer_table_and_line(site):
    from orders.models import Customer

    ownership.take()
    _run_as(
        os.path.join("warehouse", "services", "rogue.py"),
        "Customer.objects.create(code='ROGUE', name='Rogue', home_site=site)\n",
        {"Customer": Customer, "site": site},
    )
    found = ownership.take()  # taken here, so this test itself does not fail the guard
    rows = {(v.writer, v.owner, v.table, v.where) for v in found}
    assert ("warehouse", "orders", "orders_customer", "warehouse/services/rogue.py:1") in rows
    assert {(v.writer, v.owner) for v in found} == {("warehouse", "orders")}  # the history row too


def test_an_apps_own_writes_reads_and_locks_are_not_violations(site):
    from orders.models import Customer

    ownership.take()
    _run_as(
        os.path.join("orders", "services", "fine.py"),
        "c = Customer.objects.create(code='MINE', name='Mine', home_site=site)\n"
        "Customer.objects.filter(pk=c.pk).update(name='Still mine')\n",
        {"Customer": Customer, "site": site},
    )
    _run_as(
        os.path.join("warehouse", "services", "reader.py"),
        "list(Customer.objects.select_for_update().filter(code='MINE'))\n",
        {"Customer": Customer},
    )
    assert ownership.take() == []
