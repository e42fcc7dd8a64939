"""Portal page of the member's tier (TIER-5), mounted under /portal/ (namespace tiers_portal). Like
every portal page it reads only `request.member` (SEC-3)."""
from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.web import current_member, member_required, portal_render

from .selectors import tier_change_list_for_member, tier_list, tier_status_for_member

RECENT_CHANGES = 50


@require_GET
@member_required
def tier_status(request):
    member = current_member(request)
    return portal_render(request, "tiers/portal/status.html", "tier", {
        "status": tier_status_for_member(member=member),
        "tiers": tier_list(),
        "changes": tier_change_list_for_member(member=member)[:RECENT_CHANGES],
    })


@require_GET
@member_required
def tier_summary(request):
    """htmx fragment: the member's tier at a glance, shown on the portal points page."""
    return render(request, "tiers/portal/_summary.html",
                  {"tier_status": tier_status_for_member(member=current_member(request))})


@require_GET
@member_required
def tier_progress(request):
    """htmx fragment of the portal home (core.panels PORTAL_HOME): the tier and the way to the next one,
    from tier_status_for_member (the thresholds and the one rolling net-paid spend the engine uses)."""
    status = tier_status_for_member(member=current_member(request))
    progress = None
    if status.next_tier is not None and status.next_tier.upgrade_amount > 0:
        # <progress> takes the threshold as max; a member past it (waiting for the engine) shows full.
        progress = {"value": min(status.rolling_amount, status.next_tier.upgrade_amount),
                    "max": status.next_tier.upgrade_amount}
    return render(request, "tiers/portal/_home_progress.html", {"tier_status": status, "progress": progress})
