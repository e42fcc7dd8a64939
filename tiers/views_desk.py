"""Desk pages of tiers (TIER-4, TIER-5), mounted under /desk/ (namespace tiers_desk): the member 360
tier panel (an htmx fragment the member page loads, see tiers.apps), manual tier grants and the tier
proposal queue.

Members are read in the staff member's store scope (another store's member is a 404); every write goes
through tiers.services and its domain errors come back on the form or as a message."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import MemberHubError
from core.web import action_refused, need, staff_required
from members.forms_desk import ReviewForm, add_domain_error
from members.views_desk import member_for_desk

from . import services
from .forms_desk import TierGrantForm
from .selectors import tier_change_list_for_member, tier_proposal_list_for_staff, tier_status_for_member

PERM_VIEW_TIERS = "tiers.view_tierchange"
PANEL_CHANGES = 10
PAGE_SIZE = 50


def _member_tier_url(member) -> str:
    return reverse("desk:member", args=[member.member_no]) + "#panel-tier"


@staff_required
def tier_panel(request, member_no: str):
    """htmx fragment loaded into the member 360 page's tier panel (TIER-5)."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW_TIERS)
    return render(request, "tiers/desk/_panel.html", {
        "member": member,
        "tier_status": tier_status_for_member(member=member),
        "tier_history": list(tier_change_list_for_member(member=member)[:PANEL_CHANGES]),
        "can_grant": request.user.has_perm("tiers.grant_tier"),
    })


@staff_required
def tier_grant(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "tiers.grant_tier")
    form = TierGrantForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                change = services.tier_floor_grant(
                    member=member, tier=form.cleaned_data["tier"], until=form.cleaned_data["until"],
                    reason=form.cleaned_data["reason"], staff=request.user,
                )
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Manual tier %(tier)s granted until %(until)s (%(kind)s).") % {
                    "tier": change.to_tier.name, "until": change.floor_until, "kind": change.get_kind_display()})
                return redirect(_member_tier_url(member))
        return render(request, "tiers/desk/grant.html", {"member": member, "form": form}, status=400)
    return render(request, "tiers/desk/grant.html", {"member": member, "form": form})


@staff_required
def tier_proposals(request):
    need(request.user, "tiers.decide_tierproposal")
    qs = tier_proposal_list_for_staff(user=request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tiers/desk/proposals.html", {"page": page})


@staff_required
@require_POST
def tier_proposals_decide(request):
    """Approve or reject one proposal (row buttons) or the selected ones (bulk), each in its own
    transaction; a refused one is reported and does not hold back the others."""
    need(request.user, "tiers.decide_tierproposal")
    ids = sorted({int(v) for v in request.POST.getlist("proposal") if v.isdigit()})
    form = ReviewForm(request.POST)
    if not ids:
        messages.error(request, _("Select at least one proposal."))
    elif not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
    else:
        try:
            result = services.tier_proposals_decide(proposal_ids=ids, staff=request.user,
                                                    approve=form.approve, reason=form.cleaned_data["reason"])
        except MemberHubError as exc:
            return action_refused(request, exc, tier_proposals)
        else:
            if result.done:
                text = (_("%(n)s proposal(s) approved.") if form.approve else _("%(n)s proposal(s) rejected."))
                messages.success(request, text % {"n": len(result.done)})
            for pk, error in sorted(result.errors.items()):
                messages.error(request, _("Proposal #%(id)s: %(error)s") % {"id": pk, "error": error})
    return redirect("tiers_desk:proposals")
