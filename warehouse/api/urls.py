from django.urls import path, re_path

from core.api.router import router

from .views import PutawayTaskViewSet, ReceiptViewSet

router.register("receipts", ReceiptViewSet, basename="receipt")
router.register("putaway-tasks", PutawayTaskViewSet, basename="putaway-task")

from .barcodes import BarcodeLookupView  # noqa: E402
from .recall import LotRecallView  # noqa: E402
from .returns import ReturnReceiveView  # noqa: E402

# before the shared router's returns/ routes (orders'): receiving a return is warehouse work
urlpatterns = [
    path("returns/<int:pk>/receive/", ReturnReceiveView.as_view(), name="return-receive"),
    path("barcodes/lookup/", BarcodeLookupView.as_view(), name="barcode-lookup"),
    # a lot number may hold a slash: everything between the SKU and /recall/
    re_path(r"^lots/(?P<sku>[^/]+)/(?P<lot>.+)/recall/$", LotRecallView.as_view(), name="lot-recall"),
]

from .outbound import PickTaskViewSet, ShipmentViewSet, TransferViewSet, WaveViewSet  # noqa: E402

router.register("waves", WaveViewSet, basename="wave")
router.register("pick-tasks", PickTaskViewSet, basename="pick-task")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("transfer-orders", TransferViewSet, basename="transfer-order")

from .replenishment import ReplenishmentTaskViewSet  # noqa: E402

router.register("replenishment/tasks", ReplenishmentTaskViewSet, basename="replenishment-task")
