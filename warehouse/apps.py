from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "Warehouse"

    def ready(self):
        from .services.count_requests import connect as connect_count_requests
        from .services.transfers import register_handlers

        register_handlers()

        from .services.replenishment import register_handlers as register_replenishment

        register_replenishment()
        connect_count_requests()

        from .services.returns import connect as connect_returns

        connect_returns()

        from .services.alerts import register_sweeps

        register_sweeps()
