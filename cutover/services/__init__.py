"""Every write of the cutover app."""

from .batches import APPROVAL_KIND, PostRefused, create_batch, post_batch, request_post, validate_batch
from .reconciliation import reconcile_batch

__all__ = [
    "APPROVAL_KIND",
    "PostRefused",
    "create_batch",
    "post_batch",
    "reconcile_batch",
    "request_post",
    "validate_batch",
]
