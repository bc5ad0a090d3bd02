"""``allowed_actions(document, user)``: what this user may do with this document now — the one answer that the
pages (which buttons to offer), the API (``allowed_actions`` in a document's answer) and the owning app's
services (their guards read the same policy under the row lock) share.

Each owning app registers one function per document model in its ``AppConfig.ready()``
(``core.actions.register(SalesOrder, order_actions)``); ``core`` knows no model. A function takes the document
and the user and returns the action names (the app's own vocabulary, e.g. ``"release"``, ``"approve"``). It
combines the document's state machine (pure policy in ``<app>/policy``), the user's permissions at the
document's site and segregation of duties; it only reads. A document without a registered function allows
nothing (an unknown kind never shows a button)."""

from __future__ import annotations

from collections.abc import Callable

_REGISTRY: dict[type, Callable[[object, object], frozenset[str]]] = {}


def register(model: type, function: Callable[[object, object], frozenset[str]]) -> None:
    """The owning app's answer for documents of ``model`` (and its subclasses)."""
    _REGISTRY[model] = function


def allowed_actions(document, user) -> frozenset[str]:
    """The actions ``user`` may take on ``document`` now (empty for no user, an anonymous one or no document)."""
    if document is None or user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    for cls in type(document).__mro__:
        function = _REGISTRY.get(cls)
        if function is not None:
            return frozenset(function(document, user))
    return frozenset()
