"""Portal sessions of members (logged in by SMS code). Members are not Django users: the session
holds the member id, and `request.member` is set for portal views (SEC-3: a member sees only
their own data because every portal view reads through request.member)."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.functional import SimpleLazyObject

from .models import Member
from .selectors import privacy_policy_current_version_sql

SESSION_KEY = "portal_member_id"

# Portal pages a member behind on the privacy policy may still open (the rest send them to accept it).
POLICY_EXEMPT = {"privacy", "privacy_accept", "logout", "login", "login_send_code", "signup", "signup_send_code",
                 "closed", "close", "my_data", "my_data_download", "my_data_view", "consents",
                 "consent_id_number"}


def _get_member(request) -> Member | None:
    member_id = request.session.get(SESSION_KEY)
    if not member_id:
        return None
    # The version in effect comes with the member, one query (MEM-6).
    member = Member.objects.select_related("tier", "home_store").annotate(
        current_policy_version=privacy_policy_current_version_sql()).filter(pk=member_id).first()
    if member is None or member.status in (Member.Status.CLOSED, Member.Status.REJECTED):
        request.session.pop(SESSION_KEY, None)
        return None
    return member


class PortalMemberMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.member = SimpleLazyObject(lambda: _get_member(request))
        redirect = _policy_redirect(request)
        if redirect is not None:
            return redirect
        return self.get_response(request)


def member_behind_on_policy(member) -> bool:
    current = getattr(member, "current_policy_version", None) or settings.PRIVACY_POLICY_VERSION
    return member.privacy_version != current


def _policy_redirect(request):
    """Seed 003 2.5 / MEM-6: when the privacy policy changed, the member accepts the new version at the
    next portal visit before anything else (reading the policy, their data, consents or logging out stay
    open). Only portal paths are looked at, so desk, admin and API requests cost nothing."""
    if not request.path.startswith("/portal/"):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if match.namespace == "portal" and match.url_name in POLICY_EXEMPT:
        return None
    member = request.member
    if not member or not member_behind_on_policy(member):
        return None
    url = reverse("portal:privacy_accept")
    if getattr(request, "htmx", False):
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def portal_login(request, member: Member) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = member.pk


def portal_logout(request) -> None:
    request.session.flush()
