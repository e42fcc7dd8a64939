"""Seed 000 信息通知 / SPEC MSG-5: one template per service-notice kind and channel (inbox, SMS, e-mail),
the general survey invitation (marketing, issue 15), the birthday greeting's text naming the real
offer window ({birthday_offer}, filled from benefits' birthday rule) where operations had not edited
it, and the nightly points-earned summary job. A frozen copy of messaging.defaults at this time."""
from django.db import migrations

OLD_BIRTHDAY = "亲爱的{name}，祝您生日快乐！生日当月到店消费可享会员生日礼遇。"
NEW_BIRTHDAY = "亲爱的{name}，祝您生日快乐！{birthday_offer}"

TEMPLATES = [
    ('notice_account_closed', 'email', 'service', '账户注销（邮件）', '会员账户已注销', '您的会员账户{member_no}已于{date}注销，个人信息已删除或匿名化处理。感谢您的支持。', [], False),
    ('notice_account_closed', 'inbox', 'service', '账户注销（站内信）', '会员账户已注销', '您的会员账户{member_no}已于{date}注销，个人信息已删除或匿名化处理。感谢您的支持。', [], False),
    ('notice_account_closed', 'sms', 'service', '账户注销（短信）', '', '您的会员账户{member_no}已于{date}注销，个人信息已删除或匿名化处理。感谢您的支持。', ['member_no', 'date'], False),
    ('notice_change_approved', 'email', 'service', '资料修改通过（邮件）', '资料修改已生效', '您提交的会员资料修改（{fields}）已审核通过并生效。', [], False),
    ('notice_change_approved', 'inbox', 'service', '资料修改通过（站内信）', '资料修改已生效', '您提交的会员资料修改（{fields}）已审核通过并生效。', [], False),
    ('notice_change_approved', 'sms', 'service', '资料修改通过（短信）', '', '您提交的会员资料修改（{fields}）已审核通过并生效。', ['fields'], False),
    ('notice_change_rejected', 'email', 'service', '资料修改未通过（邮件）', '资料修改未通过审核', '您提交的会员资料修改（{fields}）未通过审核，原因：{reason}。如需修改请重新提交。', [], False),
    ('notice_change_rejected', 'inbox', 'service', '资料修改未通过（站内信）', '资料修改未通过审核', '您提交的会员资料修改（{fields}）未通过审核，原因：{reason}。如需修改请重新提交。', [], False),
    ('notice_change_rejected', 'sms', 'service', '资料修改未通过（短信）', '', '您提交的会员资料修改（{fields}）未通过审核，原因：{reason}。', ['fields', 'reason'], False),
    ('notice_coupon_redeemed', 'email', 'service', '积分兑券（邮件）', '积分兑换礼券成功', '您已使用{points}积分兑换{coupon}，有效期至{valid_to}，已放入您的券包。', [], False),
    ('notice_coupon_redeemed', 'inbox', 'service', '积分兑券（站内信）', '积分兑换礼券成功', '您已使用{points}积分兑换{coupon}，有效期至{valid_to}，已放入您的券包。', [], False),
    ('notice_coupon_redeemed', 'sms', 'service', '积分兑券（短信）', '', '您已使用{points}积分兑换{coupon}，有效期至{valid_to}，已放入券包。', ['points', 'coupon', 'valid_to'], False),
    ('notice_gift_order', 'email', 'service', '礼品兑换（邮件）', '礼品兑换成功', '您已使用{points}积分兑换{gift}×{quantity}，请到{store}会员服务台领取（兑换单号{order_no}）。', [], False),
    ('notice_gift_order', 'inbox', 'service', '礼品兑换（站内信）', '礼品兑换成功', '您已使用{points}积分兑换{gift}×{quantity}，请到{store}会员服务台领取（兑换单号{order_no}）。', [], False),
    ('notice_gift_order', 'sms', 'service', '礼品兑换（短信）', '', '您已使用{points}积分兑换{gift}×{quantity}，请到{store}会员服务台领取，兑换单号{order_no}。', ['points', 'gift', 'quantity', 'store', 'order_no'], False),
    ('notice_member_disqualified', 'email', 'service', '会员资格取消（邮件）', '会员资格已取消', '您的会员资格已被取消，原因：{reason}。如有疑问请联系会员服务台。', [], False),
    ('notice_member_disqualified', 'inbox', 'service', '会员资格取消（站内信）', '会员资格已取消', '您的会员资格已被取消，原因：{reason}。如有疑问请联系会员服务台。', [], False),
    ('notice_member_disqualified', 'sms', 'service', '会员资格取消（短信）', '', '您的会员资格已被取消，原因：{reason}。如有疑问请联系会员服务台。', ['reason'], False),
    ('notice_member_reinstated', 'email', 'service', '会员资格恢复（邮件）', '会员资格已恢复', '您的会员资格已恢复，积分与会员权益可正常使用。', [], False),
    ('notice_member_reinstated', 'inbox', 'service', '会员资格恢复（站内信）', '会员资格已恢复', '您的会员资格已恢复，积分与会员权益可正常使用。', [], False),
    ('notice_member_reinstated', 'sms', 'service', '会员资格恢复（短信）', '', '您的会员资格已恢复，积分与会员权益可正常使用。', [], False),
    ('notice_member_suspended', 'email', 'service', '会员资格暂停（邮件）', '会员资格已暂停', '您的会员资格已暂停，原因：{reason}。暂停期间积分与会员权益暂不可用，如有疑问请联系会员服务台。', [], False),
    ('notice_member_suspended', 'inbox', 'service', '会员资格暂停（站内信）', '会员资格已暂停', '您的会员资格已暂停，原因：{reason}。暂停期间积分与会员权益暂不可用，如有疑问请联系会员服务台。', [], False),
    ('notice_member_suspended', 'sms', 'service', '会员资格暂停（短信）', '', '您的会员资格已暂停，原因：{reason}。如有疑问请联系会员服务台。', ['reason'], False),
    ('notice_points_earned', 'email', 'service', '积分到账（每日汇总）（邮件）', '积分到账', '{date}您的消费共获得{points}积分，当前可用积分{balance}。', [], True),
    ('notice_points_earned', 'inbox', 'service', '积分到账（每日汇总）（站内信）', '积分到账', '{date}您的消费共获得{points}积分，当前可用积分{balance}。', [], True),
    ('notice_points_earned', 'sms', 'service', '积分到账（每日汇总）（短信）', '', '{date}您的消费共获得{points}积分，当前可用积分{balance}。', ['date', 'points', 'balance'], True),
    ('notice_points_offset', 'email', 'service', '积分抵现（邮件）', '积分抵现', '您在{store}的订单{order_no}使用{points}积分抵扣{amount}元，当前可用积分{balance}。', [], False),
    ('notice_points_offset', 'inbox', 'service', '积分抵现（站内信）', '积分抵现', '您在{store}的订单{order_no}使用{points}积分抵扣{amount}元，当前可用积分{balance}。', [], False),
    ('notice_points_offset', 'sms', 'service', '积分抵现（短信）', '', '您在{store}的订单{order_no}使用{points}积分抵扣{amount}元，可用积分{balance}。', ['store', 'order_no', 'points', 'amount', 'balance'], False),
    ('notice_refund_reversal', 'email', 'service', '退款积分处理（邮件）', '订单{order_no}退款', '您的订单{order_no}已退款，积分处理如下：{details}。当前可用积分{balance}。', [], False),
    ('notice_refund_reversal', 'inbox', 'service', '退款积分处理（站内信）', '订单{order_no}退款', '您的订单{order_no}已退款，积分处理如下：{details}。当前可用积分{balance}。', [], False),
    ('notice_refund_reversal', 'sms', 'service', '退款积分处理（短信）', '', '您的订单{order_no}已退款，扣回积分{points_reversed}，退还抵现积分{points_returned}，当前可用积分{balance}。', ['order_no', 'points_reversed', 'points_returned', 'balance'], False),
    ('notice_survey_follow_up', 'email', 'service', '服务回访问卷（邮件）', '服务满意度回访', '感谢您使用我们的服务，请用一分钟告诉我们您的感受：{link}（{until}前有效）', [], True),
    ('notice_survey_follow_up', 'inbox', 'service', '服务回访问卷（站内信）', '服务满意度回访', '感谢您使用我们的服务，请用一分钟告诉我们您的感受：{link}（{until}前有效）', [], True),
    ('notice_survey_follow_up', 'sms', 'service', '服务回访问卷（短信）', '', '感谢您使用我们的服务，邀请您填写满意度回访：{link}（{until}前有效）', ['link', 'until'], True),
    ('notice_welcome', 'email', 'service', '入会欢迎（邮件）', '欢迎加入会员', '{name}您好，欢迎成为我们的会员！您的会员号为{member_no}，当前等级为{tier}。消费即可累积积分，积分、权益与消费记录可在会员中心查询。', [], False),
    ('notice_welcome', 'inbox', 'service', '入会欢迎（站内信）', '欢迎加入会员', '{name}您好，欢迎成为我们的会员！您的会员号为{member_no}，当前等级为{tier}。消费即可累积积分，积分、权益与消费记录可在会员中心查询。', [], False),
    ('notice_welcome', 'sms', 'service', '入会欢迎（短信）', '', '{name}您好，欢迎成为我们的会员！会员号{member_no}，等级{tier}。消费即可累积积分，详情请登录会员中心。', ['name', 'member_no', 'tier'], False),
    ('survey_invitation', 'email', 'marketing', '问卷邀请（邮件）', '问卷邀请：{title}', '诚邀您参与{title}，帮助我们改进服务：{link}（{until}前有效）', [], False),
    ('survey_invitation', 'inbox', 'marketing', '问卷邀请（站内信）', '问卷邀请：{title}', '诚邀您参与{title}，帮助我们改进服务：{link}（{until}前有效）', [], False),
    ('survey_invitation', 'sms', 'marketing', '问卷邀请（短信）', '', '{name}您好，诚邀您参与{title}：{link}（{until}前有效）', ['name', 'title', 'link', 'until'], False),
]


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for code, channel, kind, name, subject, body, names, quiet in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            code=code, channel=channel,
            defaults={"kind": kind, "name": name, "subject": subject, "body": body, "provider_param_names": names,
                      "respects_quiet_hours": quiet})
    MessageTemplate.objects.filter(code="birthday_greeting", channel="sms", body=OLD_BIRTHDAY).update(
        body=NEW_BIRTHDAY, provider_param_names=["name", "birthday_offer"])
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = CrontabSchedule.objects.get_or_create(
        minute="20", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai")
    # Yesterday's credits summed per member; the SMS waits for quiet hours to end (08:00).
    PeriodicTask.objects.get_or_create(
        name="daily: notify_points_earned",
        defaults={"task": "core.tasks.run_job_task", "crontab": cron, "args": '["notify_points_earned"]',
                  "queue": "sms"})


def unseed(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    MessageTemplate.objects.filter(code__in={t[0] for t in TEMPLATES}).delete()
    MessageTemplate.objects.filter(code="birthday_greeting", channel="sms", body=NEW_BIRTHDAY).update(
        body=OLD_BIRTHDAY, provider_param_names=["name"])
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="daily: notify_points_earned").delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_channel_preferences_frequency_cap"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(seed, unseed)]
