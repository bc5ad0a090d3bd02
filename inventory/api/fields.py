"""Inventory's natural-key serializer fields: an item by SKU (enterprise master data)."""

from __future__ import annotations

from core.api.fields import NaturalKeyField
from inventory.models import Item


class ItemField(NaturalKeyField):
    """An item by ``sku`` (items are enterprise master data: every signed-in user may name them)."""

    key_field = "sku"
    label_text = "item"

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Item SKU")
        super().__init__(**kwargs)

    def get_queryset(self):
        return Item.objects.prefetch_related("units")
