from django.apps import AppConfig


class DistributionErpConfig(AppConfig):
    name = "distribution_erp"
    verbose_name = "Distribution ERP"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .api import schema  # noqa: F401  (registers the schema extensions)
