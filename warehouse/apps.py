from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "Warehouse"

    def ready(self):
        from .services.transfers import register_handlers

        register_handlers()

        from .services.alerts import register_sweeps

        register_sweeps()
