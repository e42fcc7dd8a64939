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
from core.web import action_refused, client_ip, id_param, member_required, need, staff_required
from members import ecard, scope
from members.forms_desk import add_domain_error

from . import selectors, services
from .forms import EventOutcomeForm
from .models import CheckIn, Event, Feedback, PartnerOffer, Registration

PERM_CHECK_IN = "engagement.add_checkin"
PERM_REPORT = "engagement.view_event"
PERM_OUTCOME = "engagement.change_event"


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
    """The events of the staff member's stores with budget, cost, the attendees' sales in each event's
    window and ROI (seed 002 六(三) 活动效果评估档案); the sales of all rows in one query."""
    need(request.user, PERM_REPORT)
    events = list(scope.filter_by_store(request.user, Event.objects.select_related("store"), field="store")[:100])
    sales = selectors.event_sales(events)
    rows = [(event, sales[event.pk], selectors.event_roi(sales=sales[event.pk].window, cost=event.cost))
            for event in events]
    return render(request, "engagement/desk_events.html", {"rows": rows})


def _event_page(request, event: Event, *, outcome_form: EventOutcomeForm | None = None, status: int = 200):
    return render(request, "engagement/desk_event.html", {
        "event": event, "report": selectors.event_outcome(event),
        "outcome_form": outcome_form or EventOutcomeForm.for_event(event),
        "can_record_outcome": request.user.has_perm(PERM_OUTCOME)}, status=status)


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
    return _event_page(request, event)


@require_POST
@staff_required
def desk_event_outcome(request, event_id: int):
    """Record budget, cost, sales window and lessons learned (engagement.change_event, the event's store)."""
    need(request.user, PERM_REPORT)
    need(request.user, PERM_OUTCOME)
    event = _desk_event(request, event_id)
    form = EventOutcomeForm(request.POST)
    if not form.is_valid():
        return _event_page(request, event, outcome_form=form, status=400)
    try:
        services.event_outcome_record(event=event, actor=request.user, ip=client_ip(request), **form.cleaned_data)
    except MemberHubError as exc:
        add_domain_error(form, exc)
        return _event_page(request, event, outcome_form=form, status=exc.status)
    messages.success(request, _("The event's outcome is recorded."))
    return redirect("engagement_desk:event", event_id=event.pk)
