from core.api.router import router

from .notifications import NotificationViewSet
from .rollout import RolloutWaveViewSet
from .views import ApprovalViewSet, ExceptionViewSet, JobRunViewSet, SiteMembershipViewSet, SiteRuleViewSet, SiteViewSet
from .webhooks import EventFeedViewSet, WebhookDeliveryViewSet, WebhookSubscriptionViewSet

router.register("sites", SiteViewSet, basename="site")
router.register("rollout-waves", RolloutWaveViewSet, basename="rollout-wave")
router.register("site-memberships", SiteMembershipViewSet, basename="site-membership")
router.register("site-rules", SiteRuleViewSet, basename="site-rule")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("exceptions", ExceptionViewSet, basename="exception")
router.register("jobs", JobRunViewSet, basename="job")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("webhook-subscriptions", WebhookSubscriptionViewSet, basename="webhook-subscription")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("events", EventFeedViewSet, basename="event")

urlpatterns = []
