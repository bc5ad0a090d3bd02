from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        from .services.heartbeats import connect_process_signals
        from .services.outbox import connect_task_signals
        from .services.rules import register_handlers

        register_handlers()  # RULE_CHANGE approvals: a control rule's site override changes once approved

        connect_task_signals()  # outbox rows are marked done when their task finishes
        from .services.outbox import register_event_subscriber
        from .services.webhooks import TAKES_EVENT_SQL, fan_out

        # domain events -> webhook deliveries; an event no active subscription takes is not fanned out
        register_event_subscriber(fan_out, takes_sql=TAKES_EVENT_SQL)
        connect_process_signals()  # worker and beat heartbeats

        from core.actions import register

        from .models import ApprovalRequest, ExceptionCase
        from .services.approvals import approval_actions
        from .services.exceptions import exception_actions

        register(ApprovalRequest, approval_actions)  # allowed_actions: approve / reject
        register(ExceptionCase, exception_actions)  # allowed_actions: acknowledge / resolve / assign

        from . import admin_rollout  # noqa: F401  (registers the rollout wave admin)
