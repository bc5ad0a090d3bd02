from distribution_erp.api.router import router

from .views import ImportBatchViewSet

router.register("import-batches", ImportBatchViewSet, basename="import-batch")

urlpatterns = []
