"""Pages of the wechat app.

Portal (namespace wechat_portal, /portal/wechat/): the H5 entry that sends the visitor through WeChat's
OAuth2 web authorisation (snsapi_base), its return URL (code -> openid: a bound member is logged in
silently, anyone else binds with mobile + SMS code, the portal's own login code), and the member's
binding page with the unbind button (reached from 我的). Desk (namespace wechat_desk): the binding slot
of the member 360 page and its unbind action. The callback URL WeChat pushes to (wechat.callback)."""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import MemberHubError, ValidationFailed
from core.web import client_ip, current_member, error_page, member_required, need, portal_render, staff_required
from members.forms_portal import LoginForm, add_domain_error
from members.models import Member
from members.portal_auth import portal_login
from members.selectors import member_by_mobile
from members.services import PERM_CONSENT, Actor
from members.sms_codes import sms_code_verify
from members.validation import normalize_mobile
from members.views_desk import member_for_desk

from . import client, selectors, services
from .models import WechatBinding

log = logging.getLogger(__name__)

PENDING_KEY = "wechat_pending"   # the openid of a visitor who came through OAuth and has still to bind
PENDING_MAX_AGE = 30 * 60
LOGIN_BLOCKED = (Member.Status.CLOSED, Member.Status.REJECTED)


def _require_configured():
    if not client.configured():
        raise Http404(_("WeChat is not set up."))


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()) and url.startswith("/"):
        return url
    return ""


def _absolute(request, path: str) -> str:
    base = (settings.PORTAL_BASE_URL or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@require_GET
def entry(request):
    """The Official Account menu links here: off to WeChat's authorisation, back at `oauth_return`."""
    _require_configured()
    state = services.oauth_state_new(request.session, next_url=_safe_next(request, request.GET.get("next", "")))
    return HttpResponseRedirect(client.oauth_authorize_url(
        redirect_uri=_absolute(request, reverse("wechat_portal:oauth_return")), state=state))


@require_GET
def oauth_return(request):
    _require_configured()
    code = request.GET.get("code", "")
    try:
        next_url = services.oauth_state_check(request.session, request.GET.get("state", ""))
        if not code:
            # The visitor declined, or WeChat sent no code: the ordinary login remains.
            raise ValidationFailed(_("WeChat did not confirm who you are; please log in with your mobile number."),
                                   code="no_code")
        identity = client.oauth_openid(code)
    except MemberHubError as exc:
        return error_page(request, exc)
    except client.WechatApiError as exc:
        log.warning("wechat oauth code exchange failed: %s", exc)
        return error_page(request, ValidationFailed(
            _("WeChat could not confirm who you are just now; please try again."), code="oauth_failed"))
    binding = selectors.binding_active_for_openid(openid=identity.openid)
    if binding is not None and binding.member.status not in LOGIN_BLOCKED:
        if request.session.get("portal_member_id") != binding.member_id:
            portal_login(request, binding.member)
        return redirect(next_url or "portal:home")
    request.session[PENDING_KEY] = {"openid": identity.openid, "unionid": identity.unionid,
                                    "at": int(time.time()), "next": next_url}
    return redirect("wechat_portal:bind")


def _pending(request) -> dict | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - int(pending.get("at", 0)) > PENDING_MAX_AGE:
        request.session.pop(PENDING_KEY, None)
        return None
    return pending


def _finish_bind(request, member: Member, pending: dict):
    services.wechat_bind(member=member, openid=pending["openid"], unionid=pending.get("unionid", ""),
                         actor=Actor.member(ip=client_ip(request)), via=WechatBinding.Via.PORTAL)
    next_url = pending.get("next") or ""
    if request.session.get("portal_member_id") != member.pk:
        portal_login(request, member)   # a new session key; the pending openid goes with the old one
    request.session.pop(PENDING_KEY, None)
    messages.success(request, _("Your WeChat is now linked to your membership: next time you are logged in "
                                "automatically, and service notices can come in WeChat."))
    return redirect(next_url or "portal:home")


@require_http_methods(["GET", "POST"])
def bind(request):
    """First visit from WeChat: link this WeChat to a membership with the mobile number and its SMS code
    (the code the portal login sends); a member already logged in confirms with one button."""
    _require_configured()
    pending = _pending(request)
    if pending is None:
        return redirect("wechat_portal:entry")
    member = request.member or None
    form = LoginForm(None if member else (request.POST or None))
    if request.method == "POST":
        try:
            if member:
                return _finish_bind(request, member, pending)
            if form.is_valid():
                mobile = normalize_mobile(form.cleaned_data["mobile"])
                sms_code_verify(mobile=mobile, purpose="login", code=form.cleaned_data["sms_code"])
                found = member_by_mobile(mobile)
                if found is None or found.status in LOGIN_BLOCKED:
                    form.add_error("sms_code", _("The verification code is wrong or has expired."))
                else:
                    return _finish_bind(request, found, pending)
        except ValueError as exc:
            form.add_error("mobile", str(exc))
        except MemberHubError as exc:
            if form.is_bound:
                add_domain_error(form, exc)
            else:
                messages.error(request, exc.message)
    return render(request, "wechat/portal/bind.html", {"form": form, "member": member})


@require_GET
@member_required
def binding(request):
    member = current_member(request)
    return portal_render(request, "wechat/portal/binding.html", "me", {
        "binding": selectors.binding_active_for_member(member_id=member.pk), "configured": client.configured()})


@require_POST
@member_required
def unbind(request):
    member = current_member(request)
    services.wechat_unbind(member=member, actor=Actor.member(ip=client_ip(request)), via=WechatBinding.Via.PORTAL,
                           reason="member on the portal")
    request.session.pop(PENDING_KEY, None)
    messages.success(request, _("Your WeChat is no longer linked: you will not be logged in from WeChat "
                                "automatically, and notices no longer come in WeChat."))
    return redirect("wechat_portal:binding")


# ---------------------------------------------------------------- desk


@require_GET
@staff_required
def desk_panel(request, member_no: str):
    member = member_for_desk(request, member_no)
    return render(request, "wechat/desk/_panel.html", {
        "member": member, "binding": selectors.binding_active_for_member(member_id=member.pk),
        "history": selectors.binding_history_for_member(member_id=member.pk, limit=5),
        "can_change": request.user.has_perm(PERM_CONSENT), "configured": bool(settings.WECHAT_APP_ID)})


@require_POST
@staff_required
def desk_unbind(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, PERM_CONSENT)
    services.wechat_unbind(member=member, actor=Actor.staff(request.user, ip=client_ip(request)),
                           via=WechatBinding.Via.DESK, reason=(request.POST.get("reason") or "desk")[:100])
    messages.success(request, _("The member's WeChat is no longer linked."))
    return redirect("desk:member", member_no=member.member_no)
