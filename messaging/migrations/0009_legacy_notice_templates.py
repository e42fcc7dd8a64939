"""Each notice kind whose title and body the calling app writes gets its own template per channel
("notice_<kind>", issue 15 / MSG-3: operations edit every notice kind in the admin), copied from the
generic "notice" row of that channel as it stands. Kinds and names: messaging.services.LEGACY_NOTICE_KINDS
at the time of writing (copied here: a migration does not import code that may change)."""
from django.db import migrations

KINDS = {
    "complaint_intake": "投诉受理", "complaint_reply": "投诉答复", "complaint_close": "投诉结案",
    "suggestion_decision": "建议采纳结果", "after_sales_intake": "售后受理", "after_sales_closed": "售后完结",
    "coupon_issued": "发券", "points_adjusted": "积分调整", "points_claim": "积分补录结果",
    "points_held": "待入账积分入账", "gift_order_expired": "礼品逾期未领取", "points_expiring": "积分即将过期",
    "reservation_booked": "预约成功", "reservation_cancelled": "预约取消", "reservation_reminder": "预约提醒",
    "tier_change": "等级变更", "event_invitation": "会员活动邀请",
}
CHANNEL_WORDS = {"sms": "短信", "inbox": "站内信", "email": "邮件"}


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    generic = {t.channel: t for t in MessageTemplate.objects.filter(code="notice")}
    existing = set(MessageTemplate.objects.filter(code__startswith="notice_").values_list("code", "channel"))
    rows = []
    for kind, words in KINDS.items():
        for channel, template in generic.items():
            code = f"notice_{kind}"
            if (code, channel) in existing:
                continue
            rows.append(MessageTemplate(
                code=code, channel=channel, name=f"{words}（{CHANNEL_WORDS.get(channel, channel)}）", kind=template.kind,
                subject=template.subject, body=template.body, provider_template_code=template.provider_template_code,
                provider_param_names=template.provider_param_names, respects_quiet_hours=template.respects_quiet_hours,
                active=template.active,
            ))
    MessageTemplate.objects.bulk_create(rows)


def unseed(apps, schema_editor):
    apps.get_model("messaging", "MessageTemplate").objects.filter(
        code__in=[f"notice_{k}" for k in KINDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0008_verbose_names")]
    operations = [migrations.RunPython(seed, unseed)]
