"""Purchase.changed_at (what the consumption cube's nightly refresh re-reads, issue 14) and
Purchase.points_held (a pending desk sign-up's purchases earn on approval, issue 15).

Existing purchases take their creation time as their last change, so the first refresh after the
upgrade re-reads nothing old; the column is indexed after the fill."""
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0011_roles_benefits'),
        ('points', '0011_desk_postings_claims_abuse'),
    ]

    operations = [
        migrations.AddField(
            model_name='purchase',
            name='changed_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunSQL("UPDATE points_purchase SET changed_at = created_at", migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='purchase',
            name='changed_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='purchase',
            name='points_held',
            field=models.BigIntegerField(default=0, verbose_name='points held'),
        ),
        migrations.AddConstraint(
            model_name='purchase',
            constraint=models.CheckConstraint(condition=models.Q(('points_held', 0), models.Q(('points_held__gt', 0), ('points_earned', 0), ('member__isnull', False)), _connector='OR'), name='purchase_held_points_not_earned'),
        ),
    ]
