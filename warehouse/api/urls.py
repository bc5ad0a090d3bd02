from distribution_erp.api.router import router

from .views import PutawayTaskViewSet, ReceiptViewSet

router.register("receipts", ReceiptViewSet, basename="receipt")
router.register("putaway-tasks", PutawayTaskViewSet, basename="putaway-task")

urlpatterns = []
