# Circuit-breaker probe claim on Connector; RateWindow becomes one row per connector (request spacing).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('connectors', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='connector',
            name='breaker_probe_until',
            field=models.DateTimeField(blank=True, help_text="While half-open: the probe's claim; another worker may probe after it.", null=True),
        ),
        migrations.RemoveConstraint(
            model_name='ratewindow',
            name='ratewindow_unique_slot',
        ),
        migrations.AlterField(
            model_name='ratewindow',
            name='connector',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='connectors.connector'),
        ),
        migrations.AlterField(
            model_name='ratewindow',
            name='count',
            field=models.PositiveBigIntegerField(default=0, help_text='Requests let through so far.'),
        ),
        migrations.AlterField(
            model_name='ratewindow',
            name='slot',
            field=models.BigIntegerField(default=0, help_text='Earliest start of the next request, in µs since the epoch.'),
        ),
    ]
