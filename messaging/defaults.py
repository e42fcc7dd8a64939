"""Built-in templates: seeded by migration 0002 and used when operations have not (yet) got a
template in the database (e.g. right after a flush), so service notices never fail for lack of one."""
from __future__ import annotations

DEFAULT_TEMPLATES = {
    # (code, channel): kind, name, subject, body, provider parameter names
    ("notice", "sms"): ("service", "通知（短信）", "", "{title}: {body}", ["title", "body"]),
    ("notice", "inbox"): ("service", "通知（站内信）", "{title}", "{body}", []),
    ("notice", "email"): ("service", "通知（邮件）", "{title}", "{body}", []),
    ("security_code", "sms"): ("security", "验证码", "", "{text}", ["code"]),
    ("birthday_greeting", "sms"): ("greeting", "生日祝福", "",
                                   "亲爱的{name}，祝您生日快乐！{birthday_offer}", ["name", "birthday_offer"]),
    ("holiday_greeting", "sms"): ("greeting", "节日祝福", "", "{name}您好，祝您{holiday}快乐！", ["name", "holiday"]),
    ("marketing", "sms"): ("marketing", "营销短信", "", "{text}", ["text"]),
    # Alerts to staff (service desk escalations, SD-9), sent through messages_send_staff.
    ("staff_alert", "sms"): ("service", "员工提醒（短信）", "", "{title}: {body}", ["title", "body"]),
    ("staff_alert", "email"): ("service", "员工提醒（邮件）", "{title}", "{body}", []),
}

# ---------------------------------------------------------------- service notices, one template per kind and channel
# Seed 000 信息通知 (申办、消费、积分使用、权益/重要信息变更), SPEC MSG-5. Seeded by migration 0007 (operations
# edit them in the admin); these built-in copies are used, with a warning in the log, only when a row is missing.
# code "notice_<kind>"; per kind: (name, waits for quiet hours, inbox subject, inbox/e-mail body, SMS body).
NOTICE_KIND_TEXTS = {
    "welcome": ("入会欢迎", False, "欢迎加入会员",
                "{name}您好，欢迎成为我们的会员！您的会员号为{member_no}，当前等级为{tier}。消费即可累积积分，"
                "积分、权益与消费记录可在会员中心查询。",
                "{name}您好，欢迎成为我们的会员！会员号{member_no}，等级{tier}。消费即可累积积分，详情请登录会员中心。"),
    "points_earned": ("积分到账（每日汇总）", True, "积分到账",
                      "{date}您的消费共获得{points}积分，当前可用积分{balance}。",
                      "{date}您的消费共获得{points}积分，当前可用积分{balance}。"),
    "gift_order": ("礼品兑换", False, "礼品兑换成功",
                   "您已使用{points}积分兑换{gift}×{quantity}，请到{store}会员服务台领取（兑换单号{order_no}）。",
                   "您已使用{points}积分兑换{gift}×{quantity}，请到{store}会员服务台领取，兑换单号{order_no}。"),
    "coupon_redeemed": ("积分兑券", False, "积分兑换礼券成功",
                        "您已使用{points}积分兑换{coupon}，有效期至{valid_to}，已放入您的券包。",
                        "您已使用{points}积分兑换{coupon}，有效期至{valid_to}，已放入券包。"),
    "points_offset": ("积分抵现", False, "积分抵现",
                      "您在{store}的订单{order_no}使用{points}积分抵扣{amount}元，当前可用积分{balance}。",
                      "您在{store}的订单{order_no}使用{points}积分抵扣{amount}元，可用积分{balance}。"),
    "refund_reversal": ("退款积分处理", False, "订单{order_no}退款",
                        "您的订单{order_no}已退款，积分处理如下：{details}。当前可用积分{balance}。",
                        "您的订单{order_no}已退款，扣回积分{points_reversed}，退还抵现积分{points_returned}，"
                        "当前可用积分{balance}。"),
    "member_suspended": ("会员资格暂停", False, "会员资格已暂停",
                         "您的会员资格已暂停，原因：{reason}。暂停期间积分与会员权益暂不可用，如有疑问请联系会员服务台。",
                         "您的会员资格已暂停，原因：{reason}。如有疑问请联系会员服务台。"),
    "member_disqualified": ("会员资格取消", False, "会员资格已取消",
                            "您的会员资格已被取消，原因：{reason}。如有疑问请联系会员服务台。",
                            "您的会员资格已被取消，原因：{reason}。如有疑问请联系会员服务台。"),
    "member_reinstated": ("会员资格恢复", False, "会员资格已恢复",
                          "您的会员资格已恢复，积分与会员权益可正常使用。",
                          "您的会员资格已恢复，积分与会员权益可正常使用。"),
    "change_approved": ("资料修改通过", False, "资料修改已生效",
                        "您提交的会员资料修改（{fields}）已审核通过并生效。",
                        "您提交的会员资料修改（{fields}）已审核通过并生效。"),
    "change_rejected": ("资料修改未通过", False, "资料修改未通过审核",
                        "您提交的会员资料修改（{fields}）未通过审核，原因：{reason}。如需修改请重新提交。",
                        "您提交的会员资料修改（{fields}）未通过审核，原因：{reason}。"),
    "account_closed": ("账户注销", False, "会员账户已注销",
                       "您的会员账户{member_no}已于{date}注销，个人信息已删除或匿名化处理。感谢您的支持。",
                       "您的会员账户{member_no}已于{date}注销，个人信息已删除或匿名化处理。感谢您的支持。"),
    # Seed 000 客服服务 回访: a satisfaction check after a service the member used is a service follow-up
    # (care.services.surveys.survey_invite_follow_up); a general survey goes as marketing ("survey_invitation").
    "survey_follow_up": ("服务回访问卷", True, "服务满意度回访",
                         "感谢您使用我们的服务，请用一分钟告诉我们您的感受：{link}（{until}前有效）",
                         "感谢您使用我们的服务，邀请您填写满意度回访：{link}（{until}前有效）"),
}


def notice_template_code(kind: str) -> str:
    return f"notice_{kind}"


def _notice_defaults() -> dict:
    import re

    made = {}
    for kind, (name, _quiet, subject, body, sms) in NOTICE_KIND_TEXTS.items():
        code = notice_template_code(kind)
        made[(code, "inbox")] = ("service", f"{name}（站内信）", subject, body, [])
        made[(code, "email")] = ("service", f"{name}（邮件）", subject, body, [])
        made[(code, "sms")] = ("service", f"{name}（短信）", "", sms, re.findall(r"\{(\w+)\}", sms))
    return made


NOTICE_QUIET = {notice_template_code(k): v[1] for k, v in NOTICE_KIND_TEXTS.items()}
DEFAULT_TEMPLATES.update(_notice_defaults())
DEFAULT_TEMPLATES[("survey_invitation", "sms")] = (
    "marketing", "问卷邀请（短信）", "", "{name}您好，诚邀您参与{title}：{link}（{until}前有效）",
    ["name", "title", "link", "until"])
DEFAULT_TEMPLATES[("survey_invitation", "inbox")] = (
    "marketing", "问卷邀请（站内信）", "问卷邀请：{title}", "诚邀您参与{title}，帮助我们改进服务：{link}（{until}前有效）", [])
DEFAULT_TEMPLATES[("survey_invitation", "email")] = (
    "marketing", "问卷邀请（邮件）", "问卷邀请：{title}", "诚邀您参与{title}，帮助我们改进服务：{link}（{until}前有效）", [])

# ---------------------------------------------------------------- WeChat template messages (issue 18)
# A WeChat template message has no free text: WeChat fills the template chosen in the Official Account
# (its id goes in provider_template_code) from named data fields. provider_param_names maps each data
# field to a value: "field=placeholder", where "subject" and "text" are the message's rendered subject
# and text. The defaults fit the classic industry templates ({{first.DATA}} {{keyword1.DATA}});
# operations set the template id and the fields of the templates they picked. Without a template id the
# WeChat message is recorded as not sent (messaging.services._row).
WECHAT_DEFAULT_FIELDS = ["first=subject", "keyword1=text"]
DEFAULT_TEMPLATES[("notice", "wechat")] = ("service", "通知（微信）", "{title}", "{body}", WECHAT_DEFAULT_FIELDS)
for _kind, (_name, _quiet, _subject, _body, _sms) in NOTICE_KIND_TEXTS.items():
    DEFAULT_TEMPLATES[(notice_template_code(_kind), "wechat")] = (
        "service", f"{_name}（微信）", _subject, _sms, WECHAT_DEFAULT_FIELDS)
