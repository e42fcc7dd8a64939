"""Desk pages of points (PTS-5..9), mounted under /desk/ (namespace points_desk): the member 360
points panel (an htmx fragment the member page loads, see points.apps), full history, offline purchase
and refund, redemption at the desk, manual adjustments with their approval queue.

Members are read through members.selectors (store scope: another store's member is a 404); every
write goes through points.services, and their domain errors come back on the form or as a message.
Each action checks the permission its service needs before calling it."""
from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import MemberHubError
from core.web import action_refused, need, staff_required
from members import scope
from members.forms_desk import ReviewForm, add_domain_error
from members.models import Member
from members.views_desk import member_for_desk

from . import selectors
from .calculation import ELIGIBLE_TENDERS, calculate_points
from .errors import IdempotencyConflict
from .forms_desk import (
    AdjustmentForm,
    CouponRedeemForm,
    GiftOrderCloseForm,
    GiftOrderForm,
    HistoryFilterForm,
    OfflinePurchaseForm,
    OfflineRefundForm,
    PurchasePreviewInput,
)
from .models import Adjustment, DeskPosting, GiftOrder, PointsConfig, Purchase, Refund
from .refund_items import refund_items
from .services import adjustments as adjustment_services
from .services import redemption
from .services.desk_postings import desk_posting_submit
from .services.purchases import refund_post

PERM_VIEW_POINTS = "points.view_entry"
PERM_VIEW_PURCHASES = "points.view_purchase"
PANEL_PURCHASES = 10
PURCHASES_PAGE_SIZE = 50
PANEL_ENTRIES = 20
HISTORY_PAGE_SIZE = 50
QUEUE_LIMIT = 200


def member_points_url(member: Member) -> str:
    """The member 360 page at its points panel: where a points action returns to."""
    return reverse("desk:member", args=[member.member_no]) + "#panel-points"


def points_panel_context(user, member: Member) -> dict:
    """Everything the member 360 points panel shows, in a bounded number of queries."""
    return {
        "member": member,
        "summary": selectors.points_summary(member),
        "entries": selectors.entries_with_campaign_names(
            list(selectors.entry_list_for_member(member=member)[:PANEL_ENTRIES])),
        "pending_adjustments": selectors.adjustment_list_pending_for_member(member=member),
        "can_purchase": user.has_perm("points.add_purchase"),
        "can_refund": user.has_perm("points.add_refund"),
        "can_redeem": user.has_perm("points.add_giftorder") or user.has_perm("points.add_coupon"),
        "can_adjust": user.has_perm("points.add_adjustment"),
        "can_approve": user.has_perm("points.approve_adjustment"),
    }


# ---------------------------------------------------------------- panel and history (PTS-8)


@staff_required
def points_panel(request, member_no: str):
    """htmx fragment loaded into the member 360 page's points panel."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW_POINTS)
    return render(request, "points/desk/_panel.html", points_panel_context(request.user, member))


@staff_required
def points_summary_bar(request, member_no: str):
    """htmx fragment of the member 360 summary bar (core.panels DESK_MEMBER_SUMMARY, issue 16): balance,
    the points expiring within the points_summary window and the usable coupons, from their selectors."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW_POINTS)
    summary = selectors.points_summary(member)
    return render(request, "points/desk/_summary.html", {
        "member": member, "summary": summary,
        "expiring": selectors.expiring_points_for_members([member.pk]).get(member.pk),
        "coupons": selectors.coupon_usable_count_for_member(member=member),
        # what still waits for a second staff member, so "waits for approval" stays in sight
        "pending_adjustments": selectors.adjustment_list_pending_for_member(member=member),
    })


@staff_required
def points_history(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW_POINTS)
    form = HistoryFilterForm(request.GET or None)
    qs = selectors.entry_list_for_member(member=member)
    if form.is_valid() and form.cleaned_data["kind"]:
        qs = qs.filter(kind=form.cleaned_data["kind"])
    page = Paginator(qs, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.entries_with_campaign_names(list(page.object_list))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "points/desk/history.html", {
        "member": member, "form": form, "page": page, "params": params.urlencode(),
        "summary": selectors.points_summary(member),
    })


# ---------------------------------------------------------------- purchase history (PTS-8, 会员消费详细信息)
# Staff see a member in their scope (member_for_desk) and, of that member's orders, those of the stores in
# their scope (scope.store_ids): the rule of the purchases API too. Chain-wide staff see every store's.


@staff_required
def purchases_panel(request, member_no: str):
    """htmx fragment of the member 360 page: the latest orders in the staff member's store scope."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW_PURCHASES)
    qs = selectors.purchase_list_for_member(member=member, store_ids=scope.store_ids(request.user))
    return render(request, "points/desk/_purchases_panel.html", {
        "member": member, "purchases": selectors.purchase_details(list(qs[:PANEL_PURCHASES])),
    })


@staff_required
def purchase_list(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW_PURCHASES)
    qs = selectors.purchase_list_for_member(member=member, store_ids=scope.store_ids(request.user))
    page = Paginator(qs, PURCHASES_PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.purchase_details(list(page.object_list))
    return render(request, "points/desk/purchases.html", {"member": member, "page": page})


@staff_required
def purchase_detail(request, member_no: str):
    """One order by its receipt (?store=&order=); another store's order (out of scope) is a 404."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_VIEW_PURCHASES)
    purchase = selectors.purchase_get_for_member(
        member=member, store_code=(request.GET.get("store") or "").strip()[:32],
        order_no=(request.GET.get("order") or "").strip()[:64], store_ids=scope.store_ids(request.user))
    if purchase is None:
        raise Http404
    return render(request, "points/desk/purchase_detail.html", {"member": member, "purchase": purchase})


# ---------------------------------------------------------------- offline purchase and refund (PTS-5, PTS-9)


@staff_required
def purchase_new(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "points.add_purchase")
    form = OfflinePurchaseForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                result = desk_posting_submit(
                    staff=request.user, member=member, store=form.acting_store(),
                    receipt_no=form.cleaned_data["order_no"], occurred_at=form.cleaned_data["occurred_at"],
                    lines=form.line_data(), tenders=form.tender_data(),
                )
            except IdempotencyConflict as exc:
                form.add_error("order_no", exc.message)
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                posting = result.posting
                purchase = posting.purchase
                if posting.status == DeskPosting.Status.PENDING:
                    messages.warning(request, _(
                        "Receipt %(no)s waits for a second staff member's approval (%(why)s); no points yet."
                    ) % {"no": posting.receipt_no, "why": posting.approval_reason})
                elif result.created:
                    messages.success(request, _(
                        "Order %(no)s posted: %(paid)s yuan paid, %(points)s points earned."
                    ) % {"no": purchase.order_no, "paid": purchase.amount_paid, "points": purchase.points_earned})
                else:
                    messages.warning(request, _(
                        "Order %(no)s was already posted; no points were credited again "
                        "(%(points)s points were earned the first time)."
                    ) % {"no": purchase.order_no, "points": purchase.points_earned})
                return redirect(member_points_url(member))
        return render(request, "points/desk/purchase.html", _purchase_context(member, form), status=400)
    return render(request, "points/desk/purchase.html", _purchase_context(member, form))


# The payment a preview assumes while none is entered yet: an eligible one, so the figure is what a bill
# paid in cash, by card or by mobile payment earns (coupons, gift cards and points earn less).
PREVIEW_ASSUMED_TENDER = "cash"
assert PREVIEW_ASSUMED_TENDER in ELIGIBLE_TENDERS


def purchase_preview_context(member: Member, form: OfflinePurchaseForm) -> dict:
    """Running total and the points the posting would credit, from points.calculation.calculate_points, the
    one calculation purchase_post credits with and the checkout quote (benefits.quote) ends with. The quote
    itself is not called: it prices a basket before the till (tier, birthday and member-day discounts), while
    a desk posting enters a receipt already paid, whose lines are the discounted amounts."""
    given = PurchasePreviewInput(form)
    total = sum((Decimal(line["amount"]) for line in given.lines), Decimal(0))
    context = {"member": member, "total": total, "lines": len(given.lines), "assumed": False,
               "calculation": None, "problems": []}
    if not given.lines:
        return context
    tenders = given.tenders
    if not tenders:
        tenders = [{"type": PREVIEW_ASSUMED_TENDER, "amount": str(total)}]
        context["assumed"] = True
    store = given.store or member.home_store
    try:
        context["calculation"] = calculate_points(member=member, store=store, at=given.occurred_at,
                                                  lines=given.lines, tenders=tenders)
    except MemberHubError as exc:
        context["problems"] = [m for messages_ in (exc.fields or {}).values() for m in messages_] or [exc.message]
    return context


@staff_required
@require_POST
def purchase_preview(request, member_no: str):
    """htmx fragment of the purchase form: the running total and the points preview, as the clerk types."""
    member = member_for_desk(request, member_no)
    need(request.user, "points.add_purchase")
    form = OfflinePurchaseForm(request.POST, user=request.user)
    return render(request, "points/desk/_purchase_preview.html", purchase_preview_context(member, form))


def _purchase_context(member: Member, form: OfflinePurchaseForm) -> dict:
    return {"member": member, "form": form,
            "preview": purchase_preview_context(member, form) if form.is_bound else {"member": member}}


def _purchase_for_refund(member: Member, form: OfflineRefundForm) -> Purchase | None:
    purchases = Purchase.objects.filter(member=member, order_no=form.cleaned_data["order_no"]).select_related("store")
    if form.cleaned_data.get("original_store"):
        purchases = purchases.filter(store=form.cleaned_data["original_store"])
    found = list(purchases[:2])
    if not found:
        form.add_error("order_no", _("This member has no order with this number."))
        return None
    if len(found) > 1:
        form.add_error("original_store", _("Orders with this number exist in several stores; choose the store."))
        return None
    return found[0]


@staff_required
def refund_new(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "points.add_refund")
    form = OfflineRefundForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid() and (purchase := _purchase_for_refund(member, form)) is not None:
            try:
                result = refund_post(store=form.acting_store(), refund_no=form.cleaned_data["refund_no"],
                                     purchase=purchase, amount=form.cleaned_data["amount"],
                                     occurred_at=form.cleaned_data["occurred_at"])
            except IdempotencyConflict as exc:
                form.add_error("refund_no", exc.message)
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                refund = result.refund
                text = _("Refund %(no)s of order %(order)s: %(amount)s yuan, %(points)s points reversed.") % {
                    "no": refund.refund_no, "order": purchase.order_no, "amount": refund.amount,
                    "points": refund.points_reversed}
                if refund.points_as_debt:
                    text += " " + _("%(debt)s points were already spent and are owed (debt).") % {
                        "debt": refund.points_as_debt}
                if refund.cash_deducted:
                    text += " " + _("Deduct %(cash)s yuan from the refund for points already spent.") % {
                        "cash": refund.cash_deducted}
                if not result.created:
                    text = _("This refund was already posted; nothing changed.") + " " + text
                (messages.success if result.created else messages.warning)(request, text)
                return redirect(f"{reverse('points_desk:refund', args=[member.member_no])}?refund={refund.pk}")
        return render(request, "points/desk/refund.html", {"member": member, "form": form}, status=400)
    return render(request, "points/desk/refund.html", {"member": member, "form": form,
                                                       "done": _refund_done(member, request.GET.get("refund"))})


def _refund_done(member: Member, refund_id: str | None) -> dict | None:
    """The refund just posted, itemised as the API and the member's notice give it (PTS-5)."""
    if not (refund_id or "").isdigit():
        return None
    refund = Refund.objects.filter(pk=int(refund_id), purchase__member=member).select_related("purchase").first()
    return {"refund": refund, "items": refund_items(refund)} if refund else None


# ---------------------------------------------------------------- redemption at the desk (PTS-6 a, b)


def _gift_choices(member: Member) -> tuple[list, list]:
    """The catalogue for this member: (all items with eligible flag and reason, eligible gifts)."""
    items, _have = selectors.gift_offers_for_member(member=member)
    return items, [item.gift for item in items if item.eligible]


def _redeem_context(request, member: Member, *, gift_form=None, coupon_form=None) -> dict:
    user = request.user
    items, eligible = _gift_choices(member)
    coupon_types = redemption.coupon_types_for_points()
    return {
        "member": member,
        "summary": selectors.points_summary(member),
        "gift_items": items,
        "gift_form": gift_form or (GiftOrderForm(user=user, gifts=eligible) if eligible else None),
        "coupon_form": coupon_form or CouponRedeemForm(coupon_types=coupon_types),
        "has_coupon_types": coupon_types.exists(),
        "gift_orders": selectors.gift_order_list_for_member(member=member)[:50],
        "coupons": redemption.coupons_in_wallet(member=member, include_past=True)[:50],
        "can_order_gift": user.has_perm("points.add_giftorder"),
        "can_change_order": user.has_perm("points.change_giftorder"),
        "can_issue_coupon": user.has_perm("points.add_coupon"),
        "close_form": GiftOrderCloseForm(),
    }


@staff_required
def redeem(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "points.view_giftorder")
    return render(request, "points/desk/redeem.html", _redeem_context(request, member))


def _redeem_url(member: Member) -> str:
    return reverse("points_desk:redeem", args=[member.member_no])


@staff_required
@require_POST
def gift_order_new(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "points.add_giftorder")
    _items, eligible = _gift_choices(member)
    form = GiftOrderForm(request.POST, user=request.user, gifts=eligible)
    if form.is_valid():
        try:
            order, created = redemption.gift_order_place(
                member=member, gift=form.cleaned_data["gift"], quantity=form.cleaned_data["quantity"],
                store=form.acting_store(), request_id=form.cleaned_data["request_id"], staff=request.user,
            )
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            if created:
                messages.success(request, _("Gift order #%(id)s placed: %(gift)s × %(n)s for %(points)s points.")
                                 % {"id": order.pk, "gift": order.gift.name, "n": order.quantity, "points": order.points})
            else:
                messages.warning(request, _("Gift order #%(id)s was already placed; no points were spent again.")
                                 % {"id": order.pk})
            return redirect(_redeem_url(member))
    return render(request, "points/desk/redeem.html", _redeem_context(request, member, gift_form=form), status=400)


GIFT_ORDER_ACTIONS = {
    "collect": (redemption.gift_order_collect, gettext_lazy("Gift order #%(id)s handed over.")),
    "cancel": (redemption.gift_order_cancel, gettext_lazy("Gift order #%(id)s cancelled; stock and points are back.")),
    "return": (redemption.gift_order_return, gettext_lazy("Gift order #%(id)s returned; stock and points are back.")),
}


@staff_required
@require_POST
def gift_order_action(request, member_no: str, pk: int, action: str):
    member = member_for_desk(request, member_no)
    if action not in GIFT_ORDER_ACTIONS:
        raise Http404
    need(request.user, "points.change_giftorder")
    order = GiftOrder.objects.filter(pk=pk, member=member).select_related("store").first()
    if order is None:
        raise Http404
    service, done = GIFT_ORDER_ACTIONS[action]
    form = GiftOrderCloseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    kwargs = {"order": order, "staff": request.user}
    if action != "collect":
        kwargs["reason"] = reason
    try:
        service(**kwargs)
    except MemberHubError as exc:
        exc.message = f"#{order.pk}: {exc.message}"
        return action_refused(request, exc, redeem, member_no=member.member_no)
    else:
        messages.success(request, str(done) % {"id": order.pk})
    return redirect(_redeem_url(member))


@staff_required
@require_POST
def coupon_redeem(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "points.add_coupon")
    form = CouponRedeemForm(request.POST, coupon_types=redemption.coupon_types_for_points())
    if form.is_valid():
        try:
            coupon, created = redemption.coupon_redeem_for_points(
                member=member, coupon_type=form.cleaned_data["coupon_type"],
                request_id=form.cleaned_data["request_id"], store=scope.staff_store(request.user),
                staff=request.user,
            )
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            if created:
                messages.success(request, _("Coupon %(code)s (%(name)s) issued for %(points)s points.") % {
                    "code": coupon.code, "name": coupon.type.name, "points": coupon.type.points_cost})
            else:
                messages.warning(request, _("Coupon %(code)s was already issued; no points were spent again.")
                                 % {"code": coupon.code})
            return redirect(_redeem_url(member))
    return render(request, "points/desk/redeem.html", _redeem_context(request, member, coupon_form=form), status=400)


# ---------------------------------------------------------------- manual adjustment (PTS-7)


@staff_required
def adjustment_new(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "points.add_adjustment")
    form = AdjustmentForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                adjustment = adjustment_services.adjustment_request(
                    member=member, points=form.cleaned_data["points"], reason=form.cleaned_data["reason"],
                    staff=request.user,
                )
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                if adjustment.status == Adjustment.Status.APPLIED:
                    messages.success(request, _("%(points)+d points applied.") % {"points": adjustment.points})
                else:
                    messages.warning(request, _(
                        "%(points)+d points are above the approval threshold: the adjustment waits for "
                        "a second staff member to approve it."
                    ) % {"points": adjustment.points})
                return redirect(member_points_url(member))
        return render(request, "points/desk/adjust.html", _adjust_context(member, form), status=400)
    return render(request, "points/desk/adjust.html", _adjust_context(member, form))


def _adjust_context(member: Member, form) -> dict:
    return {"member": member, "form": form, "summary": selectors.points_summary(member),
            "threshold": PointsConfig.get().adjustment_approval_threshold}


@staff_required
def adjustment_queue(request):
    need(request.user, "points.view_adjustment")
    return render(request, "points/desk/adjustments.html", {
        "adjustments": selectors.adjustment_queue_for_staff(request.user)[:QUEUE_LIMIT],
        "can_approve": request.user.has_perm("points.approve_adjustment"),
    })


@staff_required
@require_POST
def adjustment_decide(request, pk: int):
    need(request.user, "points.approve_adjustment")
    adjustment = selectors.adjustment_queue_for_staff(request.user).filter(pk=pk).first()
    if adjustment is None:
        raise Http404
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("points_desk:adjustments")
    try:
        if form.approve:
            adjustment_services.adjustment_approve(adjustment=adjustment, approver=request.user)
        else:
            adjustment_services.adjustment_reject(adjustment=adjustment, approver=request.user,
                                                  reason=form.cleaned_data["reason"])
    except MemberHubError as exc:
        exc.message = f"{adjustment.member.member_no}: {exc.message}"
        return action_refused(request, exc, adjustment_queue)
    else:
        if form.approve:
            messages.success(request, _("Adjustment of %(points)+d points for %(no)s approved and applied.") % {
                "points": adjustment.points, "no": adjustment.member.member_no})
        else:
            messages.success(request, _("Adjustment for %(no)s rejected.") % {"no": adjustment.member.member_no})
    return redirect("points_desk:adjustments")
