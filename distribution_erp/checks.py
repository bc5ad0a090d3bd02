"""System checks of the project (``manage.py check``; registered in DistributionErpConfig.ready)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    """``check --deploy`` fails (an Error, exit status 1) while SECRET_KEY is the built-in development key or as
    weak as Django's own security.W009 warning describes: Django only warns, and a warning does not fail the
    command the README tells deployments to run."""
    key = str(getattr(settings, "SECRET_KEY", "") or "")
    if key.startswith("django-insecure-") or len(key) < 50 or len(set(key)) < 5:
        return [
            Error(
                "SECRET_KEY is the development default or too weak (fewer than 50 characters or 5 distinct ones).",
                hint="Set DJANGO_SECRET_KEY to a long random value, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                id="distribution_erp.E001",
            )
        ]
    return []
