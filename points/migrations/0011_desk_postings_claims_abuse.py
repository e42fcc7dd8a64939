"""Desk postings with receipt, caps and second approver; points claims and member-less till purchases;
abuse flags with their review queue and nightly job (PTS-11). Re-attaches role permissions."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

SCHEDULES = [
    # job, hour, minute (Asia/Shanghai): after the day's refunds and redemptions are in
    ("flag_abuse", 1, 50),
]


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, hour, minute in SCHEDULES:
        cron, _ = CrontabSchedule.objects.get_or_create(
            minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.get_or_create(
            name=f"nightly: {name}",
            defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": f'["{name}"]', "queue": "nightly"},
        )


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[f"nightly: {name}" for name, _h, _m in SCHEDULES]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0011_roles_benefits'),
        ('points', '0010_refund_give_back'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        ('core', '0004_auditlog_points_actions'),
    ]

    operations = [
        migrations.CreateModel(
            name='AbuseCase',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('flag', models.CharField(choices=[('frequent_purchases', 'Many purchases within an hour'), ('refund_share', 'Refunds above the share of 30-day spend'), ('quick_redemption', 'Points redeemed minutes after being earned'), ('clerk_many_members', 'One clerk posting for many members')], max_length=32, verbose_name='flag')),
                ('detail', models.CharField(max_length=300, verbose_name='what was found')),
                ('flagged_on', models.DateField(verbose_name='flagged on')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time')),
                ('status', models.CharField(choices=[('open', 'Open'), ('suspended', 'Member suspended'), ('dismissed', 'Dismissed')], db_index=True, default='open', max_length=16, verbose_name='status')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('decision_note', models.CharField(blank=True, max_length=200, verbose_name='note')),
            ],
            options={
                'verbose_name': 'abuse review case',
                'verbose_name_plural': 'abuse review cases',
                'ordering': ['-created_at', '-id'],
                'permissions': [('review_abusecase', 'Can review abuse flags (suspend or dismiss)')],
            },
        ),
        migrations.CreateModel(
            name='AbuseRules',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('purchases_per_hour', models.PositiveSmallIntegerField(default=5, verbose_name='flag more purchases per member within an hour than')),
                ('refund_share_percent', models.PositiveSmallIntegerField(default=50, validators=[django.core.validators.MaxValueValidator(100)], verbose_name='flag refunds above this share of 30-day spend (%)')),
                ('refund_min_amount', models.DecimalField(decimal_places=2, default=Decimal('1000.00'), max_digits=12, verbose_name='… when the refunds reach at least (yuan)')),
                ('quick_redeem_minutes', models.PositiveSmallIntegerField(default=10, verbose_name='flag points redeemed within this many minutes of being earned')),
                ('quick_redeem_min_points', models.PositiveIntegerField(default=1000, verbose_name='… when at least this many points are redeemed')),
                ('clerk_members_per_day', models.PositiveSmallIntegerField(default=20, verbose_name='flag a clerk posting at the desk for more members per day than')),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name': 'abuse flag settings',
                'verbose_name_plural': 'abuse flag settings',
            },
        ),
        migrations.CreateModel(
            name='DeskPosting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('receipt_no', models.CharField(help_text="the till's order number printed on the receipt", max_length=64, verbose_name='receipt number')),
                ('occurred_at', models.DateTimeField(verbose_name='time of the purchase')),
                ('amount_total', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='bill amount')),
                ('lines', models.JSONField(default=list, verbose_name='lines')),
                ('tenders', models.JSONField(default=list, verbose_name='tenders')),
                ('status', models.CharField(choices=[('pending', 'Waiting for approval'), ('posted', 'Posted'), ('rejected', 'Rejected')], db_index=True, max_length=16, verbose_name='status')),
                ('approval_reason', models.CharField(blank=True, max_length=200, verbose_name='why it needs approval')),
                ('requested_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='posted at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('reject_reason', models.CharField(blank=True, max_length=200, verbose_name='rejection reason')),
            ],
            options={
                'verbose_name': 'desk posting',
                'verbose_name_plural': 'desk postings',
                'ordering': ['-requested_at', '-id'],
                'permissions': [('approve_deskposting', 'Can approve desk postings above the caps')],
            },
        ),
        migrations.CreateModel(
            name='PointsClaim',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('receipt_no', models.CharField(max_length=64, verbose_name='receipt number')),
                ('purchased_on', models.DateField(verbose_name='date of the purchase')),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='bill amount')),
                ('channel', models.CharField(choices=[('portal', 'Member portal'), ('desk', 'Service desk')], max_length=16, verbose_name='channel')),
                ('status', models.CharField(choices=[('pending', 'Waiting for review'), ('credited', 'Credited'), ('rejected', 'Rejected')], db_index=True, max_length=16, verbose_name='status')),
                ('review_note', models.CharField(blank=True, max_length=200, verbose_name='why it needs review')),
                ('points', models.BigIntegerField(default=0, verbose_name='points credited')),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='claimed at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('reject_reason', models.CharField(blank=True, max_length=200, verbose_name='rejection reason')),
            ],
            options={
                'verbose_name': 'points claim',
                'verbose_name_plural': 'points claims',
                'ordering': ['-created_at', '-id'],
                'permissions': [('review_pointsclaim', 'Can approve or reject points claims')],
            },
        ),
        migrations.AddField(
            model_name='pointsconfig',
            name='claim_window_days',
            field=models.PositiveSmallIntegerField(default=30, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(366)], verbose_name='points claims accepted within (days after the purchase)'),
        ),
        migrations.AddField(
            model_name='pointsconfig',
            name='desk_clerk_daily_max_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('10000.00'), max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0.00'))], verbose_name="a clerk's desk postings per day above this need a second approver (yuan)"),
        ),
        migrations.AddField(
            model_name='pointsconfig',
            name='desk_posting_max_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('2000.00'), max_digits=12, validators=[django.core.validators.MinValueValidator(Decimal('0.00'))], verbose_name='desk postings above this bill need a second approver (yuan)'),
        ),
        migrations.AlterField(
            model_name='purchase',
            name='member',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='purchases', to='members.member', verbose_name='member'),
        ),
        migrations.AddConstraint(
            model_name='purchase',
            constraint=models.CheckConstraint(condition=models.Q(('member__isnull', False), ('points_earned', 0), _connector='OR'), name='purchase_without_member_earns_nothing'),
        ),
        migrations.AddField(
            model_name='abusecase',
            name='clerk',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='clerk'),
        ),
        migrations.AddField(
            model_name='abusecase',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by'),
        ),
        migrations.AddField(
            model_name='abusecase',
            name='member',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='abuse_cases', to='members.member', verbose_name='member'),
        ),
        migrations.AddField(
            model_name='abusecase',
            name='store',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.store', verbose_name='store'),
        ),
        migrations.AddField(
            model_name='deskposting',
            name='approved_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='approved / rejected by'),
        ),
        migrations.AddField(
            model_name='deskposting',
            name='member',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='desk_postings', to='members.member', verbose_name='member'),
        ),
        migrations.AddField(
            model_name='deskposting',
            name='purchase',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='desk_posting', to='points.purchase', verbose_name='purchase'),
        ),
        migrations.AddField(
            model_name='deskposting',
            name='requested_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='posted by'),
        ),
        migrations.AddField(
            model_name='deskposting',
            name='store',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.store', verbose_name='store'),
        ),
        migrations.AddField(
            model_name='pointsclaim',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='entered by'),
        ),
        migrations.AddField(
            model_name='pointsclaim',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='reviewed by'),
        ),
        migrations.AddField(
            model_name='pointsclaim',
            name='member',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='points_claims', to='members.member', verbose_name='member'),
        ),
        migrations.AddField(
            model_name='pointsclaim',
            name='purchase',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claim', to='points.purchase', verbose_name='purchase'),
        ),
        migrations.AddField(
            model_name='pointsclaim',
            name='store',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.store', verbose_name='store'),
        ),
        migrations.AddConstraint(
            model_name='abusecase',
            constraint=models.CheckConstraint(condition=models.Q(('member__isnull', False), ('clerk__isnull', False), _connector='OR'), name='abuse_case_has_subject'),
        ),
        migrations.AddConstraint(
            model_name='abusecase',
            constraint=models.UniqueConstraint(condition=models.Q(('member__isnull', False), ('status', 'open')), fields=('flag', 'member'), name='abuse_case_open_once_per_member'),
        ),
        migrations.AddConstraint(
            model_name='abusecase',
            constraint=models.UniqueConstraint(condition=models.Q(('clerk__isnull', False), ('status', 'open')), fields=('flag', 'clerk'), name='abuse_case_open_once_per_clerk'),
        ),
        migrations.AddIndex(
            model_name='deskposting',
            index=models.Index(fields=['requested_by', 'requested_at'], name='points_desk_request_34cfd2_idx'),
        ),
        migrations.AddConstraint(
            model_name='deskposting',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'rejected'), _negated=True), fields=('store', 'receipt_no'), name='desk_posting_receipt_once'),
        ),
        migrations.AddConstraint(
            model_name='deskposting',
            constraint=models.CheckConstraint(condition=models.Q(('receipt_no', ''), _negated=True), name='desk_posting_has_receipt'),
        ),
        migrations.AddConstraint(
            model_name='deskposting',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'posted'), _negated=True), ('purchase__isnull', False), _connector='OR'), name='posted_desk_posting_has_purchase'),
        ),
        migrations.AddConstraint(
            model_name='deskposting',
            constraint=models.CheckConstraint(condition=models.Q(('approved_by__isnull', True), models.Q(('approved_by', models.F('requested_by')), _negated=True), _connector='OR'), name='desk_posting_four_eyes'),
        ),
        migrations.AddIndex(
            model_name='pointsclaim',
            index=models.Index(fields=['member', '-created_at'], name='points_poin_member__aea0d2_idx'),
        ),
        migrations.AddConstraint(
            model_name='pointsclaim',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'rejected'), _negated=True), fields=('store', 'receipt_no'), name='claim_receipt_once'),
        ),
        migrations.AddConstraint(
            model_name='pointsclaim',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='claim_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='pointsclaim',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'credited'), _negated=True), ('purchase__isnull', False), _connector='OR'), name='credited_claim_has_purchase'),
        ),
        migrations.RunPython(seed, unseed),
    ]
