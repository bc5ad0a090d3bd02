from django.urls import path

from distribution_erp.api.router import router

from .purchasing import PurchaseOrderViewSet, SupplierViewSet
from .views import AtpView, CustomerViewSet, SalesOrderViewSet

router.register("customers", CustomerViewSet, basename="customer")
router.register("sales-orders", SalesOrderViewSet, basename="sales-order")
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("purchase-orders", PurchaseOrderViewSet, basename="purchase-order")

urlpatterns = [path("atp/", AtpView.as_view(), name="atp")]
