"""Row locks of the wechat app, on core.locks (FOR UPDATE OF self, pk order): always the member first
(members.locks.member_lock), then the bindings."""
from __future__ import annotations

from django.db.models import Q

from core.locks import lock_many

from .models import WechatBinding


def bindings_lock_for_member(*, member_id: int, app_id: str, openid: str
                             ) -> tuple[WechatBinding | None, WechatBinding | None]:
    """Lock the active bindings of the member and of `openid` (app `app_id`): (the member's, another
    member's binding of that openid)."""
    whose = Q(member_id=member_id) | Q(openid=openid) if openid else Q(member_id=member_id)
    rows = lock_many(WechatBinding.objects.filter(whose, app_id=app_id, unbound_at__isnull=True))
    mine = next((b for b in rows if b.member_id == member_id), None)
    theirs = next((b for b in rows if b.member_id != member_id), None)
    return mine, theirs
