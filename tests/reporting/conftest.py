"""Small hand-built data for the KPI tests: rows are written directly (with the time stamps a test needs),
not through the workflows, so that every expected number can be computed by hand."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType

from governance.catalog import ensure_exception_codes
from governance.models import ExceptionCase, ExceptionCode, Site
from inventory.models import Location
from orders.models import (
    Allocation,
    PurchaseOrder,
    ReturnAuthorization,
    ReturnLine,
    SalesOrder,
    SalesOrderLine,
    Supplier,
)
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory
from warehouse.models import PickTask, Wave, WaveLine

UTC = ZoneInfo("UTC")
#: the period most tests use: Saturday 10 to Friday 16 January 2026, both included
D1, D2 = date(2026, 1, 10), date(2026, 1, 16)


def at(day: int, hour: int = 12, minute: int = 0, month: int = 1, year: int = 2026, tz: str = "UTC") -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


class Builder:
    def __init__(self):
        self.seq = itertools.count(1)
        self._customer = None
        self._staging: dict[int, Location] = {}

    def n(self, prefix: str) -> str:
        return f"{prefix}-{next(self.seq):06d}"

    @property
    def customer(self):
        if self._customer is None:
            self._customer = CustomerFactory()
        return self._customer

    def item(self, **kw):
        kw.setdefault("standard_cost", Decimal("10.00"))
        return ItemFactory(**kw)

    def order(self, site, *, promised=D2, status=SalesOrder.Status.SHIPPED, released_at=None, shipped_at=None):
        return SalesOrder.objects.create(
            number=self.n("SO"),
            customer=self.customer,
            site=site,
            priority=3,
            promised_date=promised,
            status=status,
            released_at=released_at,
            shipped_at=shipped_at,
        )

    def line(self, order, qty, *, shipped=0, first=None, last=None, backordered=0, since=None, item=None):
        item = item or self.item()
        number = order.lines.count() + 1
        return SalesOrderLine.objects.create(
            order=order,
            line_number=number,
            item=item,
            unit="EA",
            quantity=qty,
            quantity_base=qty,
            unit_price=Decimal("1.00"),
            shipped_quantity=shipped,
            first_shipped_at=first,
            last_shipped_at=last if last is not None else first,
            backordered_quantity=backordered,
            backordered_since=since,
        )

    def staging(self, site):
        if site.pk not in self._staging:
            self._staging[site.pk] = LocationFactory(site=site, kind=Location.Kind.STAGING)
        return self._staging[site.pk]

    def pick(
        self,
        site,
        *,
        status=PickTask.Status.PICKED,
        confirmed_at=None,
        user=None,
        location=None,
        scanned=None,
        lot=None,
        scanned_lot="",
        line=None,
    ):
        if line is None:
            line = self.line(self.order(site, status=SalesOrder.Status.PICKING), 1)
        location = location or LocationFactory(site=site, kind=Location.Kind.PICK)
        allocation = Allocation.objects.create(
            line=line, site=site, item=line.item, quantity=1, original_quantity=1, rule="HOME_SITE"
        )
        wave = Wave.objects.create(number=self.n("WV"), site=site)
        wave_line = WaveLine.objects.create(wave=wave, allocation=allocation, order_line=line, quantity=1)
        return PickTask.objects.create(
            wave=wave,
            site=site,
            wave_line=wave_line,
            order_line=line,
            item=line.item,
            lot=lot,
            location=location,
            to_location=self.staging(site),
            quantity=1,
            status=status,
            picked_quantity=0 if status == PickTask.Status.SHORT else 1,
            scanned_location=location.code if scanned is None else scanned,
            scanned_lot=scanned_lot,
            confirmed_by=user,
            confirmed_at=confirmed_at,
        )

    def rma(
        self,
        order,
        *,
        created_at,
        status=ReturnAuthorization.Status.AUTHORIZED,
        reason="NOT_NEEDED",
        inspection="",
        received_at=None,
        disposed_at=None,
    ):
        rma = ReturnAuthorization.objects.create(
            number=self.n("RMA"),
            site=order.site,
            sales_order=order,
            customer=order.customer,
            status=status,
            value=Decimal("1.00"),
            created_at=created_at,
            received_at=received_at,
            disposed_at=disposed_at,
        )
        line = order.lines.first()
        ReturnLine.objects.create(
            rma=rma,
            line_number=1,
            order_line=line,
            item=line.item,
            quantity=1,
            reason=reason,
            unit_price=Decimal("1"),
            inspection=inspection,
        )
        return rma

    def supplier(self, code):
        return Supplier.objects.get_or_create(code=code, defaults={"name": code})[0]

    def po(self, site, supplier, expected):
        return PurchaseOrder.objects.create(number=self.n("PO"), supplier=supplier, site=site, expected_date=expected)

    def exception(self, site, code, *, opened_at, due_at, resolved_at=None, severity="MEDIUM"):
        ensure_exception_codes()  # a flushing (transactional) test may have emptied the seeded catalog
        exc_code = ExceptionCode.objects.get(code=code)
        return ExceptionCase.objects.create(
            site=site,
            code=exc_code,
            content_type=ContentType.objects.get_for_model(Site),
            object_id=next(self.seq),
            subject_label="x",
            severity=severity,
            owner_role="supervisor",
            opened_at=opened_at,
            due_at=due_at,
            resolved_at=resolved_at,
            status=ExceptionCase.Status.RESOLVED if resolved_at else ExceptionCase.Status.OPEN,
        )


@pytest.fixture
def kb(db):
    return Builder()


@pytest.fixture
def ny(db):
    """A site five hours behind UTC in winter."""
    return SiteFactory(code="NY1", name="New York", region="EAST", timezone="America/New_York")


def hours(h: float) -> timedelta:
    return timedelta(hours=h)
