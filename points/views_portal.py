"""Member portal: points, tier, redemption and inbox pages (PTS-6, PTS-8, TIER-5, SEC-3).

Like members.views_portal, every view reads only `request.member`: ids in these URLs name catalogue
items (a gift, a coupon type, a lottery) or the member's own records, which are looked up *within*
the member's rows, so another member's gift order, coupon, draw or notice is a 404. Those ids travel
in the query string or the POST body, not the path: portal paths carry no converters at all (the
SEC-3 check in tests/members/test_portal.py).

Writes go through points.services.redemption. Each order / redeem / draw form carries a request id
generated when the form is rendered, so a double submit (double tap, resent POST) is one order: the
service is idempotent on it and the second POST only shows "already done".

Lottery pages show each prize's chance (weight / sum of the weights of prizes in stock, the rule
lottery_draw applies): the member pays points for a draw, so the odds are part of the offer.
"""
from __future__ import annotations

import secrets
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core.errors import MemberHubError
from core.web import current_member, member_required
from messaging.models import Notice
from messaging.services import notice_mark_read
from points.api import points_summary
from points.models import Campaign, Coupon, CouponType, Draw, Entry, Gift, GiftOrder, Lottery
from points.services import redemption
from points.services.ledger import spendable
from tiers.selectors import tier_change_list_for_member, tier_list, tier_status_for_member

from .models import Member, Store

HISTORY_PAGE_SIZE = 20
INBOX_PAGE_SIZE = 20
RECENT_DRAWS = 20


# ---------------------------------------------------------------- shared helpers


def new_request_id() -> str:
    """A fresh id for one rendered form; the services are idempotent on it."""
    return f"portal-{secrets.token_urlsafe(18)}"


def inbox_unread_count(member: Member) -> int:
    return Notice.objects.filter(member=member, read_at__isnull=True).count()


def portal_nav(request) -> dict:
    """Context processor for the portal nav: the unread inbox count, counted only if a page shows it.

    Register as "members.views_portal_points.portal_nav" in TEMPLATES context_processors so that
    base.html shows the count on every portal page; until then the pages of this module add it."""
    member = getattr(request, "member", None)
    if not member:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: inbox_unread_count(member))}


def _render(request, template: str, section: str, context: dict):
    context.setdefault("member", current_member(request))
    context["portal_section"] = section
    context.setdefault("inbox_unread", inbox_unread_count(context["member"]))
    return render(request, template, context)


def _pk(value) -> int:
    """An id from the query string or POST body; anything else is a 404 like an id that is not ours."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if pk <= 0:
        raise Http404
    return pk


def _stores():
    return Store.objects.filter(is_active=True).order_by("code")


# ---------------------------------------------------------------- points (PTS-8) and tier (TIER-*)


def _campaign_names(entries: list[Entry]) -> dict[int, str]:
    ids = {cid for e in entries for cid in (e.campaigns or []) if isinstance(cid, int)}
    return dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


@require_GET
@member_required
def points_overview(request):
    member = current_member(request)
    summary = points_summary(member)
    entries = (Entry.objects.filter(member=member).select_related("store", "purchase")
               .order_by("-created_at", "-id"))
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    names = _campaign_names(list(page.object_list))
    history = [
        {"entry": e, "campaigns": [names.get(cid, f"#{cid}") for cid in (e.campaigns or [])]}
        for e in page.object_list
    ]
    return _render(request, "portal/points/points.html", "points", {
        "summary": summary, "page": page, "history": history,
        "tier_status": tier_status_for_member(member=member),
    })


@require_GET
@member_required
def tier_status(request):
    member = current_member(request)
    return _render(request, "portal/points/tier.html", "tier", {
        "status": tier_status_for_member(member=member),
        "tiers": tier_list(),
        "changes": tier_change_list_for_member(member=member)[:50],
    })


# ---------------------------------------------------------------- gifts (PTS-6a)


class GiftOrderForm(forms.Form):
    gift = forms.IntegerField(widget=forms.HiddenInput)
    request_id = forms.CharField(max_length=64, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=gettext_lazy("Quantity"), min_value=1, max_value=99, initial=1,
                                  widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]*"}))
    store = forms.ModelChoiceField(label=gettext_lazy("Pick-up store"), queryset=Store.objects.none(),
                                   empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = _stores()


def _gift_catalogue(member: Member):
    """The shared catalogue (points.services.redemption.gift_catalogue_for_member), worded for the member."""
    items, have = redemption.gift_catalogue_for_member(member=member)
    for item in items:
        if item.code == "member_inactive":
            item.reason = _("Your membership cannot redeem points now.")
    return items, have


@require_GET
@member_required
def gifts(request):
    member = current_member(request)
    items, have = _gift_catalogue(member)
    stores = list(_stores())
    catalogue = [
        {"item": item, "request_id": new_request_id(), "max_quantity": _max_quantity(item, have)}
        for item in items
    ]
    orders = (GiftOrder.objects.filter(member=member).select_related("gift", "store")
              .order_by("-created_at", "-id")[:50])
    return _render(request, "portal/points/gifts.html", "gifts", {
        "catalogue": catalogue, "spendable": have, "stores": stores, "orders": orders,
        "reserved": GiftOrder.Status.RESERVED,
    })


def _max_quantity(item, have: int) -> int:
    gift = item.gift
    limits = [99, gift.stock, have // gift.points_cost]
    if gift.per_member_limit is not None:
        limits.append(gift.per_member_limit - item.ordered)
    return max(1, min(limits))


@require_POST
@member_required
def gift_order(request):
    member = current_member(request)
    form = GiftOrderForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields and form.fields[field].label else ""
            messages.error(request, f"{label}: {errors[0]}" if label else errors[0])
        return redirect("portal:gifts")
    gift = Gift.objects.filter(pk=form.cleaned_data["gift"]).first()
    if gift is None:
        messages.error(request, _("This gift is not available now."))
        return redirect("portal:gifts")
    try:
        order, created = redemption.gift_order_place(
            member=member, gift=gift, quantity=form.cleaned_data["quantity"], store=form.cleaned_data["store"],
            request_id=form.cleaned_data["request_id"],
        )
    except MemberHubError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(request, _(
                "Ordered: %(gift)s × %(n)s for %(points)s points. Pick it up at %(store)s."
            ) % {"gift": gift.name, "n": order.quantity, "points": order.points, "store": order.store.name})
        else:
            messages.info(request, _("This order was already placed."))
    return redirect("portal:gifts")


@require_POST
@member_required
def gift_order_cancel(request):
    member = current_member(request)
    order = get_object_or_404(GiftOrder.objects.select_related("gift"), pk=_pk(request.POST.get("order")),
                              member=member)
    try:
        order = redemption.gift_order_cancel(order=order, reason=_("Cancelled by the member on the portal"))
    except MemberHubError as exc:
        messages.error(request, exc.message)
    else:
        if order.points:
            messages.success(request, _("The order of %(gift)s is cancelled; %(points)s points are back.")
                             % {"gift": order.gift.name, "points": order.points})
        else:
            messages.success(request, _("The order of %(gift)s is cancelled.") % {"gift": order.gift.name})
    return redirect("portal:gifts")


# ---------------------------------------------------------------- coupons (PTS-6b)


def _coupon_state(coupon: Coupon, now) -> str:
    if coupon.status == Coupon.Status.ISSUED:
        if coupon.valid_to <= now:
            return "expired"
        return "not_yet" if coupon.valid_from > now else "usable"
    return coupon.status


class CouponRedeemForm(forms.Form):
    coupon_type = forms.IntegerField(widget=forms.HiddenInput)
    request_id = forms.CharField(max_length=64, widget=forms.HiddenInput)


@require_GET
@member_required
def coupons(request):
    member = current_member(request)
    now = timezone.now()
    wallet = list(redemption.coupons_in_wallet(member=member, include_past=True)
                  .select_related("used_store").prefetch_related("type__stores"))
    groups = {"usable": [], "not_yet": [], "used": [], "expired": [], "void": []}
    for coupon in wallet:
        coupon.state = _coupon_state(coupon, now)
        groups[coupon.state].append(coupon)
    groups["used"].sort(key=lambda c: c.used_at or now, reverse=True)
    groups["expired"].sort(key=lambda c: c.valid_to, reverse=True)
    can_redeem = redemption.member_can_redeem(member)
    have = spendable(member) if can_redeem else 0
    offers = []
    for ctype in redemption.coupon_types_for_points().prefetch_related("stores"):
        reason = ""
        if not can_redeem:
            reason = _("Your membership cannot redeem points now.")
        elif ctype.issue_limit is not None and ctype.issued_count >= ctype.issue_limit:
            reason = _("Sold out.")
        elif ctype.points_cost > have:
            reason = _("Not enough points: %(need)s needed, %(have)s available.") % {
                "need": ctype.points_cost, "have": have}
        offers.append({"type": ctype, "reason": reason, "request_id": new_request_id()})
    return _render(request, "portal/points/coupons.html", "coupons", {
        "usable": groups["usable"] + groups["not_yet"], "used": groups["used"],
        "expired": groups["expired"] + groups["void"], "offers": offers, "spendable": have,
    })


@require_GET
@member_required
def coupon_detail(request):
    member = current_member(request)
    code = (request.GET.get("code") or "").strip().upper()
    if not code:
        raise Http404
    coupon = get_object_or_404(
        Coupon.objects.select_related("type", "used_store").prefetch_related("type__stores"),
        code=code, member=member,
    )
    coupon.state = _coupon_state(coupon, timezone.now())
    return _render(request, "portal/points/coupon_detail.html", "coupons", {"coupon": coupon})


@require_POST
@member_required
def coupon_redeem(request):
    member = current_member(request)
    form = CouponRedeemForm(request.POST)
    ctype = CouponType.objects.filter(pk=form.cleaned_data["coupon_type"]).first() if form.is_valid() else None
    if ctype is None:
        messages.error(request, _("This coupon is not available now."))
        return redirect("portal:coupons")
    try:
        coupon, created = redemption.coupon_redeem_for_points(
            member=member, coupon_type=ctype, request_id=form.cleaned_data["request_id"])
    except MemberHubError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(request, _("%(name)s is in your wallet (code %(code)s) for %(points)s points.")
                             % {"name": ctype.name, "code": coupon.code, "points": ctype.points_cost})
        else:
            messages.info(request, _("This coupon was already redeemed."))
    return redirect("portal:coupons")


# ---------------------------------------------------------------- lottery (PTS-6d)


def _prize_table(lottery: Lottery) -> list[dict]:
    prizes = list(lottery.prizes.all())
    live = [p for p in prizes if redemption.prize_available(p)]
    total = sum(p.weight for p in live)
    return [{"prize": p, "in_stock": p in live,
             "chance": (Decimal(p.weight * 100) / total).quantize(Decimal("0.01")) if p in live and total else None}
            for p in prizes]


@require_GET
@member_required
def lottery(request):
    member = current_member(request)
    lotteries = redemption.lottery_list_open().prefetch_related("prizes__gift", "prizes__coupon_type")
    can_redeem = redemption.member_can_redeem(member)
    have = spendable(member) if can_redeem else 0
    rows = []
    for lot in lotteries:
        table = _prize_table(lot)
        reason = ""
        if not can_redeem:
            reason = _("Your membership cannot redeem points now.")
        elif not any(row["in_stock"] for row in table):
            reason = _("All prizes of this lottery are gone.")
        elif lot.points_cost > have:
            reason = _("Not enough points: %(need)s needed, %(have)s available.") % {
                "need": lot.points_cost, "have": have}
        rows.append({"lottery": lot, "prizes": table, "reason": reason, "request_id": new_request_id()})
    draws = (Draw.objects.filter(member=member).select_related("lottery", "prize", "coupon", "gift_order")
             .order_by("-created_at", "-id")[:RECENT_DRAWS])
    return _render(request, "portal/points/lottery.html", "lottery", {
        "lotteries": rows, "draws": draws, "spendable": have,
    })


@require_POST
@member_required
def lottery_draw(request):
    member = current_member(request)
    lot = Lottery.objects.filter(pk=_pk(request.POST.get("lottery"))).first()
    if lot is None:
        raise Http404
    try:
        draw, created = redemption.lottery_draw(member=member, lottery=lot,
                                                request_id=request.POST.get("request_id", ""))
    except MemberHubError as exc:
        messages.error(request, exc.message)
        return redirect("portal:lottery")
    if not created:
        messages.info(request, _("This draw was already made; here is its result."))
    return redirect(f"{reverse('portal:draw')}?draw={draw.pk}")


@require_GET
@member_required
def draw_detail(request):
    member = current_member(request)
    draw = get_object_or_404(
        Draw.objects.select_related("lottery", "prize", "coupon__type", "gift_order__store", "gift_order__gift"),
        pk=_pk(request.GET.get("draw")), member=member,
    )
    return _render(request, "portal/points/draw.html", "lottery", {"draw": draw})


# ---------------------------------------------------------------- inbox (MSG-2 notices)


@require_GET
@member_required
def inbox(request):
    member = current_member(request)
    page = Paginator(Notice.objects.filter(member=member).order_by("-created_at", "-id"),
                     INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "portal/points/inbox.html", "inbox", {"page": page})


@require_GET
@member_required
def notice_detail(request):
    member = current_member(request)
    notice = get_object_or_404(Notice, pk=_pk(request.GET.get("id")), member=member)
    if notice.read_at is None and notice_mark_read(member=member, notice_ids=[notice.pk]):
        notice.refresh_from_db(fields=["read_at"])
    return _render(request, "portal/points/notice.html", "inbox", {"notice": notice})


@require_POST
@member_required
def inbox_read_all(request):
    member = current_member(request)
    if notice_mark_read(member=member):
        messages.success(request, _("All messages are marked as read."))
    return redirect("portal:inbox")
