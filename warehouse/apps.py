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

        from core.actions import register
        from orders.models import TransferOrder
        from orders.selectors import register_on_wave_check

        from .models import Wave
        from .services.outbound import order_on_wave, wave_actions
        from .services.transfers import transfer_actions

        register_on_wave_check(order_on_wave)  # a waved order's cancel/hold follows orders.cancel_waved_orders

        from inventory.services.holds import register_release_owner

        from .services.receiving import units_awaiting_inspection

        register_release_owner(units_awaiting_inspection)  # inspection-held units are released by the inspection
        register(Wave, wave_actions)  # allowed_actions: release / pack
        register(TransferOrder, transfer_actions)  # allowed_actions: release / ship / cancel / receive / decide

        from .models import PickTask, PutawayTask, ReplenishmentTask
        from .selectors import task_actions

        for task_model in (PickTask, PutawayTask, ReplenishmentTask):
            register(task_model, task_actions)  # allowed_actions: confirm (/ cancel a refill)
