"""Each trial under an active trial lock gets its lock instant on the trial itself."""

from django.db import migrations


def from_locks(apps, schema_editor):
    Lock = apps.get_model("review", "Lock")
    Trial = apps.get_model("trials", "Trial")
    active = Lock.objects.filter(level="trial", unlocked_at__isnull=True).order_by("locked_at")
    for trial_id, locked_at in active.values_list("trial_id", "locked_at"):
        # The earliest active lock counts; a plain update: the lock's own history says who.
        Trial.objects.filter(pk=trial_id, locked_at__isnull=True).update(locked_at=locked_at)


def clear(apps, schema_editor):
    apps.get_model("trials", "Trial").objects.update(locked_at=None)


class Migration(migrations.Migration):

    dependencies = [
        ("review", "0003_history_reason_as_text"),
        ("trials", "0006_trial_locked_at"),
    ]

    operations = [migrations.RunPython(from_locks, clear)]
