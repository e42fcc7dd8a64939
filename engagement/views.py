"""Portal pages (my partner codes, my events) and desk pages (event check-in, outcome report).
Portal URLs carry no member id: every lookup goes through request.member (SEC-3)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import MemberHubError
from core.web import action_refused, id_param, member_required, need, staff_required
from members import ecard, scope

from . import selectors, services
from .models import CheckIn, Event, Feedback, PartnerOffer, Registration

PERM_CHECK_IN = "engagement.add_checkin"
PERM_REPORT = "engagement.view_event"


# ---------------------------------------------------------------- portal


@member_required
def portal_partners(request):
    member = request.member
    if request.method == "POST":
        offer = selectors.offers_for_member(member).filter(pk=request.POST.get("offer")).first()
        if offer is None:
            raise Http404
        try:
            rc = services.redemption_code_issue(member=member, offer=PartnerOffer.objects.get(pk=offer.pk))
            messages.success(request, _("Your code: %(code)s") % {"code": rc.code})
        except MemberHubError as exc:
            return action_refused(request, exc, portal_partners)
        return redirect("engagement_portal:partners")
    return render(request, "engagement/portal_partners.html", {
        "portal_section": "partners", "offers": selectors.offers_for_member(member),
        "codes": selectors.codes_for_member(member)})


@member_required
def portal_events(request):
    return render(request, "engagement/portal_events.html", {
        "portal_section": "events", "events": selectors.events_for_member(request.member)})


def _my_event(request, event_id: int) -> Event:
    return get_object_or_404(Event.objects.select_related("store"), pk=event_id,
                             invitations__member=request.member)


@member_required
def portal_event(request):
    event = _my_event(request, id_param(request.GET.get("id")))
    reg = Registration.objects.filter(event=event, member=request.member).first()
    ctx = {"portal_section": "events", "event": event, "registration": reg, "guest_range": range(event.guest_allowance + 1)}
    if reg and reg.status == Registration.Status.REGISTERED:
        ctx["checked_in"] = CheckIn.objects.filter(registration=reg).exists()
        ctx["feedback"] = Feedback.objects.filter(registration=reg).first()
        if not ctx["checked_in"]:
            ctx["qr_svg"] = ecard.qr_svg(services.check_in_payload(reg))
    return render(request, "engagement/portal_event.html", ctx)


@require_POST
@member_required
def portal_event_action(request, action: str):
    event = _my_event(request, id_param(request.POST.get("id")))
    reg = Registration.objects.filter(event=event, member=request.member).first()
    try:
        if action == "signup":
            services.event_sign_up(event=event, member=request.member, guests=int(request.POST.get("guests") or 0))
            messages.success(request, _("You are signed up."))
        elif action == "cancel" and reg:
            services.event_sign_up_cancel(registration=reg)
            messages.success(request, _("Your sign-up is cancelled."))
        elif action == "feedback" and reg:
            services.event_feedback_submit(registration=reg, rating=int(request.POST.get("rating") or 0),
                                           comment=request.POST.get("comment", ""))
            messages.success(request, _("Thank you for your feedback."))
        else:
            raise Http404
    except ValueError:
        messages.error(request, _("Please enter a number."))
    except MemberHubError as exc:
        request.GET = QueryDict(f"id={event.pk}")  # the event page the action was posted from
        return action_refused(request, exc, portal_event)
    return redirect(f"{reverse('engagement_portal:event')}?id={event.pk}")


# ---------------------------------------------------------------- desk


def _desk_event(request, event_id: int) -> Event:
    qs = scope.filter_by_store(request.user, Event.objects.select_related("store"), field="store")
    return get_object_or_404(qs, pk=event_id)


@staff_required
def desk_events(request):
    need(request.user, PERM_REPORT)
    events = scope.filter_by_store(request.user, Event.objects.select_related("store"), field="store")[:100]
    return render(request, "engagement/desk_events.html", {"events": events})


@staff_required
def desk_event(request, event_id: int):
    need(request.user, PERM_REPORT)
    event = _desk_event(request, event_id)
    if request.method == "POST":
        need(request.user, PERM_CHECK_IN)
        try:
            ci = services.event_check_in(payload=request.POST.get("payload", ""), event=event, by=request.user)
            reg = ci.registration
            messages.success(request, _("Checked in: %(name)s with %(guests)d guests.")
                             % {"name": reg.member.name, "guests": reg.guests})
        except MemberHubError as exc:
            return action_refused(request, exc, desk_event, event_id=event.pk)
        return redirect("engagement_desk:event", event_id=event.pk)
    return render(request, "engagement/desk_event.html", {"event": event, "report": selectors.event_outcome(event)})
