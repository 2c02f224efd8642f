"""The append-only record of every read of a participant's arm."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('trials', '0007_dsmbrelease'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AllocationRead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('username', models.CharField(max_length=150)),
                ('full_name', models.CharField(blank=True, max_length=300)),
                ('ground', models.CharField(choices=[('pharmacy', "Pharmacist at the participant's site"), ('trial_lock', 'Trial locked'), ('dsmb_release', 'DSMB release'), ('emergency', 'Emergency unblinding of the participant')], max_length=16)),
                ('channel', models.CharField(choices=[('api', 'API'), ('page', 'Page'), ('export', 'Export'), ('form', 'Form data')], max_length=8)),
                ('path', models.CharField(blank=True, help_text='The address or command that showed the arm.', max_length=300)),
                ('at', models.DateTimeField()),
                ('participant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='trials.participant')),
                ('trial', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='trials.trial')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('dsmb_release', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='trials.dsmbrelease')),
            ],
            options={
                'ordering': ['-at', '-pk'],
            },
        ),
        migrations.AddIndex(
            model_name='allocationread',
            index=models.Index(fields=['trial', '-at'], name='allocation_read_trial'),
        ),
        migrations.AddIndex(
            model_name='allocationread',
            index=models.Index(fields=['participant', '-at'], name='allocation_read_participant'),
        ),
        migrations.AddConstraint(
            model_name='allocationread',
            constraint=models.CheckConstraint(condition=models.Q(('ground__in', ['pharmacy', 'trial_lock', 'dsmb_release', 'emergency'])), name='allocation_read_ground_known'),
        ),
        migrations.AddConstraint(
            model_name='allocationread',
            constraint=models.CheckConstraint(condition=models.Q(('channel__in', ['api', 'page', 'export', 'form'])), name='allocation_read_channel_known'),
        ),
        migrations.AddConstraint(
            model_name='allocationread',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('dsmb_release__isnull', False), ('ground', 'dsmb_release')), models.Q(models.Q(('ground', 'dsmb_release'), _negated=True), ('dsmb_release__isnull', True)), _connector='OR'), name='allocation_read_release_named'),
        ),
    ]
