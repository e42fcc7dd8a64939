"""Row locks of the wechat app (members.locks style): always the member first (members.locks.member_lock),
then the bindings, ordered by primary key."""
from __future__ import annotations

from django.db.models import Q

from .models import WechatBinding


def bindings_lock_for_member(*, member_id: int, app_id: str, openid: str
                             ) -> tuple[WechatBinding | None, WechatBinding | None]:
    """Lock the active bindings of the member and of `openid` (app `app_id`): (the member's, another
    member's binding of that openid)."""
    rows = list(WechatBinding.objects.select_for_update()
                .filter(Q(member_id=member_id) | Q(openid=openid) if openid else Q(member_id=member_id),
                        app_id=app_id, unbound_at__isnull=True).order_by("pk"))
    mine = next((b for b in rows if b.member_id == member_id), None)
    theirs = next((b for b in rows if b.member_id != member_id), None)
    return mine, theirs
