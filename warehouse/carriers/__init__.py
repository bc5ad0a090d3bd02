"""Carrier adapters: rate, label and track a shipment with a carrier.

An adapter is a class with the methods of :class:`CarrierAdapter`. The registry holds the built-in manual/LTL
adapter (:mod:`warehouse.carriers.manual`) and every adapter a deployment adds, so a real carrier is a package
away:

- setting ``CARRIER_ADAPTERS = {"UPS": "acme_ups.adapter.UpsAdapter"}`` (dotted path, code -> class), or
- an installed package's entry point in group ``distribution_erp.carriers`` (name = carrier code, value = the
  class, e.g. ``UPS = "acme_ups.adapter:UpsAdapter"`` in its pyproject.toml).

A shipment's ``carrier`` (the code typed at wave planning or shipment confirmation) picks its adapter; a carrier
without an adapter is handled by the manual adapter: a bill of lading to print and a tracking number typed or
scanned. Tracking goes back to the shipment through :func:`warehouse.services.carriers.record_tracking`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points

from django.conf import settings

ENTRY_POINT_GROUP = "distribution_erp.carriers"
BUILT_IN = {"MANUAL": "warehouse.carriers.manual.ManualCarrier"}
DEFAULT_CODE = "MANUAL"


@dataclass(frozen=True)
class Rate:
    service: str
    amount: Decimal | None  # None: the carrier quotes it (LTL)
    currency: str = ""
    transit_days: int | None = None
    note: str = ""


@dataclass(frozen=True)
class CarrierDocument:
    """A label or a bill of lading to print: its bytes or text, MIME type and a file name."""

    content: str | bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class Tracking:
    carrier: str
    number: str
    status: str
    shipped_at: datetime | None = None
    events: list = field(default_factory=list)
    url: str = ""


class CarrierAdapter:
    """What every carrier adapter provides. ``code`` is the carrier code on shipments (upper case)."""

    code = ""
    name = ""

    def rate(self, shipment, packages) -> list[Rate]:
        raise NotImplementedError

    def label(self, shipment, packages, *, request=None) -> CarrierDocument:
        raise NotImplementedError

    def track(self, shipment) -> Tracking:
        raise NotImplementedError

    def clean_tracking_number(self, raw: str) -> str:
        """The tracking number as the carrier writes it, or raise ValidationFailed on field ``tracking_number``."""
        raise NotImplementedError


def _load(path: str):
    module, _, name = path.replace(":", ".").rpartition(".")
    return getattr(import_module(module), name)


@lru_cache(maxsize=1)
def registry() -> dict[str, CarrierAdapter]:
    """Carrier code -> adapter: built-ins, then entry points, then the ``CARRIER_ADAPTERS`` setting (last wins)."""
    found: dict[str, type] = {code: _load(path) for code, path in BUILT_IN.items()}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name.upper()] = entry.load()
    for code, path in getattr(settings, "CARRIER_ADAPTERS", {}).items():
        found[code.upper()] = _load(path) if isinstance(path, str) else path
    adapters = {}
    for code, cls in found.items():
        adapter = cls()
        for method in ("rate", "label", "track", "clean_tracking_number"):
            if not callable(getattr(adapter, method, None)):
                raise TypeError(f"carrier adapter {code} ({cls!r}) has no {method}()")
        adapters[code] = adapter
    return adapters


def adapter_for(carrier: str) -> CarrierAdapter:
    """The adapter of carrier code ``carrier``; the manual adapter for a carrier without one."""
    adapters = registry()
    return adapters.get((carrier or "").strip().upper()) or adapters[DEFAULT_CODE]
