"""Checkout quote for the till (BEN-2): what a member pays for a basket and the points it earns.

The order, each step itemised with the rule that produced it:

1. tier discount — the member's tier's discount benefits (TierBenefit of kind "discount"); a line
   matches when its brand is in the benefit's brands (empty = any) AND its category is in its
   categories (empty = any); the best matching percent applies to the line.
2. birthday extra discount (MemberDayConfig: day / week / month window), then the member-day extra
   discount (the day of points.PointsConfig.member_day_of_month), each on the already discounted
   lines.
3. coupons — checked with the rules of points.services.redemption.coupon_use (member, status,
   window, store, minimum spend against the discounted bill) without using them; each covers at
   most what is left to pay.
4. points offset — points.services.redemption.offset_quote on what is left after coupons
   (`offset_bill_amount`, the bill the till passes to the offset), within the tier cap and the
   member's spendable points, at PointsConfig.offset_points_per_yuan.
5. amount to pay, and the points to earn from points.calculation.calculate_points on the
   discounted lines and the tenders the till will post (the paying tender, "coupon", "points") —
   the very lines and tenders returned, so the purchase API credits exactly what was predicted.

A coupon or an offset that cannot apply is left out and reported in `problems` with its reason;
the rest of the quote still stands.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from members.models import Member, Store
from points.calculation import CENT, ELIGIBLE_TENDERS, calculate_points, is_member_day, parse_lines
from points.models import Coupon, PointsConfig
from points.services.ledger import require_can_transact
from points.services.redemption import coupon_problem, offset_cap_error, offset_quote, points_to_yuan

from .models import Benefit, MemberDayConfig, TierBenefit


@dataclass
class Quote:
    lines: list[dict]
    tenders: list[dict]
    steps: list[dict]
    problems: list[dict]
    amount_total: Decimal
    amount_discounted: Decimal
    coupon_amount: Decimal
    coupons: list[str]
    coupon_bill_amount: Decimal
    offset_points: int
    offset_amount: Decimal
    offset_bill_amount: Decimal
    amount_to_pay: Decimal
    points_to_earn: int
    occurred_at: dt.datetime
    campaigns: list[dict] = field(default_factory=list)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _discount(amount: Decimal, percent: Decimal) -> Decimal:
    """The cut of `percent` on a line, never taking the line to zero (a line stays positive)."""
    return min(_cents(amount * percent / 100), amount - CENT)


def _birthday_in(year: int, birthday: dt.date) -> dt.date:
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February in a common year: the 28th
        return dt.date(year, 2, 28)


def in_birthday_window(member: Member, day: dt.date, window: str) -> bool:
    b = member.birthday
    if not b:
        return False
    if window == MemberDayConfig.BirthdayWindow.MONTH:
        return b.month == day.month
    if window == MemberDayConfig.BirthdayWindow.WEEK:
        week = day.isocalendar()[:2]
        return any(_birthday_in(y, b).isocalendar()[:2] == week for y in (day.year - 1, day.year, day.year + 1))
    return _birthday_in(day.year, b) == day


def _parse_lines(lines: list[dict]) -> list[dict]:
    """points.calculation.parse_lines (the purchase's own parser), as the dicts the quote steps edit."""
    errors: dict[str, list[str]] = {}
    parsed = parse_lines(lines, errors)
    if errors:
        raise ValidationFailed(_("The basket is not valid."), fields=errors)
    # A line of another kind (a membership fee, issue 18) keeps its kind and plan, and takes no discount.
    extra = [{k: raw[k] for k in ("kind", "plan") if raw.get(k) and raw.get("kind") not in (None, "goods")}
             for raw in lines if isinstance(raw, dict)]
    return [{"brand": line.brand, "category": line.category, "amount": line.amount, **more}
            for line, more in zip(parsed, extra, strict=True)]


def _matches(tb: TierBenefit, line: dict) -> bool:
    return (not tb.brands or line["brand"] in tb.brands) and (not tb.categories or line["category"] in tb.categories)


def checkout_quote(*, member: Member, store: Store, lines: list[dict], coupon_codes: list[str] | None = None,
                   offset_points: int = 0, at: dt.datetime | None = None, paying_tender: str = "wechat") -> Quote:
    """Quote a basket for a member at a till (BEN-2); reads only. A member who may not transact
    (suspended, disqualified) is refused with MemberCannotTransact."""
    require_can_transact(member)
    if paying_tender not in ELIGIBLE_TENDERS:
        raise ValidationFailed(_("Unknown tender type."), fields={"tender": [_("Unknown tender type.")]})
    if offset_points < 0:
        raise ValidationFailed(_("Points to offset cannot be negative."), fields={"offset_points": [_("At least 0.")]})
    at = at or timezone.now()
    day = timezone.localtime(at).date()
    basket = _parse_lines(lines)
    total = sum((line["amount"] for line in basket), Decimal(0))
    steps: list[dict] = []
    problems: list[dict] = []

    def cut(index: int, line: dict, percent: Decimal, step: str, rule: str, detail: str) -> None:
        if line.get("kind"):
            return
        amount = _discount(line["amount"], percent)
        if amount > 0:
            line["amount"] -= amount
            steps.append({"step": step, "rule": rule, "detail": detail, "line": index, "amount": str(-amount)})

    # 1. tier discount
    tier_discounts = list(TierBenefit.objects.filter(
        tier_id=member.tier_id, benefit__kind=Benefit.Kind.DISCOUNT, numeric_value__gt=0, numeric_value__lt=100,
    ).select_related("benefit"))
    for i, line in enumerate(basket):
        best = max((tb for tb in tier_discounts if _matches(tb, line)), key=lambda tb: tb.numeric_value, default=None)
        if best:
            cut(i, line, best.numeric_value, "tier_discount", f"tier_benefit:{best.benefit.code}:{member.tier.code}",
                _("%(tier)s: %(benefit)s %(value)s (%(pct)s%% off)") % {
                    "tier": member.tier.name, "benefit": best.benefit.name, "value": best.value_text,
                    "pct": best.numeric_value.normalize()})
    # 2. birthday, then member day
    config = MemberDayConfig.get()
    if config.birthday_discount_percent > 0 and in_birthday_window(member, day, config.birthday_window):
        for i, line in enumerate(basket):
            cut(i, line, config.birthday_discount_percent, "birthday_discount", f"birthday:{config.birthday_window}",
                _("Birthday offer (%(window)s): %(pct)s%% off") % {
                    "window": config.get_birthday_window_display(),
                    "pct": config.birthday_discount_percent.normalize()})
    if config.member_day_discount_percent > 0 and is_member_day(day, PointsConfig.get()):
        for i, line in enumerate(basket):
            cut(i, line, config.member_day_discount_percent, "member_day_discount", "member_day",
                _("Member day: %(pct)s%% off") % {"pct": config.member_day_discount_percent.normalize()})
    discounted = sum((line["amount"] for line in basket), Decimal(0))
    # 3. coupons
    remaining = discounted
    accepted: list[str] = []
    coupon_amount = Decimal(0)
    codes = [(c or "").strip().upper() for c in (coupon_codes or [])]
    found = {c.code: c for c in Coupon.objects.filter(code__in=[c for c in codes if c])
             .select_related("type").prefetch_related("type__stores")}
    for i, code in enumerate(codes):
        coupon = found.get(code)
        if code in accepted:
            problem = ("coupon_duplicate", _("This coupon is already in the quote."))
        else:
            problem = coupon_problem(coupon, member=member, store=store, bill=discounted, now=at,
                                      store_ids={s.pk for s in coupon.type.stores.all()} if coupon else set())
        if problem is None and remaining <= 0:
            problem = ("nothing_to_pay", _("Nothing is left to pay with this coupon."))
        if problem:
            problems.append({"field": f"coupons[{i}]", "code": problem[0], "reason": problem[1], "coupon": code})
            continue
        amount = min(coupon.type.face_value, remaining)
        remaining -= amount
        coupon_amount += amount
        accepted.append(code)
        steps.append({"step": "coupon", "rule": f"coupon:{code}", "amount": str(-amount),
                      "detail": _("Coupon %(name)s (%(value)s yuan, minimum spend %(min)s)") % {
                          "name": coupon.type.name, "value": coupon.type.face_value, "min": coupon.type.min_spend}})
    # 4. points offset
    offset_amount = Decimal(0)
    used_points = 0
    if offset_points:
        problem = None
        if remaining <= 0:
            problem = ("nothing_to_pay", _("Nothing is left to pay with points."))
        else:
            oq = offset_quote(member=member, bill_amount=remaining, at=at)
            if cap_error := offset_cap_error(oq, offset_points):
                problem = (cap_error.code, cap_error.message)
            elif offset_points > oq.spendable:
                problem = ("insufficient_points", _("Only %(have)s points can be spent now; %(need)s asked.")
                           % {"have": oq.spendable, "need": offset_points})
            else:
                used_points = offset_points
                offset_amount = points_to_yuan(offset_points, oq.points_per_yuan)
                steps.append({"step": "points_offset", "rule": f"offset:{oq.cap_percent}%@{oq.points_per_yuan}/yuan",
                              "amount": str(-offset_amount),
                              "detail": _("%(points)s points at %(rate)s points per yuan (cap %(pct)s%% of %(bill)s)")
                              % {"points": offset_points, "rate": oq.points_per_yuan, "pct": oq.cap_percent,
                                 "bill": remaining}})
        if problem:
            problems.append({"field": "offset_points", "code": problem[0], "reason": problem[1]})
    offset_bill = remaining
    to_pay = remaining - offset_amount
    # 5. tenders and points
    posted_lines = [{**line, "amount": str(line["amount"])} for line in basket]
    tenders = []
    if to_pay > 0:
        tenders.append({"type": paying_tender, "amount": str(to_pay)})
    if coupon_amount > 0:
        tenders.append({"type": "coupon", "amount": str(coupon_amount)})
    if offset_amount > 0:
        tenders.append({"type": "points", "amount": str(offset_amount)})
    calc = calculate_points(member=member, store=store, at=at, lines=posted_lines, tenders=tenders)
    steps.append({"step": "amount_to_pay", "rule": "BEN-2", "amount": str(to_pay),
                  "detail": _("%(total)s − discounts %(disc)s − coupons %(coupons)s − points %(offset)s") % {
                      "total": total, "disc": total - discounted, "coupons": coupon_amount, "offset": offset_amount}})
    for s in calc.steps:
        steps.append({"step": "points", "rule": s["rule"], "detail": s["detail"]})
    return Quote(lines=posted_lines, tenders=tenders, steps=steps, problems=problems, amount_total=total,
                 amount_discounted=discounted, coupon_amount=coupon_amount, coupons=accepted,
                 coupon_bill_amount=discounted, offset_points=used_points, offset_amount=offset_amount,
                 offset_bill_amount=offset_bill, amount_to_pay=to_pay, points_to_earn=calc.points, occurred_at=at,
                 campaigns=calc.campaigns)
