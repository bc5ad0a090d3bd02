from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "Warehouse"

    def ready(self):
        from orders.signals import order_withdrawing

        from .services.outbound import withdraw_order_from_waves

        order_withdrawing.connect(withdraw_order_from_waves, dispatch_uid="warehouse.withdraw_order", weak=False)

        from .services.count_requests import connect as connect_count_requests

        connect_count_requests()

        from .services.alerts import register_sweeps

        register_sweeps()

        from .services.floor import connect as connect_floor_events

        connect_floor_events()
