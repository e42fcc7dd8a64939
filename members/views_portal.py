"""Member self-service portal (MEM-1, MEM-3, MEM-4, MEM-6, SEC-3, SEC-4, SEC-5).

Every page after login reads only `request.member` (set from the session by
members.portal_auth): no portal URL carries a member id, so no member can reach another's data.
Writes go through members.services / members.sms_codes / members.member_data."""
from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import crypto
from core.errors import MemberHubError, RateLimited, ValidationFailed
from core.panels import PORTAL_HOME, panels_for
from core.web import current_member, member_required, portal_render

from . import ecard
from .forms_portal import (
    ChangeRequestForm,
    CloseAccountForm,
    IdNumberConsentForm,
    LoginForm,
    MarketingConsentForm,
    PrivacyAcceptForm,
    SignupForm,
    add_domain_error,
    field_label,
)
from .member_data import member_data_download, member_data_json, member_data_page
from .models import ChangeRequest, ConsentLog, Member, MemberChange
from .portal_auth import portal_login, portal_logout
from .selectors import current_privacy_version, member_by_mobile, privacy_policy_current
from .services import (
    Actor,
    change_request_submit,
    consent_set_id_number,
    consent_set_marketing,
    member_close,
    member_register_online,
    privacy_policy_accept,
)
from .sms_codes import sms_code_send, sms_code_verify
from .validation import normalize_mobile

log = logging.getLogger(__name__)

# Statuses that may log in but cannot use the card (they see why on the home page).
RESTRICTED_STATUSES = (Member.Status.SUSPENDED, Member.Status.DISQUALIFIED)


def _ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR") or None


def _code_status(request, *, ok: bool, message: str) -> HttpResponse:
    return render(request, "portal/_code_status.html", {"ok": ok, "message": message})


# ---------------------------------------------------------------- public pages


@require_GET
def privacy(request):
    """The privacy policy in effect: the stored text of its version (the built-in text until one is stored)."""
    policy = privacy_policy_current()
    return render(request, "portal/privacy.html", {
        "policy": policy, "privacy_version": policy.version if policy else settings.PRIVACY_POLICY_VERSION,
    })


@require_http_methods(["GET", "POST"])
@member_required
def privacy_accept(request):
    """The new privacy policy version, to accept at the first visit after it took effect (MEM-6, seed 003
    2.5); every other portal page sends the member here until then (members.portal_auth)."""
    member = current_member(request)
    policy = privacy_policy_current()
    version = policy.version if policy else settings.PRIVACY_POLICY_VERSION
    if member.privacy_version == version:
        return redirect("portal:home")
    form = PrivacyAcceptForm(request.POST or None, initial={"version": version})
    if request.method == "POST" and form.is_valid():
        try:
            privacy_policy_accept(member=member, version=form.cleaned_data["version"], ip=_ip(request))
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Thank you: you accepted version %(version)s of the privacy policy.")
                             % {"version": version})
            return redirect("portal:home")
    return render(request, "portal/privacy_accept.html", {
        "member": member, "policy": policy, "privacy_version": version, "form": form,
    }, status=400 if form.is_bound and form.errors else 200)


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.member:
        return redirect("portal:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = member_register_online(
                data=form.member_data(),
                sms_code=form.cleaned_data["sms_code"],
                store=form.cleaned_data["home_store"],
                marketing=form.cleaned_data["marketing"],
                privacy_accepted=form.cleaned_data["privacy_accepted"],
                id_number_consent=form.cleaned_data["id_number_consent"],
                guardian=form.guardian_data(),
                ip=_ip(request),
            )
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            portal_login(request, member)
            messages.success(request, _("Welcome! Your membership is active."))
            return redirect("portal:home")
    return render(request, "portal/signup.html", {
        "form": form, "privacy_version": current_privacy_version(),
    })


@require_POST
def signup_send_code(request):
    try:
        sms_code_send(mobile=request.POST.get("mobile", ""), purpose="signup", ip=_ip(request))
    except MemberHubError as exc:
        message = exc.fields.get("mobile", [exc.message])[0] if isinstance(exc, ValidationFailed) else exc.message
        return _code_status(request, ok=False, message=message)
    return _code_status(request, ok=True, message=_("A code has been sent by SMS. It is valid for %(minutes)s minutes.")
                        % {"minutes": settings.SMS_CODE_TTL_SECONDS // 60})


def _login_send_throttle(mobile: str, ip: str | None) -> None:
    """The limits of members.sms_codes, applied to every login request whether or not the number
    belongs to a member: the service only counts codes it really sent, so without this a second
    request would answer differently for members and non-members (probing, SEC-5)."""
    key = crypto.lookup_hash(f"portal-login:{mobile}")
    if not cache.add(f"portal:login-code:recent:{key}", 1, timeout=settings.SMS_CODE_RESEND_SECONDS):
        raise RateLimited(_("A code was just sent; please wait a minute before asking again."), code="too_soon")
    day_key = f"portal:login-code:day:{key}:{timezone.localdate():%Y%m%d}"
    cache.add(day_key, 0, timeout=24 * 3600)
    if cache.incr(day_key) > settings.SMS_CODE_MAX_PER_MOBILE_PER_DAY:
        raise RateLimited(_("Too many codes for this number today; try again tomorrow."), code="daily_limit")
    if ip:
        ip_key = f"portal:login-code:ip:{ip}:{timezone.now():%Y%m%d%H}"
        cache.add(ip_key, 0, timeout=3600)
        if cache.incr(ip_key) > settings.SMS_CODE_MAX_PER_IP_PER_HOUR:
            raise RateLimited(_("Too many requests from this network; try again later."), code="ip_limit")


@require_POST
def login_send_code(request):
    ip = _ip(request)
    try:
        mobile = normalize_mobile(request.POST.get("mobile", ""))
    except ValueError as exc:
        return _code_status(request, ok=False, message=str(exc))
    try:
        _login_send_throttle(mobile, ip)
    except RateLimited as exc:
        return _code_status(request, ok=False, message=exc.message)
    member = member_by_mobile(mobile)
    if member is not None and member.status not in (Member.Status.CLOSED, Member.Status.REJECTED):
        try:
            sms_code_send(mobile=mobile, purpose="login", ip=ip)
        except MemberHubError as exc:
            # Answer as for any number; a different reply here would tell that the number is a member.
            log.info("portal login code not sent: %s", exc.code)
    return _code_status(request, ok=True, message=_(
        "If this number belongs to a member, a code has been sent by SMS. It is valid for %(minutes)s minutes."
    ) % {"minutes": settings.SMS_CODE_TTL_SECONDS // 60})


@require_http_methods(["GET", "POST"])
def login(request):
    if request.member:
        return redirect("portal:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mobile = normalize_mobile(form.cleaned_data["mobile"])
        except ValueError as exc:
            form.add_error("mobile", str(exc))
        else:
            try:
                sms_code_verify(mobile=mobile, purpose="login", code=form.cleaned_data["sms_code"])
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                member = member_by_mobile(mobile)
                if member is None or member.status in (Member.Status.CLOSED, Member.Status.REJECTED):
                    form.add_error("sms_code", _("The verification code is wrong or has expired."))
                else:
                    portal_login(request, member)
                    return redirect("portal:home")
    return render(request, "portal/login.html", {"form": form})


@require_GET
def closed(request):
    return render(request, "portal/closed.html")


# ---------------------------------------------------------------- member pages


def _ecard_context(member: Member) -> dict:
    context = {"member": member, "can_use_card": member.status == Member.Status.ACTIVE,
               "qr_ttl_minutes": settings.MEMBER_QR_TTL_SECONDS // 60}
    if context["can_use_card"]:
        # The SVG comes from the qrcode library, not from user input.
        context["qr_svg"] = mark_safe(ecard.qr_svg(ecard.qr_payload(member)))
    return context


@require_GET
@member_required
def home(request):
    member = current_member(request)
    context = _ecard_context(member)
    context["restricted"] = member.status in RESTRICTED_STATUSES
    # The member centre (issue 16): balance, expiring points, coupons and tier progress are panels the
    # apps above fill (points, tiers) as htmx slots, so members names none of them and this page's
    # query count does not grow with them.
    context["panels"] = panels_for(PORTAL_HOME)
    return portal_render(request, "portal/home.html", "home", context)


# The hub pages of the bottom tab bar (权益 / 服务 / 我的): each lists the pages of its tab, so every
# portal page is at most two taps from any other (tab, then link). The links are the template's.


@require_GET
@member_required
def perks(request):
    return portal_render(request, "portal/perks.html", "perks")


@require_GET
@member_required
def services(request):
    return portal_render(request, "portal/services.html", "services")


@require_GET
@member_required
def me(request):
    return portal_render(request, "portal/me.html", "me")


@require_GET
@member_required
def ecard_refresh(request):
    return render(request, "portal/_ecard.html", _ecard_context(current_member(request)))


def _profile_initial(member: Member) -> dict:
    return {
        "name": member.name, "mobile": crypto.decrypt(member.mobile_enc) or "", "gender": member.gender,
        "birthday": member.birthday.isoformat() if member.birthday else "", "province": member.province,
        "city": member.city, "district": member.district, "address": crypto.decrypt(member.address_enc) or "",
        "occupation": member.occupation, "email": member.email,
        "id_number": crypto.decrypt(member.id_number_enc) or "",
    }


@require_http_methods(["GET", "POST"])
@member_required
def profile(request):
    member = current_member(request)
    current = _profile_initial(member)
    pending = ChangeRequest.objects.filter(member=member, status=ChangeRequest.Status.PENDING).first()
    form = ChangeRequestForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            # Send only what the member edited: the service compares with stored values, where an
            # empty encrypted field is None, so an untouched empty address would count as a change.
            changes = {k: v for k, v in form.member_data().items() if (v or "") != (current.get(k) or "")}
            change_request_submit(member=member, changes=changes, actor=Actor.member(_ip(request)),
                                  mobile_code=form.cleaned_data["sms_code"],
                                  id_number_consent=form.cleaned_data["id_number_consent"])
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your change request has been sent. Nothing changes until staff approve it."))
            return redirect("portal:profile")
    history = [
        {"at": c.at, "field": field_label(c.field), "old": c.old_value, "new": c.new_value,
         "status_change": c.field == "status"}
        for c in MemberChange.objects.filter(member=member).order_by("-at", "-id")[:100]
    ]
    rejected = ChangeRequest.objects.filter(member=member, status=ChangeRequest.Status.REJECTED).order_by(
        "-requested_at"
    )
    rows = [(field_label(k), current[k]) for k in ("name", "mobile", "id_number", "province", "city", "district",
                                                  "address", "occupation", "email")]
    rows.insert(2, (field_label("gender"), member.get_gender_display()))
    rows.insert(3, (field_label("birthday"), member.birthday.isoformat() if member.birthday else ""))
    return portal_render(request, "portal/profile.html", "profile", {
        "member": member, "rows": rows, "form": form, "pending": pending, "history": history,
        "rejected": rejected,
    })


@require_POST
@member_required
def profile_send_code(request):
    """htmx: a code to the new mobile number of a change request (MEM-4), so the member proves it."""
    try:
        sms_code_send(mobile=request.POST.get("mobile", ""), purpose="change_mobile", ip=_ip(request))
    except MemberHubError as exc:
        message = exc.fields.get("mobile", [exc.message])[0] if isinstance(exc, ValidationFailed) else exc.message
        return _code_status(request, ok=False, message=message)
    return _code_status(request, ok=True, message=_(
        "A code has been sent to the new number. It is valid for %(minutes)s minutes."
    ) % {"minutes": settings.SMS_CODE_TTL_SECONDS // 60})


@require_POST
@member_required
def consent_id_number(request):
    """The separate consent to store the ID number (PIPL art. 28-29); withdrawing erases the number."""
    member = current_member(request)
    form = IdNumberConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose yes or no."))
        return redirect("portal:consents")
    consent_set_id_number(member=member, granted=form.cleaned_data["granted"], channel=ConsentLog.Channel.PORTAL,
                          actor=Actor.member(_ip(request)))
    if form.cleaned_data["granted"]:
        messages.success(request, _("Your consent has been recorded. You can now add your ID number under My details."))
    else:
        messages.success(request, _("Your consent has been withdrawn and your ID number has been erased."))
    return redirect("portal:consents")


@require_http_methods(["GET", "POST"])
@member_required
def consents(request):
    member = current_member(request)
    form = MarketingConsentForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            member = consent_set_marketing(member=member, granted=form.cleaned_data["granted"],
                                           channel=ConsentLog.Channel.PORTAL)
            messages.success(request, _("Your choice has been saved."))
            return redirect("portal:consents")
        messages.error(request, _("Choose yes or no."))
    history = ConsentLog.objects.filter(member=member).order_by("-at", "-id")
    return portal_render(request, "portal/consents.html", "consents", {
        "member": member, "history": history, "current_privacy_version": current_privacy_version(),
    })


@require_GET
@member_required
def my_data(request):
    return portal_render(request, "portal/my_data.html", "my_data")


@require_POST
@member_required
def my_data_download(request):
    """Everything held about the member as JSON (SEC-4; PIPL art. 45), audit-logged by the service."""
    member = current_member(request)
    data = member_data_download(member=member, ip=_ip(request), form="json")
    response = HttpResponse(json.dumps(member_data_json(data), ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="memberhub-{member.member_no}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@member_required
def my_data_view(request):
    """The same data as a readable Chinese page, times in Asia/Shanghai; audit-logged like the file."""
    member = current_member(request)
    data = member_data_download(member=member, ip=_ip(request), form="page")
    response = portal_render(request, "portal/my_data_view.html", "my_data",
                             {"member": member, "data": member_data_page(data)})
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@member_required
def close_account(request):
    member = current_member(request)
    form = CloseAccountForm(request.POST or None, member=member)
    if request.method == "POST" and form.is_valid():
        try:
            member_close(member=member, actor=Actor.member(_ip(request)))
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            portal_logout(request)
            return redirect("portal:closed")
    return portal_render(request, "portal/close.html", "close", {"member": member, "form": form})


@require_POST
def logout(request):
    portal_logout(request)
    return redirect("portal:login")
