"""Desk page of the member's message channels (seed 000 信息通知; issue 15): front desk and customer service
record the member's choice on their behalf (a phone or counter request), as they record consent: the
page needs members.view_member and the member in the staff member's store scope (member_for_desk), the
change needs PERM_CONSENT (members.add_consentlog). Every change is logged by channel_preference_set."""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.web import need, staff_required
from members.services import PERM_CONSENT
from members.views_desk import member_for_desk

from .models import ChannelPreferenceLog
from .services import channel_preference_get, channel_preference_set

LOG_ROWS = 20


@require_http_methods(["GET", "POST"])
@staff_required
def member_channels(request, member_no: str):
    member = member_for_desk(request, member_no)
    if request.method == "POST":
        need(request.user, PERM_CONSENT)
        channel_preference_set(member=member, sms=request.POST.get("sms") == "on",
                               email=request.POST.get("email") == "on", actor=request.user,
                               wechat=(request.POST.get("wechat") == "on") if "wechat_shown" in request.POST else None)
        messages.success(request, _("The member's choice of channels is saved."))
        return redirect("messaging_desk:member_channels", member_no=member.member_no)
    log = ChannelPreferenceLog.objects.filter(member=member).order_by("-at", "-id")[:LOG_ROWS]
    return render(request, "messaging/desk/channels.html", {
        "member": member, "preference": channel_preference_get(member=member), "log": log,
        "can_change": request.user.has_perm(PERM_CONSENT)})
