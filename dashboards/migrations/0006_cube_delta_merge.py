"""The consumption cube's nightly refresh merges a day's changes into the facts (issue 14): facts keep
the member's totals and attributes and their purchase-level cells as an object, and
ConsumptionCounted says how each purchase is counted. Facts of the old shape cannot be merged into,
so the computed periods are forgotten: the page says "not computed yet" until the next nightly run
builds the current month and year, and `manage.py backfill_consumption_cube` rebuilds the rest."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dashboards', '0005_verbose_names'),
    ]

    operations = [
        migrations.RunSQL(
            "DELETE FROM dashboards_consumptioncube; DELETE FROM dashboards_consumptionfact; "
            "DELETE FROM dashboards_consumptionperiod;",
            reverse_sql=migrations.RunSQL.noop),
        migrations.CreateModel(
            name='ConsumptionCounted',
            fields=[
                ('pk', models.CompositePrimaryKey('period', 'purchase_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('period', models.CharField(max_length=7, verbose_name='period')),
                ('purchase_id', models.BigIntegerField(verbose_name='purchase id')),
                ('member_id', models.BigIntegerField(verbose_name='member id')),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='amount')),
            ],
        ),
        migrations.AddField(
            model_name='consumptionfact',
            name='age_band',
            field=models.CharField(blank=True, max_length=8, verbose_name='age band'),
        ),
        migrations.AddField(
            model_name='consumptionfact',
            name='amount',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='amount'),
        ),
        migrations.AddField(
            model_name='consumptionfact',
            name='city',
            field=models.CharField(blank=True, max_length=20, verbose_name='city'),
        ),
        migrations.AddField(
            model_name='consumptionfact',
            name='gender',
            field=models.CharField(blank=True, max_length=1, verbose_name='gender'),
        ),
        migrations.AddField(
            model_name='consumptionfact',
            name='orders',
            field=models.IntegerField(default=0, verbose_name='orders'),
        ),
        migrations.AddField(
            model_name='consumptionfact',
            name='province',
            field=models.CharField(blank=True, max_length=20, verbose_name='province'),
        ),
        migrations.AlterField(
            model_name='consumptionfact',
            name='cells',
            field=models.JSONField(default=dict, verbose_name='cells'),
        ),
    ]
