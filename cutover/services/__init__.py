"""Every write of the cutover app."""

from .batches import APPROVAL_KIND, PostRefused, create_batch, post_batch, request_post, validate_batch
from .go_live import decide_go_live, request_go_live
from .reconciliation import reconcile_batch
from .signoff import decide_sign_off, sign_off
from .training import record_training, revoke_training

__all__ = [
    "APPROVAL_KIND",
    "PostRefused",
    "create_batch",
    "decide_go_live",
    "decide_sign_off",
    "post_batch",
    "reconcile_batch",
    "record_training",
    "request_go_live",
    "request_post",
    "revoke_training",
    "sign_off",
    "validate_batch",
]
