"""Template context of the portal nav (settings TEMPLATES context_processors): the unread inbox count
portal/base.html shows on every portal page. messaging owns it because it owns the inbox."""
from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .selectors import notice_unread_count


def portal_nav(request) -> dict:
    """`inbox_unread`, counted (one query) only if the page renders it; nothing off the portal."""
    member = getattr(request, "member", None)
    if not member:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: notice_unread_count(member=member))}
