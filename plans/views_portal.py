"""Portal pages of paid membership (issue 18), mounted under /portal/ (namespace plans_portal): the
member centre's card (an htmx fragment, see plans.apps) and the member's plan with its dates, benefits
and history. Like every portal page they read only `request.member` (SEC-3)."""
from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.web import current_member, member_required, portal_render

from .models import PaidMembership
from .selectors import membership_event_list_for_member, membership_for_member, plan_list_for_sale

RECENT_EVENTS = 50


def _context(member) -> dict:
    membership = membership_for_member(member=member)
    return {"membership": membership,
            "current": membership is not None and membership.status in PaidMembership.CURRENT}


@require_GET
@member_required
def plan_home_card(request):
    """htmx fragment of the member centre: the plan and its end date, or what a plan offers."""
    return render(request, "plans/portal/_home.html", _context(current_member(request)))


@require_GET
@member_required
def plan_status(request):
    member = current_member(request)
    return portal_render(request, "plans/portal/status.html", "home", {
        **_context(member), "events": membership_event_list_for_member(member=member)[:RECENT_EVENTS],
        "plans": plan_list_for_sale(),
    })
