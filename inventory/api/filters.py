"""Query filters of the inventory API, named after the fields they filter; related objects by natural key
(``?site=DC1&item=SKU-1&location=A-01-01&lot=L1&status=AVAILABLE``)."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from core.api.feeds import updated_since_filter
from inventory.models import Adjustment, InventoryStatus, Item, Location, StockLevel, StockMove, StockQuant

SITE_HELP = "Site code"
ITEM_HELP = "Item SKU"
LOCATION_HELP = "Location code (codes are unique within a site: combine with `site`)"


class ItemFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter()
    category = django_filters.CharFilter()
    storage_type = django_filters.CharFilter()
    abc_class = django_filters.ChoiceFilter(choices=Item.AbcClass.choices)
    lot_tracked = django_filters.BooleanFilter()
    active = django_filters.BooleanFilter()
    search = django_filters.CharFilter(method="filter_search", help_text="Part of the SKU or description")
    updated_since = updated_since_filter()

    class Meta:
        model = Item
        fields = ["sku", "category", "storage_type", "abc_class", "lot_tracked", "active"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(sku__icontains=value) | Q(description__icontains=value))


class LocationFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text=SITE_HELP)
    zone = django_filters.CharFilter(field_name="zone__code", help_text="Zone code")
    code = django_filters.CharFilter()
    kind = django_filters.ChoiceFilter(choices=Location.Kind.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = Location
        fields = ["site", "zone", "code", "kind", "active"]


class StockLevelFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text=SITE_HELP)
    item = django_filters.CharFilter(field_name="item__sku", help_text=ITEM_HELP)
    available_below = django_filters.NumberFilter(field_name="available", lookup_expr="lt")
    updated_since = updated_since_filter()

    class Meta:
        model = StockLevel
        fields = ["site", "item"]


class StockQuantFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text=SITE_HELP)
    item = django_filters.CharFilter(field_name="item__sku", help_text=ITEM_HELP)
    location = django_filters.CharFilter(field_name="location__code", help_text=LOCATION_HELP)
    lot = django_filters.CharFilter(field_name="lot__number", help_text="Lot number")
    status = django_filters.ChoiceFilter(choices=InventoryStatus.choices)
    nonzero = django_filters.BooleanFilter(method="filter_nonzero", help_text="Only quants holding stock")

    class Meta:
        model = StockQuant
        fields = ["site", "item", "location", "lot", "status"]

    def filter_nonzero(self, queryset, name, value):
        return queryset.filter(quantity__gt=0) if value else queryset


class StockMoveFilter(django_filters.FilterSet):
    """A move matches ``site`` / ``location`` when either end is there."""

    site = django_filters.CharFilter(method="filter_ends", help_text=SITE_HELP + " (either end of the move)")
    location = django_filters.CharFilter(method="filter_ends", help_text=LOCATION_HELP + " (either end)")
    item = django_filters.CharFilter(field_name="item__sku", help_text=ITEM_HELP)
    lot = django_filters.CharFilter(field_name="lot__number", help_text="Lot number")
    kind = django_filters.ChoiceFilter(choices=StockMove.Kind.choices)
    reference = django_filters.CharFilter(help_text="Document number, e.g. ADJ-000012")
    reason_code = django_filters.CharFilter()
    created_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockMove
        fields = ["item", "lot", "kind", "reference", "reason_code"]

    def filter_ends(self, queryset, name, value):
        site = self.form.cleaned_data.get("site")
        location = self.form.cleaned_data.get("location")
        if name == "site" and location:
            return queryset  # applied together with the location below
        ends = Q()
        for end in ("from_location", "to_location"):
            q = Q()
            if site:
                q &= Q(**{f"{end}__site__code": site})
            if location:
                q &= Q(**{f"{end}__code": location})
            ends |= q
        return queryset.filter(ends)


class AdjustmentFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text=SITE_HELP)
    item = django_filters.CharFilter(field_name="item__sku", help_text=ITEM_HELP)
    location = django_filters.CharFilter(field_name="location__code", help_text=LOCATION_HELP)
    status = django_filters.ChoiceFilter(choices=Adjustment.Status.choices)
    reason_code = django_filters.ChoiceFilter(choices=Adjustment.Reason.choices)
    number = django_filters.CharFilter()

    class Meta:
        model = Adjustment
        fields = ["site", "item", "location", "status", "reason_code", "number"]
