from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self):
        from governance.signals import site_created

        from .services.adjustments import register_handlers
        from .services.count_alerts import register_sweeps
        from .services.counts import register_handlers as register_count_handlers
        from .services.master import ensure_virtual_locations

        def _on_site_created(sender, site, **kwargs):
            ensure_virtual_locations(site)

        site_created.connect(_on_site_created, dispatch_uid="inventory.virtual_locations", weak=False)
        register_handlers()
        register_count_handlers()
        register_sweeps()

        from core.actions import register

        from .models import CycleCount
        from .selectors import cycle_count_actions

        register(CycleCount, cycle_count_actions)  # allowed_actions: count
