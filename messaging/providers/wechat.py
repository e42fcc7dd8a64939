"""The WeChat channel (issue 18): a service notice as a WeChat Official Account template message
(cgi-bin/message/template/send, through wechat.client with its shared, refreshed access token) to the
openid the member linked. The message row already holds the template's data fields (messaging.services
._provider_params); the template id is the MessageTemplate's provider_template_code.

Failures come back as SmsSendError, the error messaging.delivery retries by: WeChat busy or over a rate
limit is retried with back-off; a refused template, a user who unfollowed the account (43004) or a member
no longer linked is final. `client_msg_id` (the message id) lets WeChat itself drop a repeated send. The
push event TEMPLATESENDJOBFINISH at the callback URL is the receipt (wechat_receipt)."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse

from messaging.backends import SmsSendError
from wechat import client
from wechat.selectors import binding_active_for_member

PROVIDER = "wechat"


def _portal_url() -> str:
    base = (settings.PORTAL_BASE_URL or "").rstrip("/")
    return f"{base}{reverse('messaging_portal:inbox')}" if base else ""


def send_template(message) -> str:
    """Send `message` (a Message on the wechat channel); WeChat's msgid."""
    if not message.member_id:
        raise SmsSendError("A WeChat message needs a member.", retryable=False, code="no_member")
    binding = binding_active_for_member(member_id=message.member_id)
    if binding is None:
        raise SmsSendError("The member is no longer linked to WeChat.", retryable=False, code="not_bound")
    template_id = message.template.provider_template_code if message.template_id else ""
    if not template_id:
        raise SmsSendError("The template has no WeChat template id.", retryable=False, code="no_template")
    try:
        return client.template_send(openid=binding.openid, template_id=template_id, data=message.params or {},
                                    url=_portal_url(), client_msg_id=f"memberhub-{message.pk}")
    except client.WechatApiError as exc:
        raise SmsSendError(str(exc), retryable=exc.retryable, code=str(exc.errcode)) from None


def wechat_receipt(event: dict) -> None:
    """TEMPLATESENDJOBFINISH: Status "success" -> delivered; "failed:user block" / "failed: system failed"
    -> failed with the reason. Idempotent (WeChat repeats pushes)."""
    from messaging.services import message_receipts_apply

    status = str(event.get("Status", ""))
    msg_id = str(event.get("MsgID") or event.get("MsgId") or "")
    try:
        at = dt.datetime.fromtimestamp(int(event.get("CreateTime", "")), dt.UTC)
    except (TypeError, ValueError):
        at = None
    message_receipts_apply(provider=PROVIDER, receipts=[(msg_id, status == "success", status, at)])
