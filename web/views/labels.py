"""Printable labels (location, item, case, lot, package SSCC) as print-styled HTML with inline SVG barcodes, each
with a ZPL download for thermal printers; the bill of lading of the manual/LTL carrier with its tracking form.

Locations and shipments belong to a site: another site's is a 404. Items and lots are enterprise master data."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from inventory.models import Item, ItemUnit, Location, Lot
from warehouse import labels as label_data
from warehouse.carriers import adapter_for
from warehouse.carriers.manual import ManualCarrier
from warehouse.models import Package, Shipment
from warehouse.services.carriers import record_tracking

from ..shipping_forms import TrackingForm
from ..workspace import field_errors, site_page

ZPL_TYPE = "application/zpl"


def _answer(request, labels: list, *, title: str, filename: str):
    if request.GET.get("format") == "zpl":
        response = HttpResponse(label_data.zpl_document(labels), content_type=f"{ZPL_TYPE}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.zpl"'
        return response
    return render(
        request,
        "warehouse/labels/labels.html",
        {"labels": labels, "title": title, "zpl_url": f"{request.path}?format=zpl"},
    )


@site_page()
def location_label(request, pk, *, site):
    location = Location.objects.select_related("site", "zone").filter(pk=pk).first()
    if location is None or not permissions.can_see_site(request.user, location.site_id):
        raise Http404("No such location.")
    label = label_data.location_label(location)
    return _answer(request, [label], title=f"Location label {location}", filename=label.filename)


def _item(sku: str) -> Item:
    item = Item.objects.filter(sku=sku).first()
    if item is None:
        raise Http404("No such item.")
    return item


@site_page()
def item_label(request, sku, *, site):
    label = label_data.item_label(_item(sku))
    return _answer(request, [label], title=f"Item label {sku}", filename=label.filename)


@site_page()
def case_label(request, sku, unit, *, site):
    item = _item(sku)
    unit_row = ItemUnit.objects.select_related("item").filter(item=item, code=unit.upper()).first()
    if unit_row is None:
        raise Http404("No such unit.")
    lot = None
    if request.GET.get("lot"):
        lot = Lot.objects.filter(item=item, number=request.GET["lot"]).first()
        if lot is None:
            raise Http404("No such lot.")
    label = label_data.case_label(unit_row, lot)
    return _answer(request, [label], title=f"Case label {sku} {unit_row.code}", filename=label.filename)


@site_page()
def lot_label(request, sku, number, *, site):
    lot = Lot.objects.select_related("item").filter(item__sku=sku, number=number).first()
    if lot is None:
        raise Http404("No such lot.")
    label = label_data.lot_label(lot)
    return _answer(request, [label], title=f"Lot label {lot}", filename=label.filename)


def _shipment(request, pk) -> Shipment:
    shipment = Shipment.objects.select_related("site").filter(pk=pk).first()
    if shipment is None or not permissions.can_see_site(request.user, shipment.site_id):
        raise Http404("No such shipment.")
    return shipment


def _packages(request, shipment) -> list[Package]:
    """The packages, each with the SSCC it got at packing (none for one packed before that: it gets it when the
    shipment is confirmed)."""
    return list(Package.objects.filter(shipment=shipment).order_by("number"))


@site_page()
def package_labels(request, pk, *, site):
    shipment = _shipment(request, pk)
    labels = label_data.package_labels(shipment, _packages(request, shipment))
    return _answer(request, labels, title=f"Package labels {shipment.number}", filename=f"sscc-{shipment.number}")


def _bill_of_lading(request, shipment, *, values=None, errors=None, status=200):
    """The shipment's carrier paperwork: the manual/LTL adapter's bill of lading page, with the form that writes
    the tracking number back; a plug-in adapter's label as it makes it (an HTML page or a download)."""
    packages = _packages(request, shipment)
    adapter = adapter_for(shipment.carrier)
    if not isinstance(adapter, ManualCarrier):
        document = adapter.label(shipment, packages, request=request)
        response = HttpResponse(document.content, content_type=document.content_type)
        if not document.content_type.startswith("text/html"):
            response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
        return response
    context = adapter.bill_of_lading_context(shipment, packages)
    if permissions.can(request.user, "warehouse.execute", shipment.site_id) and shipment.status in (
        Shipment.Status.PACKED,
        Shipment.Status.SHIPPED,
    ):
        context["tracking_form"] = {
            "action": reverse("web:shipment-tracking", args=[shipment.pk]),
            "carrier": (values or {}).get("carrier", shipment.carrier or adapter.code),
            "tracking_number": (values or {}).get("tracking_number", shipment.tracking_number),
            "correct": shipment.status == Shipment.Status.SHIPPED,
            "errors": errors or {},
        }
    return render(request, adapter.template, context, status=status)


@site_page()
def bill_of_lading(request, pk, *, site):
    return _bill_of_lading(request, _shipment(request, pk))


@require_POST
@site_page("warehouse.execute")
def shipment_tracking(request, pk, *, site):
    shipment = _shipment(request, pk)
    form = TrackingForm(request.POST)
    form.is_valid()  # text fields and a tick box: always readable; the carrier's adapter checks the number
    values = form.values()
    try:
        shipment = record_tracking(
            user=request.user,
            shipment=shipment,
            carrier=form.cleaned_data.get("carrier", ""),
            tracking_number=form.cleaned_data.get("tracking_number", ""),
            correct=form.cleaned_data.get("correct", False),
        )
    except DomainError as exc:
        shipment.refresh_from_db()
        errors = field_errors(exc)
        return _bill_of_lading(
            request, shipment, values=values, errors=errors, status=exc.status_code if exc.status_code != 404 else 400
        )
    messages.success(request, f"{shipment.number}: {shipment.carrier} tracking {shipment.tracking_number}.")
    return redirect("web:shipment-bill-of-lading", shipment.pk)
