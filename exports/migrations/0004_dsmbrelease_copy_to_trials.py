"""DSMB releases move to trials: copy every release and its history, keeping their ids."""

from django.db import migrations

from exports.migrations._releases import copy_releases


def to_trials(apps, schema_editor):
    copy_releases(apps, schema_editor, "exports", "trials")


def remove_copies(apps, schema_editor):
    # Going back, the exports tables still hold every release: drop the copies.
    for name in ("HistoricalDsmbRelease", "DsmbRelease"):
        apps.get_model("trials", name).objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("exports", "0003_history_reason_as_text"),
        ("trials", "0009_dsmbrelease_history_actor_names"),
    ]

    operations = [migrations.RunPython(to_trials, remove_copies)]
