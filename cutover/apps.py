from django.apps import AppConfig


class CutoverConfig(AppConfig):
    name = "cutover"
    verbose_name = "Cutover"

    def ready(self):
        from core.actions import register
        from governance.models import Site
        from governance.services.lifecycle import register_stage_gate

        from . import selectors
        from .models import ImportBatch
        from .services import actions, batches, go_live, signoff

        batches.register_handlers()
        go_live.register_handlers()
        signoff.register_handlers()
        # allowed_actions: validate / post / reconcile / sign_off / decide_sign_off
        register(ImportBatch, actions.batch_actions)
        # the readiness scorecard is the gate of the step to LIVE: change_stage stores it and refuses on RED
        register_stage_gate(Site.Stage.LIVE, selectors.readiness_gate)
