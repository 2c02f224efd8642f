"""Exports name their DSMB release in trials (a migration of its own: on PostgreSQL the new
foreign key cannot be added in the transaction that copied the rows it points at)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("exports", "0004_dsmbrelease_copy_to_trials"),
        ("trials", "0009_dsmbrelease_history_actor_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="export",
            name="dsmb_release",
            field=models.ForeignKey(
                blank=True,
                help_text="The release that allowed this unblinded export before trial lock.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="exports",
                to="trials.dsmbrelease",
            ),
        ),
        migrations.AlterField(
            model_name="historicalexport",
            name="dsmb_release",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The release that allowed this unblinded export before trial lock.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="trials.dsmbrelease",
            ),
        ),
    ]
