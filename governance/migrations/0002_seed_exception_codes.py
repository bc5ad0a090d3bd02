from django.db import migrations


def seed(apps, schema_editor):
    from governance.catalog import ensure_exception_codes

    ensure_exception_codes(apps)


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
