"""API token scopes (issue 12, finding 7): tokens made before this migration get every scope there is (they
keep working as before); created_by / revoked_by say who made and revoked a token (the tokens page)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import core.api.scopes

#: every scope at the time of this migration (core.api.scopes.ALL_SCOPES): existing tokens get them
FULL_SCOPE = ["read", "orders", "inventory", "warehouse", "purchasing", "governance"]


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0007_idempotency_purge_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="revoked_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        # existing rows: the full scope, frozen here; then the model's default for rows made without scopes
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.JSONField(default=FULL_SCOPE, help_text="Scopes of core.api.scopes"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="scopes",
            field=models.JSONField(
                default=core.api.scopes.all_token_scopes, help_text="Scopes of core.api.scopes"
            ),
        ),
    ]
