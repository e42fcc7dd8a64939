"""Seeds of issue 15 (member rights): the settings row, the current privacy policy as version 1 of the
stored texts, review dates and ID-number consents for existing members, the retention schedule with its
nightly job, and the data-protection role."""
import datetime as dt

from django.conf import settings
from django.db import migrations
from django.utils import timezone

POLICY_TEXT = """我们为何收集您的信息
我们仅为办理和维护您的会员资格使用您的个人信息：在收银台和服务台识别您的身份、累计和使用积分、提供您所在等级的权益、处理您的投诉和申请，以及——仅在您同意后——向您发送优惠和活动信息。

我们收集哪些信息
必填：姓名、手机号码（经短信验证码验证）和所属门店。
选填：性别、生日、地区和地址、职业、电子邮箱。
身份证号码属于敏感个人信息，仅在您另行单独同意后保存；您可随时撤回，撤回后我们将删除该号码。
不满十四周岁的未成年人入会，须取得其父母或其他监护人的同意。
您的消费记录、积分以及权益使用情况。

我们如何保护您的信息
您的手机号码、身份证号码和地址均加密保存。员工只能看到遮盖后的信息（例如 138****5678）；仅在工作确有需要时才可查看完整信息，每次查看均有记录。
我们按照保存期限表定期删除或匿名化不再需要的信息；发生安全事件时，我们将按规定及时告知您和主管部门。

您的权利
随时查看并下载您的个人信息副本。
申请更正您的信息。
随时撤回营销信息的同意：可在会员中心、回复短信TD或在服务台办理。
注销账户：注销后您的个人信息将被匿名化，仅保留法律要求保存且不再指向您本人的账务记录。

如有疑问，请到任一门店服务台咨询。"""


def seed(apps, schema_editor):
    from members.reference import ensure_reference_data

    ensure_reference_data(apps)
    MemberSettings = apps.get_model("members", "MemberSettings")
    PrivacyPolicy = apps.get_model("members", "PrivacyPolicy")
    RetentionRule = apps.get_model("members", "RetentionRule")
    settings_row, _ = MemberSettings.objects.get_or_create(pk=1)
    PrivacyPolicy.objects.get_or_create(
        version=settings.PRIVACY_POLICY_VERSION,
        defaults={"title": "会员隐私政策", "text": POLICY_TEXT,
                  "effective_at": dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))},
    )
    for target, days, action, note in [
        ("rejected_signups", 180, "anonymise", "驳回的申请保留半年以便答复异议"),
        ("sms_codes", 7, "purge", "验证码仅用于当日限流"),
        ("closed_accounts", 30, "anonymise", "注销满30天清除剩余个人信息"),
        ("message_texts", 365, "anonymise", "消息正文保留一年以便核查投诉"),
    ]:
        RetentionRule.objects.get_or_create(target=target, defaults={"keep_days": days, "action": action, "note": note})

    from members.review_schedule import review_dates_backfill

    review_dates_backfill(schema_editor.connection, today=timezone.localdate(),
                          interval_days=settings_row.review_interval_days)

    # An ID number already stored was collected by the sign-up form of its channel: record that as the
    # consent it stands on (members withdraw it in the portal or at the desk).
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_member SET id_number_consent = TRUE WHERE id_number_enc IS NOT NULL "
            "AND id_number_enc <> '' AND NOT id_number_consent"
        )
        cursor.execute(
            "INSERT INTO members_consentlog (member_id, kind, granted, version, channel, at, detail) "
            "SELECT m.id, 'id_number', TRUE, m.privacy_version, "
            "CASE WHEN m.channel IN ('portal', 'desk', 'till', 'import') THEN m.channel ELSE 'desk' END, %s, "
            "'collected at sign-up, recorded when separate consent was introduced' "
            "FROM members_member m WHERE m.id_number_consent AND NOT EXISTS (SELECT 1 FROM members_consentlog c "
            "WHERE c.member_id = m.id AND c.kind = 'id_number')",
            [timezone.now()],
        )

    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="4", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.get_or_create(
        name="nightly: apply_retention",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["apply_retention"]',
                  "queue": "nightly"},
    )
    # SMS codes are one rule of the retention schedule now; its own job stays runnable by hand.
    PeriodicTask.objects.filter(name="nightly: purge_sms_codes").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0012_member_rights"),
        ("core", "0005_auditlog_member_rights"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
