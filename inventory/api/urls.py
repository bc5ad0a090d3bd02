from django.urls import path

from core.api.router import router

from .bulk import ItemBulkView, LocationBulkView, StockLevelQueryView
from .counts import CycleCountViewSet
from .stock_actions import StockHoldView, StockMoveView, StockReleaseView
from .views import (
    AdjustmentViewSet,
    ItemViewSet,
    LocationViewSet,
    StockLevelViewSet,
    StockMoveViewSet,
    StockQuantViewSet,
)

router.register("items", ItemViewSet, basename="item")
router.register("locations", LocationViewSet, basename="location")
router.register("stock-levels", StockLevelViewSet, basename="stock-level")
router.register("stock-quants", StockQuantViewSet, basename="stock-quant")
router.register("stock-moves", StockMoveViewSet, basename="stock-move")
router.register("adjustments", AdjustmentViewSet, basename="adjustment")
router.register("cycle-counts", CycleCountViewSet, basename="cycle-count")

# before the router's detail routes (items/{sku}/ would take "bulk" as a SKU)
urlpatterns = [
    path("items/bulk/", ItemBulkView.as_view(), name="item-bulk"),
    path("locations/bulk/", LocationBulkView.as_view(), name="location-bulk"),
    path("stock-levels/query/", StockLevelQueryView.as_view(), name="stock-level-query"),
    path("stock/move/", StockMoveView.as_view(), name="stock-move-action"),
    path("stock/hold/", StockHoldView.as_view(), name="stock-hold"),
    path("stock/release/", StockReleaseView.as_view(), name="stock-release"),
]
