from django.apps import AppConfig


class DistributionErpConfig(AppConfig):
    name = "distribution_erp"
    verbose_name = "Distribution ERP"

    def ready(self):
        from core.api import schema  # noqa: F401  (registers the schema extensions)

        from . import checks  # noqa: F401  (registers the system checks)
