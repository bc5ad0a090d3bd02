from django.urls import path

from distribution_erp.api.router import router

from .views import AtpView, CustomerViewSet, SalesOrderViewSet

router.register("customers", CustomerViewSet, basename="customer")
router.register("sales-orders", SalesOrderViewSet, basename="sales-order")

urlpatterns = [path("atp/", AtpView.as_view(), name="atp")]
