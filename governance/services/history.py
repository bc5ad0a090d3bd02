from __future__ import annotations


def set_history_user(instance, user):
    """Record ``user`` as the author of the next history row of ``instance`` (works without a request)."""
    if user is not None and getattr(user, "is_authenticated", False):
        instance._history_user = user
    return instance
