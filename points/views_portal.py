"""Member portal pages of points (PTS-6, PTS-8, SEC-3), mounted under /portal/ (namespace
points_portal): points and history, gifts, coupons, lottery.

Like members.views_portal, every view reads only `request.member`: ids in these URLs name catalogue
items (a gift, a coupon type, a lottery) or the member's own records, which are looked up *within*
the member's rows, so another member's gift order, coupon or draw is a 404. Those ids travel in the
query string or the POST body, not the path: portal paths carry no converters at all (SEC-3).

Reads come from points.selectors (the offers with why a member cannot take one, the wallet); writes
go through points.services.redemption. Each order / redeem / draw form carries a request id generated
when the form is rendered, so a double submit (double tap, resent POST) is one order: the service is
idempotent on it and the second POST only shows "already done".

Lottery pages show each prize's chance (selectors.lottery_prize_table): the member pays points for a
draw, so the odds are part of the offer.
"""
from __future__ import annotations

import datetime as dt
import secrets

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core.errors import MemberHubError
from core.panels import PORTAL_POINTS, panels_for
from core.templatetags.portal_format import points as points_text
from core.web import action_refused, current_member, id_param, member_required, portal_render
from members.models import Store

from . import selectors
from .models import Coupon, CouponType, Draw, Gift, GiftOrder, Lottery
from .services import redemption
from .services.ledger import spendable

HISTORY_PAGE_SIZE = 20
PURCHASES_PAGE_SIZE = 20
RECENT_DRAWS = 20


def new_request_id() -> str:
    """A fresh id for one rendered form; the services are idempotent on it."""
    return f"portal-{secrets.token_urlsafe(18)}"


def _for_the_member(items):
    """Offers worded for the member: the selectors say "the member cannot redeem", the portal says "you"."""
    for item in items:
        if item.code == "member_inactive":
            item.reason = _("Your membership cannot redeem points now.")
    return items


def _stores():
    return Store.objects.filter(is_active=True).order_by("code")


# ---------------------------------------------------------------- points (PTS-8)


@require_GET
@member_required
def points_overview(request):
    member = current_member(request)
    entries = selectors.entry_list_for_member(member=member)
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    history = [{"entry": e, "campaigns": e.campaign_names}
               for e in selectors.entries_with_campaign_names(list(page.object_list))]
    return portal_render(request, "points/portal/points.html", "points", {
        "summary": selectors.points_summary(member), "page": page, "history": history,
        "panels": panels_for(PORTAL_POINTS),
    })


# ---------------------------------------------------------------- the member centre (portal home, issue 16)

# Points expiring within this many days put a banner on the portal home ("19,748 分明日过期 → 去兑换").
EXPIRY_BANNER_DAYS = 30


@require_GET
@member_required
def home_summary(request):
    """htmx fragment of the portal home (core.panels PORTAL_HOME): the balance, the coupons held and a
    banner when points expire soon (the expiring-points selector, the window EXPIRY_BANNER_DAYS)."""
    member = current_member(request)
    today = timezone.localdate()
    summary = selectors.points_summary(member)
    expiring = selectors.expiring_points_for_members([member.pk], today=today,
                                                     within_days=EXPIRY_BANNER_DAYS).get(member.pk)
    if expiring:
        first, last = expiring["first_expiry"], expiring["last_expiry"]
        if first != last:
            expiring["when"] = "by"  # several days: the total, "by" the last of them
        else:
            expiring["when"] = ("today" if last == today else "tomorrow" if last == today + dt.timedelta(days=1)
                                else "on")
    return portal_render(request, "points/portal/_home_summary.html", "home", {
        "summary": summary, "expiring": expiring,
        "coupons_held": selectors.coupon_usable_count_for_member(member=member),
    })


# ---------------------------------------------------------------- purchases (PTS-8, 会员消费详细信息)


@require_GET
@member_required
def purchases(request):
    """The member's orders at every store of the chain, newest first (a phone-first list)."""
    member = current_member(request)
    page = Paginator(selectors.purchase_list_for_member(member=member), PURCHASES_PAGE_SIZE).get_page(
        request.GET.get("page"))
    selectors.purchase_details(list(page.object_list))
    return portal_render(request, "points/portal/purchases.html", "purchases", {"page": page})


@require_GET
@member_required
def purchase_detail(request):
    """One order named by its receipt (?store=<store code>&order=<order number>), looked up among the
    member's own orders: another member's order is a 404 like a missing one."""
    purchase = selectors.purchase_get_for_member(
        member=current_member(request), store_code=(request.GET.get("store") or "").strip()[:32],
        order_no=(request.GET.get("order") or "").strip()[:64])
    if purchase is None:
        raise Http404
    return portal_render(request, "points/portal/purchase.html", "purchases", {"purchase": purchase})


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


@require_GET
@member_required
def gifts(request):
    member = current_member(request)
    items, have = selectors.gift_offers_for_member(member=member)
    stores = list(_stores())
    catalogue = [
        {"item": item, "request_id": new_request_id(), "max_quantity": item.max_quantity}
        for item in _for_the_member(items)
    ]
    orders = selectors.gift_order_list_for_member(member=member)[:50]
    return portal_render(request, "points/portal/gifts.html", "gifts", {
        "catalogue": catalogue, "spendable": have, "stores": stores, "orders": orders,
        "reserved": GiftOrder.Status.RESERVED,
    })


# ---------------------------------------------------------------- the confirmation step, enforced (issue 16)

# A spend POST carries the token its confirmation page issued: signed, bound to the member, the action,
# what is bought (the hidden fields) and short-lived. Without a valid one the POST spends nothing and goes
# to the confirmation page, so a direct POST (a script, a stale form, a forged link) cannot skip it.
CONFIRM_SALT = "points.portal.confirm"
CONFIRM_MAX_AGE = 10 * 60


def confirm_token(*, member_id: int, action: str, fields: dict) -> str:
    return signing.dumps({"m": member_id, "a": action, "f": {k: str(v) for k, v in sorted(fields.items())}},
                         salt=CONFIRM_SALT, compress=True)


def confirm_token_valid(token: str, *, member_id: int, action: str, fields: dict) -> bool:
    try:
        data = signing.loads(token or "", salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return False
    return data == {"m": member_id, "a": action, "f": {k: str(v) for k, v in sorted(fields.items())}}


def _unconfirmed(request, confirm_url_name: str, fields: dict):
    """The spend POST came without a valid confirmation: nothing is spent, the member confirms first."""
    messages.info(request, _("Please confirm before points are spent."))
    return redirect(f"{reverse(confirm_url_name)}?{urlencode(fields)}")


def _confirm_page(request, section: str, *, what: str, detail: str = "", cost: int, action: str,
                  fields: dict, back: str, refusal: str = ""):
    """The step before points are spent (issue 16): what is bought, its cost, the points now and after.
    The page shows and issues the confirm token the action requires; the action's service checks
    everything again."""
    member = current_member(request)
    have = spendable(member)
    after = have - cost
    if not refusal and after < 0:
        refusal = (_("Not enough points: %(need)s needed, %(have)s available.")
                   % {"need": points_text(cost), "have": points_text(have)})
    token = "" if refusal else confirm_token(member_id=member.pk, action=action, fields=fields)
    return portal_render(request, "points/portal/confirm.html", section, {
        "what": what, "detail": detail, "cost": cost, "have": have, "after": after, "action": action,
        "fields": {**fields, "confirm": token} if token else fields, "back": back, "refusal": refusal,
    })


@require_GET
@member_required
def gift_order_confirm(request):
    """The gift order form's first step: the confirmation before the points are spent."""
    member = current_member(request)
    form = GiftOrderForm(request.GET)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields and form.fields[field].label else ""
            messages.error(request, f"{label}: {errors[0]}" if label else errors[0])
        return redirect("points_portal:gifts")
    gift = Gift.objects.filter(pk=form.cleaned_data["gift"]).first()
    if gift is None:
        messages.error(request, _("This gift is not available now."))
        return redirect("points_portal:gifts")
    quantity, store = form.cleaned_data["quantity"], form.cleaned_data["store"]
    check = _for_the_member([redemption.gift_check(member=member, gift=gift, quantity=quantity)])[0]
    return _confirm_page(
        request, "gifts", what=f"{gift.name} × {quantity}", cost=gift.points_cost * quantity,
        detail=_("Pick it up at %(store)s.") % {"store": store.name},
        action=reverse("points_portal:gift_order"), back=reverse("points_portal:gifts"),
        fields={"gift": gift.pk, "quantity": quantity, "store": store.pk,
                "request_id": form.cleaned_data["request_id"]},
        refusal="" if check.eligible else check.reason)


@require_POST
@member_required
def gift_order(request):
    member = current_member(request)
    form = GiftOrderForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields and form.fields[field].label else ""
            messages.error(request, f"{label}: {errors[0]}" if label else errors[0])
        return redirect("points_portal:gifts")
    gift = Gift.objects.filter(pk=form.cleaned_data["gift"]).first()
    if gift is None:
        messages.error(request, _("This gift is not available now."))
        return redirect("points_portal:gifts")
    fields = {"gift": gift.pk, "quantity": form.cleaned_data["quantity"], "store": form.cleaned_data["store"].pk,
              "request_id": form.cleaned_data["request_id"]}
    if not confirm_token_valid(request.POST.get("confirm", ""), member_id=member.pk,
                               action=reverse("points_portal:gift_order"), fields=fields):
        return _unconfirmed(request, "points_portal:gift_order_confirm", fields)
    try:
        order, created = redemption.gift_order_place(
            member=member, gift=gift, quantity=form.cleaned_data["quantity"], store=form.cleaned_data["store"],
            request_id=form.cleaned_data["request_id"],
        )
    except MemberHubError as exc:
        return action_refused(request, exc, gifts)
    else:
        if created:
            messages.success(request, _(
                "Ordered: %(gift)s × %(n)s for %(points)s points. Pick it up at %(store)s."
            ) % {"gift": gift.name, "n": order.quantity, "points": points_text(order.points), "store": order.store.name})
        else:
            messages.info(request, _("This order was already placed."))
    return redirect("points_portal:gifts")


@require_POST
@member_required
def gift_order_cancel(request):
    member = current_member(request)
    order = get_object_or_404(GiftOrder.objects.select_related("gift"), pk=id_param(request.POST.get("order")),
                              member=member)
    try:
        order = redemption.gift_order_cancel(order=order, reason=_("Cancelled by the member on the portal"))
    except MemberHubError as exc:
        return action_refused(request, exc, gifts)
    else:
        if order.points:
            messages.success(request, _("The order of %(gift)s is cancelled; %(points)s points are back.")
                             % {"gift": order.gift.name, "points": points_text(order.points)})
        else:
            messages.success(request, _("The order of %(gift)s is cancelled.") % {"gift": order.gift.name})
    return redirect("points_portal:gifts")


# ---------------------------------------------------------------- coupons (PTS-6b)


class CouponRedeemForm(forms.Form):
    coupon_type = forms.IntegerField(widget=forms.HiddenInput)
    request_id = forms.CharField(max_length=64, widget=forms.HiddenInput)


@require_GET
@member_required
def coupons(request):
    member = current_member(request)
    groups = selectors.coupon_wallet_for_member(member=member)
    offers, have = selectors.coupon_offers_for_member(member=member)
    offers = [{"type": o.item, "reason": o.reason, "request_id": new_request_id()} for o in _for_the_member(offers)]
    return portal_render(request, "points/portal/coupons.html", "coupons", {
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
    coupon.state = selectors.coupon_state(coupon, timezone.now())
    return portal_render(request, "points/portal/coupon_detail.html", "coupons", {"coupon": coupon})


@require_GET
@member_required
def coupon_redeem_confirm(request):
    """The confirmation before a coupon is bought with points."""
    form = CouponRedeemForm(request.GET)
    ctype = CouponType.objects.filter(pk=form.cleaned_data["coupon_type"]).first() if form.is_valid() else None
    if ctype is None or not ctype.points_cost:
        messages.error(request, _("This coupon is not available now."))
        return redirect("points_portal:coupons")
    return _confirm_page(
        request, "coupons", what=ctype.name, cost=ctype.points_cost,
        action=reverse("points_portal:coupon_redeem"), back=reverse("points_portal:coupons"),
        fields={"coupon_type": ctype.pk, "request_id": form.cleaned_data["request_id"]})


@require_POST
@member_required
def coupon_redeem(request):
    member = current_member(request)
    form = CouponRedeemForm(request.POST)
    ctype = CouponType.objects.filter(pk=form.cleaned_data["coupon_type"]).first() if form.is_valid() else None
    if ctype is None:
        messages.error(request, _("This coupon is not available now."))
        return redirect("points_portal:coupons")
    fields = {"coupon_type": ctype.pk, "request_id": form.cleaned_data["request_id"]}
    if not confirm_token_valid(request.POST.get("confirm", ""), member_id=member.pk,
                               action=reverse("points_portal:coupon_redeem"), fields=fields):
        return _unconfirmed(request, "points_portal:coupon_redeem_confirm", fields)
    try:
        coupon, created = redemption.coupon_redeem_for_points(
            member=member, coupon_type=ctype, request_id=form.cleaned_data["request_id"])
    except MemberHubError as exc:
        return action_refused(request, exc, coupons)
    else:
        if created:
            messages.success(request, _("%(name)s is in your wallet (code %(code)s) for %(points)s points.")
                             % {"name": ctype.name, "code": coupon.code, "points": points_text(ctype.points_cost)})
        else:
            messages.info(request, _("This coupon was already redeemed."))
    return redirect("points_portal:coupons")


# ---------------------------------------------------------------- lottery (PTS-6d)


@require_GET
@member_required
def lottery(request):
    member = current_member(request)
    offers, have = selectors.lottery_offers_for_member(member=member)
    rows = [{"lottery": o.item, "prizes": o.prizes, "reason": o.reason, "request_id": new_request_id()}
            for o in _for_the_member(offers)]
    draws = selectors.draw_list_for_member(member=member)[:RECENT_DRAWS]
    return portal_render(request, "points/portal/lottery.html", "lottery", {
        "lotteries": rows, "draws": draws, "spendable": have,
    })


@require_GET
@member_required
def lottery_draw_confirm(request):
    """The confirmation before points are paid for a draw."""
    lot = Lottery.objects.filter(pk=id_param(request.GET.get("lottery"))).first()
    if lot is None:
        raise Http404
    return _confirm_page(
        request, "lottery", what=lot.name, detail=_("One draw"), cost=lot.points_cost,
        action=reverse("points_portal:lottery_draw"), back=reverse("points_portal:lottery"),
        fields={"lottery": lot.pk, "request_id": (request.GET.get("request_id") or "")[:64]})


@require_POST
@member_required
def lottery_draw(request):
    member = current_member(request)
    lot = Lottery.objects.filter(pk=id_param(request.POST.get("lottery"))).first()
    if lot is None:
        raise Http404
    request_id = (request.POST.get("request_id") or "")[:64]
    fields = {"lottery": lot.pk, "request_id": request_id}
    if not confirm_token_valid(request.POST.get("confirm", ""), member_id=member.pk,
                               action=reverse("points_portal:lottery_draw"), fields=fields):
        return _unconfirmed(request, "points_portal:lottery_draw_confirm", fields)
    try:
        draw, created = redemption.lottery_draw(member=member, lottery=lot, request_id=request_id)
    except MemberHubError as exc:
        return action_refused(request, exc, lottery)
    if not created:
        messages.info(request, _("This draw was already made; here is its result."))
    return redirect(f"{reverse('points_portal:draw')}?draw={draw.pk}")


@require_GET
@member_required
def draw_detail(request):
    member = current_member(request)
    draw = get_object_or_404(
        Draw.objects.select_related("lottery", "prize", "coupon__type", "gift_order__store", "gift_order__gift"),
        pk=id_param(request.GET.get("draw")), member=member,
    )
    return portal_render(request, "points/portal/draw.html", "lottery", {"draw": draw})
