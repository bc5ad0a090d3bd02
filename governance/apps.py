from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        from .services.heartbeats import connect_process_signals
        from .services.outbox import connect_task_signals

        connect_task_signals()  # outbox rows are marked done when their task finishes
        connect_process_signals()  # worker and beat heartbeats
