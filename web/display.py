"""What codes read as on the pages (issue 15): one place that turns a stored code into the label a person reads.

- a model field with ``choices``: ``choice_label(Model, "field", value)`` (the model's own labels);
- codes kept in plain CharFields: allocation rules (``orders.services.allocation.RULE_LABELS``), approval kinds
  (declared with ``governance.services.approval_kind``), putaway override reasons
  (``warehouse.services.putaway.OVERRIDE_REASON_LABELS``) and stock move reason codes (the adjustment and hold
  reasons of ``inventory.models``); every map is defined once, next to its codes, and only read here;
- field paths of a service's error rows (``lines[1].item``) as "Line 2: item";
- a history record's change of a choice field as the labels of both values.

The templates reach these through the filters in ``templatetags/display.py``.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _

_PATH = re.compile(r"^(\w+)\[(\d+)\]\.?(\w*)$")
_FIELD_NAMES = {
    "lines": _("Line"),
}


def humanize_code(code: str) -> str:
    """A code nobody gave a label reads as words: "CUTOVER_SIGNOFF" -> "Cutover signoff"."""
    return code.replace("_", " ").capitalize() if code else ""


def choice_label(model: type[models.Model], field: str, value: Any) -> str:
    """The label of ``value`` in ``model.field``'s choices (the value itself when it is not one of them)."""
    if value in (None, ""):
        return ""
    try:
        choices = model._meta.get_field(field).flatchoices
    except FieldDoesNotExist:
        return str(value)
    for key, label in choices or ():
        if str(key) == str(value):
            return str(label)
    return str(value)


def rule_label(rule: str) -> str:
    from orders.services.allocation import rule_label as label

    return label(rule) if rule else ""


def approval_kind_label(kind: str) -> str:
    from governance.services.approvals import approval_kind_label as label

    return label(kind) if kind else ""


def override_reason_label(code: str) -> str:
    from warehouse.services.putaway import OVERRIDE_REASON_LABELS

    return str(OVERRIDE_REASON_LABELS.get(code) or humanize_code(code))


def reason_code_label(code: str) -> str:
    """A stock move's reason code: a hold, release or move reason (inventory.policy.holds), an adjustment reason,
    or a putaway override reason."""
    if not code:
        return ""
    from inventory import models as inventory_models
    from inventory.policy.holds import HOLD_REASONS, MOVE_REASONS, RELEASE_REASONS
    from warehouse.services.putaway import OVERRIDE_REASON_LABELS

    for labels in (HOLD_REASONS, RELEASE_REASONS, MOVE_REASONS, OVERRIDE_REASON_LABELS):
        if code in labels:
            return str(labels[code])
    for cls in _reason_choices(inventory_models):
        if code in cls.values:
            return str(cls(code).label)
    return humanize_code(code) if code.isupper() else code


def _reason_choices(module) -> list[type[models.TextChoices]]:
    out = []
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, models.Model):
            for inner in vars(value).values():
                if isinstance(inner, type) and issubclass(inner, models.TextChoices) and "Reason" in inner.__name__:
                    out.append(inner)
    return out


def field_path_label(path: str) -> str:
    """``lines[1].item`` -> "Line 2: item"; ``promised_date`` -> "Promised date"; '' stays ''."""
    if not path:
        return ""
    match = _PATH.match(path)
    if match:
        name, index, rest = match.groups()
        head = f"{_FIELD_NAMES.get(name, name.replace('_', ' ').capitalize())} {int(index) + 1}"
        return f"{head}: {rest.replace('_', ' ')}" if rest else head
    return path.replace("_", " ").capitalize()


def history_value(model: type[models.Model], field: str, value: Any) -> Any:
    """A history diff's value as people read it: a choice field's label, else the value."""
    try:
        model_field = model._meta.get_field(field)
    except FieldDoesNotExist:
        return value
    if model_field.choices and value not in (None, ""):
        return choice_label(model, field, value)
    return value


def detail_value(value: Any) -> str:
    """A JSON value as a sentence part: lists joined, mappings as "key: value", booleans as yes/no, codes as words."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, dict):
        return "; ".join(
            f"{humanize_code(str(k)) if str(k).isupper() else str(k).replace('_', ' ')}: {detail_value(v)}"
            for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return ", ".join(detail_value(v) for v in value) or "—"
    if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", value):
        return humanize_code(value)
    return str(value)


def detail_rows(details: dict | None) -> list[tuple[str, str]]:
    """An exception's or event's ``details`` (JSON) as (label, text) rows, in key order."""
    return [
        (str(key).replace("_", " ").capitalize(), detail_value(value)) for key, value in sorted((details or {}).items())
    ]


def job_label(kind: str) -> str:
    """A job run's kind ("allocation_sweep", "replenishment.plan") in words: "Allocation sweep"."""
    return kind.replace(".", " ").replace("_", " ").capitalize() if kind else ""


def counts_text(counts: dict | None, prefix: str = "") -> str:
    """A job run's counts ({"announced": 15, "by_site": {"DC1": 2}}) as "announced 15, by site · DC1 2"."""
    parts = []
    for key, value in (counts or {}).items():
        name = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, dict):
            inner = counts_text(value, prefix=f"{name} · ")
            if inner:
                parts.append(inner)
        else:
            parts.append(f"{name} {detail_value(value)}")
    return ", ".join(parts)
