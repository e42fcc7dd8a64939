from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self):
        from members.events import register_member_listener
        from members.sms_codes import register_code_sender

        from .member_notices import on_member_event
        from .services import message_send_security_code

        register_code_sender(message_send_security_code)
        register_member_listener(on_member_event)

        # The member 360 page (members) links to the member's channel choice (no query of its own).
        from core.panels import DESK_MEMBER, Panel, panel_register

        panel_register(Panel(page=DESK_MEMBER, key="channels", title=_("Message channels"),
                             template="messaging/desk/_channels_panel.html", order=90))

        # The member's data download and the retention schedule (members, issue 15) through core hooks.
        from .member_rights import register as register_member_rights

        register_member_rights()

        # WeChat template-message receipts arrive at the wechat app's callback URL (issue 18).
        from wechat.events import register_event_handler

        from .providers.wechat import wechat_receipt

        register_event_handler("TEMPLATESENDJOBFINISH", wechat_receipt)
