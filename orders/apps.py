from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        from inventory.selectors import register_integrity_check
        from inventory.signals import stock_available

        from .services.allocation import allocation_drift
        from .services.orders import register_handlers

        def _on_stock_available(sender, site_id, item_ids, **kwargs):
            from governance.services.outbox import enqueue_task

            from .tasks import fill_backorders_task

            # sent inside the ledger's transaction: the outbox row commits with the stock move
            enqueue_task(fill_backorders_task, args=[site_id, list(item_ids)], site=site_id)

        stock_available.connect(_on_stock_available, dispatch_uid="orders.fill_backorders", weak=False)
        register_integrity_check(allocation_drift)
        from inventory.selectors import register_in_transit_out

        from .selectors import in_transit_out_expression

        register_in_transit_out(in_transit_out_expression)
        register_handlers()

        from .services.returns import register_handlers as register_return_handlers

        register_return_handlers()

        from .services.transfers import register_handlers as register_transfer_handlers

        register_transfer_handlers()

        from .services.alerts import register_sweeps

        register_sweeps()

        from core.actions import register

        from .models import PurchaseOrder, ReplenishmentSuggestion, SalesOrder
        from .selectors import order_actions, purchase_order_actions, suggestion_actions

        register(PurchaseOrder, purchase_order_actions)  # allowed_actions: receive
        register(ReplenishmentSuggestion, suggestion_actions)  # allowed_actions: accept / dismiss
        register(SalesOrder, order_actions)  # allowed_actions: edit / validate / release / hold / cancel / decide_hold
