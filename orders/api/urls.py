from django.urls import path

from core.api.router import router

from .bulk import CustomerBulkView
from .purchasing import PurchaseOrderViewSet, SupplierViewSet
from .replenishment import PickFaceViewSet, PolicyViewSet, RunViewSet, SuggestionViewSet
from .returns import ReturnViewSet
from .views import AtpView, CustomerViewSet, SalesOrderViewSet

router.register("customers", CustomerViewSet, basename="customer")
router.register("sales-orders", SalesOrderViewSet, basename="sales-order")
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("purchase-orders", PurchaseOrderViewSet, basename="purchase-order")
router.register("returns", ReturnViewSet, basename="return")
router.register("replenishment/policies", PolicyViewSet, basename="replenishment-policy")
router.register("replenishment/pick-faces", PickFaceViewSet, basename="replenishment-pick-face")
router.register("replenishment/runs", RunViewSet, basename="replenishment-run")
router.register("replenishment/suggestions", SuggestionViewSet, basename="replenishment-suggestion")

# customers/bulk/ before the router's customers/{code}/ (which would take "bulk" as a code)
urlpatterns = [
    path("atp/", AtpView.as_view(), name="atp"),
    path("customers/bulk/", CustomerBulkView.as_view(), name="customer-bulk"),
]
