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
                                   "亲爱的{name}，祝您生日快乐！生日当月到店消费可享会员生日礼遇。", ["name"]),
    ("holiday_greeting", "sms"): ("greeting", "节日祝福", "", "{name}您好，祝您{holiday}快乐！", ["name", "holiday"]),
    ("marketing", "sms"): ("marketing", "营销短信", "", "{text}", ["text"]),
    # Alerts to staff (service desk escalations, SD-9), sent through messages_send_staff.
    ("staff_alert", "sms"): ("service", "员工提醒（短信）", "", "{title}: {body}", ["title", "body"]),
    ("staff_alert", "email"): ("service", "员工提醒（邮件）", "{title}", "{body}", []),
}
