"""Reads of WeChat bindings, reused by the portal, the desk and messaging's wechat channel."""
from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from .models import WechatBinding


def binding_active_for_member(*, member_id: int, app_id: str | None = None) -> WechatBinding | None:
    return WechatBinding.objects.filter(member_id=member_id, app_id=app_id or settings.WECHAT_APP_ID,
                                        unbound_at__isnull=True).first()


def binding_active_for_openid(*, openid: str, app_id: str | None = None) -> WechatBinding | None:
    return (WechatBinding.objects.select_related("member")
            .filter(openid=openid, app_id=app_id or settings.WECHAT_APP_ID, unbound_at__isnull=True).first())


def bound_member_ids(member_ids: Iterable[int], *, app_id: str | None = None) -> set[int]:
    """Members (of the given ids) with an active binding to the configured app, in one query; none when
    WeChat is not configured."""
    app_id = app_id or settings.WECHAT_APP_ID
    ids = [pk for pk in member_ids if pk is not None]
    if not app_id or not ids:
        return set()
    return set(WechatBinding.objects.filter(member_id__in=ids, app_id=app_id, unbound_at__isnull=True)
               .values_list("member_id", flat=True))


def binding_history_for_member(*, member_id: int, limit: int = 10) -> list[WechatBinding]:
    return list(WechatBinding.objects.filter(member_id=member_id).order_by("-bound_at", "-id")[:limit])
