"""Template filters that show codes as labels (web.display); loaded as builtins (settings)."""

from __future__ import annotations

from django import template
from django.apps import apps

from .. import display

register = template.Library()


@register.filter
def choice_label(value, model_field: str):
    """``{{ m.from_status|choice_label:"inventory.StockQuant.status" }}``: the label of a model field's choice."""
    app_model, _, field = model_field.rpartition(".")
    app_label, _, model_name = app_model.partition(".")
    return display.choice_label(apps.get_model(app_label, model_name), field, value)


@register.filter
def rule_label(value):
    return display.rule_label(value)


@register.filter
def approval_kind(value):
    return display.approval_kind_label(value)


@register.filter
def override_reason(value):
    return display.override_reason_label(value)


@register.filter
def reason_code(value):
    return display.reason_code_label(value)


@register.filter
def field_path(value):
    return display.field_path_label(value)


@register.filter
def job_kind(value):
    return display.job_label(value)


@register.filter
def counts_text(value):
    return display.counts_text(value)


@register.filter
def detail_value(value):
    return display.detail_value(value)


@register.simple_tag(takes_context=True)
def allowed_actions(context, document):
    """``{% allowed_actions order as actions %}`` then ``{% if "release" in actions %}``: what the signed-in user may
    do with the document now (core.actions; the owning app's rule, the same its services apply)."""
    from core.actions import allowed_actions as actions_of

    request = context.get("request")
    return actions_of(document, getattr(request, "user", None))
