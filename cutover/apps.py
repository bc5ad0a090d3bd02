from django.apps import AppConfig


class CutoverConfig(AppConfig):
    name = "cutover"
    verbose_name = "Cutover"

    def ready(self):
        from governance.models import Site
        from governance.services.lifecycle import register_stage_gate

        from . import selectors
        from .services import batches, go_live, signoff

        batches.register_handlers()
        go_live.register_handlers()
        signoff.register_handlers()
        # the readiness scorecard is the gate of the step to LIVE: change_stage stores it and refuses on RED
        register_stage_gate(Site.Stage.LIVE, selectors.readiness_gate)
