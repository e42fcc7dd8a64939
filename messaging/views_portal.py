"""The member's inbox on the portal (MSG-2 notices), mounted under /portal/ (namespace
messaging_portal). Like every portal page it reads only `request.member`: a notice id travels in the
query string and is looked up within the member's notices, so another member's notice is a 404 (SEC-3).
Reading a notice marks it read through messaging.services.notice_mark_read."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.web import current_member, id_param, member_required, portal_render
from wechat.selectors import binding_active_for_member

from .models import Notice
from .selectors import notice_list_for_member
from .services import channel_preference_get, channel_preference_set, notice_mark_read

INBOX_PAGE_SIZE = 20


@require_GET
@member_required
def inbox(request):
    member = current_member(request)
    page = Paginator(notice_list_for_member(member=member), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return portal_render(request, "messaging/portal/inbox.html", "inbox", {"page": page})


@require_GET
@member_required
def notice_detail(request):
    member = current_member(request)
    notice = get_object_or_404(Notice, pk=id_param(request.GET.get("id")), member=member)
    if notice.read_at is None and notice_mark_read(member=member, notice_ids=[notice.pk]):
        notice.refresh_from_db(fields=["read_at"])
    return portal_render(request, "messaging/portal/notice.html", "inbox", {"notice": notice})


@require_POST
@member_required
def inbox_read_all(request):
    member = current_member(request)
    if notice_mark_read(member=member):
        messages.success(request, _("All messages are marked as read."))
    return redirect("messaging_portal:inbox")


@require_http_methods(["GET", "POST"])
@member_required
def channels(request):
    """The member chooses the channels messages come on (SMS, e-mail); the inbox always stays on."""
    member = current_member(request)
    if request.method == "POST":
        channel_preference_set(member=member, sms=request.POST.get("sms") == "on",
                               email=request.POST.get("email") == "on", actor="member",
                               wechat=(request.POST.get("wechat") == "on") if "wechat_shown" in request.POST else None)
        messages.success(request, _("Your choice of channels is saved."))
        return redirect("messaging_portal:channels")
    return portal_render(request, "messaging/portal/channels.html", "inbox",
                        {"preference": channel_preference_get(member=member),
                         "wechat_bound": binding_active_for_member(member_id=member.pk) is not None})
