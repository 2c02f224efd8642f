"""Count every participant's review backlog once, so that the queue reads stored counts from
the start instead of counting each participant afresh until the refresh job has run."""

from django.db import migrations
from django.utils import timezone


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The counts follow the SDV plans of the protocol definitions and the catalogue of form
    # types, which only the application's code knows: the refresh job's own step is used, as
    # the job would run it after the upgrade.
    from casebook.backlog import backlog_refresh_all

    backlog_refresh_all(now=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("casebook", "0002_review_backlog_triggers")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
