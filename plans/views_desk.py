"""Desk pages of paid membership (issue 18), mounted at /desk/ (namespace plans_desk): the member 360
panel (an htmx fragment, see plans.apps), selling or renewing a plan, and the refund by the plan's rule.
Members are read in the staff member's store scope; every write goes through plans.services."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import MemberHubError
from core.web import need, staff_required
from members.forms_desk import add_domain_error
from members.scope import staff_store
from members.views_desk import member_for_desk

from . import services
from .forms import MembershipBuyForm, MembershipRefundForm
from .models import PaidMembership, Source
from .selectors import membership_event_list_for_member, membership_for_member

PERM_VIEW = "plans.view_paidmembership"
PERM_SELL = "plans.add_paidmembership"
PERM_REFUND = "plans.refund_paidmembership"
PANEL_EVENTS = 10


def _member_url(member) -> str:
    return reverse("desk:member", args=[member.member_no]) + "#panel-plan"


@staff_required
def plan_panel(request, member_no: str):
    """htmx fragment loaded into the member 360 page's paid-membership panel."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW)
    membership = membership_for_member(member=member)
    return render(request, "plans/desk/_panel.html", {
        "member": member, "membership": membership,
        "current": membership is not None and membership.status in PaidMembership.CURRENT,
        "events": list(membership_event_list_for_member(member=member)[:PANEL_EVENTS]),
        "can_sell": request.user.has_perm(PERM_SELL), "can_refund": request.user.has_perm(PERM_REFUND),
    })


@staff_required
def membership_buy(request, member_no: str):
    """Sell a plan (or renew the current one from its end). The receipt number makes a resubmitted form
    buy once; the hidden end date the page showed refuses a sale another desk made meanwhile."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_SELL)
    current = membership_for_member(member=member)
    current = current if current is not None and current.status in PaidMembership.CURRENT else None
    initial = {"seen_ends_on": current.ends_on.isoformat() if current else ""}
    if current:
        initial.update(plan=current.plan, amount=current.plan.price)
    form = MembershipBuyForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            seen = d["seen_ends_on"]
            try:
                seen_date = dt.date.fromisoformat(seen) if seen else None
            except ValueError:
                seen_date = services.UNSEEN
            store = staff_store(request.user)
            try:
                result = services.membership_buy(
                    member=member, plan=d["plan"], source=Source.DESK, price_paid=d["amount"], actor=request.user,
                    purchase_ref=f"desk:{store.code if store else 'chain'}:{d['receipt_no'].strip()}",
                    expected_ends_on=seen_date)
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                m = result.membership
                messages.success(request, _("%(plan)s: %(kind)s, valid through %(end)s.") % {
                    "plan": m.plan.name, "kind": result.event.get_kind_display(), "end": m.ends_on})
                return redirect(_member_url(member))
        return render(request, "plans/desk/buy.html", {"member": member, "form": form, "current": current},
                      status=400)
    return render(request, "plans/desk/buy.html", {"member": member, "form": form, "current": current})


@staff_required
def membership_refund(request, member_no: str, membership_id: int):
    """The refund the plan's rule gives today, shown before it is confirmed; the membership ends at once."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_REFUND)
    membership = get_object_or_404(PaidMembership.objects.select_related("plan"), pk=membership_id,
                                   member_id=member.pk)
    quote = services.membership_refund_quote(membership=membership, day=timezone.localdate())
    form = MembershipRefundForm(request.POST or None)
    context = {"member": member, "membership": membership, "quote": quote, "form": form}
    if request.method == "POST":
        if form.is_valid():
            try:
                event = services.membership_refund(membership=membership, actor=request.user,
                                                   reason=form.cleaned_data["reason"])
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Membership refunded: %(amount)s yuan to pay back.")
                                 % {"amount": event.amount})
                return redirect(_member_url(member))
        return render(request, "plans/desk/refund.html", context, status=409 if quote.refusal else 400)
    return render(request, "plans/desk/refund.html", context)
