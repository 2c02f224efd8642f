"""The trial's lock instant, kept by review's trial lock for the blinding gate."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('trials', '0005_history_reason_as_text'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicaltrial',
            name='locked_at',
            field=models.DateTimeField(blank=True, editable=False, help_text='When the trial database was locked; empty while it is not locked.', null=True),
        ),
        migrations.AddField(
            model_name='trial',
            name='locked_at',
            field=models.DateTimeField(blank=True, editable=False, help_text='When the trial database was locked; empty while it is not locked.', null=True),
        ),
    ]
