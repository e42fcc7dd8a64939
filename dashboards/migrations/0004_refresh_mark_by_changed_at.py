"""The cube's refresh finds changed purchases by points_purchase.changed_at (points 0012), no longer by
id watermarks: a claim or a refund changes an old purchase without writing a new purchase row."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dashboards', '0003_consumption_periods_facts'),
        ('points', '0012_purchase_changed_at_points_held'),
    ]

    operations = [
        migrations.RemoveField(model_name='consumptionrefreshmark', name='purchases_through_id'),
        migrations.RemoveField(model_name='consumptionrefreshmark', name='refunds_through_id'),
    ]
