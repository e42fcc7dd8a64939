from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WechatConfig(AppConfig):
    name = "wechat"
    verbose_name = _("WeChat")

    def ready(self):
        # The member 360 desk page (members) shows the binding and its unbind button (htmx slot).
        from core.panels import DESK_MEMBER, Panel, panel_register

        panel_register(Panel(page=DESK_MEMBER, key="wechat", title=_("WeChat"),
                             template="wechat/desk/_panel_slot.html", order=95))

        from .member_rights import register

        register()
