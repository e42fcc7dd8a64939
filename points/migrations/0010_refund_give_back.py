"""Issue 14 (PTS-5/6): what a refund gives back of what the order spent, and the validity of points given
back after their expiry."""
import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("points", "0009_gift_collect_days")]

    operations = [
        migrations.AddField(
            model_name="pointsconfig",
            name="give_back_grace_days",
            field=models.PositiveSmallIntegerField(
                default=30, validators=[django.core.validators.MaxValueValidator(366)],
                verbose_name="points given back after their expiry are valid for (days)",
                help_text="Points a refund, a voided offset or a cancelled gift order gives back keep the expiry of "
                          "the lot they were spent from; if that date has passed, they are valid this many days from "
                          "the day they come back. 0 = they are not given back (the refund records them).",
            ),
        ),
        migrations.AddField(
            model_name="refund", name="points_expired",
            field=models.BigIntegerField(default=0, verbose_name="earned points already expired (not reversed)"),
        ),
        migrations.AddField(
            model_name="refund", name="offset_points_returned",
            field=models.BigIntegerField(default=0, verbose_name="offset points given back"),
        ),
        migrations.AddField(
            model_name="refund", name="offset_points_lapsed",
            field=models.BigIntegerField(default=0, verbose_name="offset points not given back (expired)"),
        ),
        migrations.AddField(
            model_name="refund", name="coupons_reinstated",
            field=models.JSONField(blank=True, default=list, verbose_name="coupons reinstated",
                                   help_text="codes of the coupons used on the order, back in the wallet"),
        ),
        migrations.AddField(
            model_name="refund", name="coupons_not_reinstated",
            field=models.JSONField(blank=True, default=list, verbose_name="coupons not reinstated",
                                   help_text="[{code, reason}] of coupons used on the order"),
        ),
        migrations.AlterField(
            model_name="entry", name="kind",
            field=models.CharField(choices=[
                ("credit", "Earned"), ("debit", "Spent"), ("expiry", "Expired"), ("reversal", "Reversed (refund)"),
                ("adjustment", "Manual adjustment"), ("debt", "Owed after refund"),
                ("settlement", "Debt paid from earnings"), ("returned", "Given back (refund, void, cancellation)"),
            ], max_length=16, verbose_name="kind"),
        ),
    ]
