from distribution_erp.api.router import router

from .counts import CycleCountViewSet
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

urlpatterns = []
