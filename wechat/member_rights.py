"""The wechat app's part of the member's rights and lifecycle (issue 18): the bindings in the member's data
download (SEC-4; PIPL art. 45), and a closed account's binding ended (members.events "closed"), so the
openid logs nobody in and no WeChat message can reach an account that no longer exists."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from core.member_data import MemberDataSection, member_data_register

from .models import WechatBinding


def _bindings(member) -> list[dict]:
    return [{"app_id": b.app_id, "openid": b.openid, "bound_at": b.bound_at, "unbound_at": b.unbound_at}
            for b in WechatBinding.objects.filter(member=member).order_by("bound_at", "id")]


def on_member_event(*, event: str, member_id: int, **data) -> None:
    if event != "closed":
        return
    from members.models import Member

    from .services import wechat_unbind

    for app_id in (WechatBinding.objects.filter(member_id=member_id, unbound_at__isnull=True)
                   .values_list("app_id", flat=True)):
        try:
            wechat_unbind(member=Member(pk=member_id), actor="system", via=WechatBinding.Via.SYSTEM,
                          reason="account closed", app_id=app_id)
        except ValidationFailed:
            pass   # ended meanwhile


def register() -> None:
    from members.events import register_member_listener

    register_member_listener(on_member_event)
    member_data_register(MemberDataSection(
        key="wechat", title=_("WeChat"), order=85, rows=_bindings,
        columns=(("app_id", _("WeChat app id")), ("openid", _("openid")), ("bound_at", _("bound at")),
                 ("unbound_at", _("unbound at")))))
