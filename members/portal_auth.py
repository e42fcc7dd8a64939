"""Portal sessions of members (logged in by SMS code). Members are not Django users: the session
holds the member id, and `request.member` is set for portal views (SEC-3: a member sees only
their own data because every portal view reads through request.member)."""
from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .models import Member

SESSION_KEY = "portal_member_id"


def _get_member(request) -> Member | None:
    member_id = request.session.get(SESSION_KEY)
    if not member_id:
        return None
    member = Member.objects.select_related("tier", "home_store").filter(pk=member_id).first()
    if member is None or member.status in (Member.Status.CLOSED, Member.Status.REJECTED):
        request.session.pop(SESSION_KEY, None)
        return None
    return member


class PortalMemberMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.member = SimpleLazyObject(lambda: _get_member(request))
        return self.get_response(request)


def portal_login(request, member: Member) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = member.pk


def portal_logout(request) -> None:
    request.session.flush()
