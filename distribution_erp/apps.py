from django.apps import AppConfig


class DistributionErpConfig(AppConfig):
    name = "distribution_erp"
    verbose_name = "Distribution ERP"

    def ready(self):
        from .api import schema  # noqa: F401  (registers the schema extensions)
