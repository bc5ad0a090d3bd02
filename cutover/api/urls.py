from django.urls import path

from core.api.router import router

from .readiness import GoLiveRequestViewSet, SiteGoLiveRequestView, SiteReadinessView, TrainingRecordViewSet
from .views import ImportBatchViewSet

router.register("import-batches", ImportBatchViewSet, basename="import-batch")
router.register("go-live-requests", GoLiveRequestViewSet, basename="go-live-request")
router.register("training-records", TrainingRecordViewSet, basename="training-record")

urlpatterns = [
    path("sites/<str:code>/readiness/", SiteReadinessView.as_view(), name="site-readiness"),
    path("sites/<str:code>/go-live-request/", SiteGoLiveRequestView.as_view(), name="site-go-live-request"),
]
