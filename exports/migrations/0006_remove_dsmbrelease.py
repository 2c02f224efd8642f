"""The exports app's own DSMB release tables go; their rows live on in trials."""

from django.db import migrations

from exports.migrations._releases import copy_releases


def back_to_exports(apps, schema_editor):
    copy_releases(apps, schema_editor, "trials", "exports")


class Migration(migrations.Migration):

    dependencies = [
        ("exports", "0005_export_dsmb_release_in_trials"),
    ]

    operations = [
        # Undone last when going back: the tables exist again by then and take the rows.
        migrations.RunPython(migrations.RunPython.noop, back_to_exports),
        migrations.DeleteModel(name="HistoricalDsmbRelease"),
        migrations.DeleteModel(name="DsmbRelease"),
    ]
