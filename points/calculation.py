"""How many points a purchase earns (PTS-1, PTS-2): the one calculation used by the purchase API
and (later) the checkout quote, so the two can never disagree.

points = floor( Σ_lines  eligible_paid(line) × tier rate × campaign multiplier(line) ) + bonuses

eligible_paid spreads the amount actually paid (tenders other than coupon, gift card and points)
over the lines in proportion to their amounts, in whole cents by the largest remainder, so the shares
add up to the amount paid exactly (`paid_shares`): with no campaign, points = floor(paid × rate).
Campaign stacking: if any applicable campaign is
exclusive, only the best exclusive one applies (largest multiplier, then largest bonus); otherwise
all applicable campaigns apply, multipliers multiplying and bonuses adding.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import strip_control_chars
from core.money import CENT, parse_plain_decimal
from members.models import Member, Store

from .errors import PointsError
from .models import Campaign, PointsConfig

ELIGIBLE_TENDERS = {"cash", "bank_card", "wechat", "alipay", "unionpay", "other"}
INELIGIBLE_TENDERS = {"coupon", "gift_card", "points"}
TENDER_TYPES = ELIGIBLE_TENDERS | INELIGIBLE_TENDERS
LINE_LABEL_MAX = 64  # a line's brand or category, as the API, the desk form and the import bound it


GOODS = "goods"  # a line's kind unless it names one an app registered (points.hooks.register_line_kind)


@dataclass
class Line:
    amount: Decimal
    brand: str = ""
    category: str = ""
    kind: str = GOODS  # another kind (a membership fee, issue 18) earns no points and matches no campaign


@dataclass
class RateAdjustment:
    """What an app above adds to the tier's rates (points.hooks.register_rate_adjustment), with its rule."""

    extra_rate: Decimal
    extra_cap_percent: int
    rule: str
    detail: str


@dataclass
class MemberRates:
    points_rate: Decimal
    offset_cap_percent: int
    steps: list[dict] = field(default_factory=list)


def member_rates(member: Member, at: dt.datetime | None = None) -> MemberRates:
    """The one place a member's points rate and offset cap are decided (BEN-2, issue 18): the tier's, plus
    each registered adjustment (a paid membership's extra rate and higher cap); the cap at most 100%.
    calculate_points (purchase and quote) and redemption.offset_quote (quote and offset) read it."""
    from . import hooks

    rate, cap = member.tier.points_rate, member.tier.offset_cap_percent
    steps = []
    day = timezone.localtime(at or timezone.now()).date()
    for adj in hooks.rate_adjustments(member=member, day=day):
        rate += adj.extra_rate
        cap = min(100, cap + adj.extra_cap_percent)
        steps.append({"rule": adj.rule, "detail": adj.detail})
    return MemberRates(points_rate=rate, offset_cap_percent=cap, steps=steps)


@dataclass
class Calculation:
    amount_total: Decimal
    amount_paid: Decimal
    points: int
    campaigns: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)


def line_label(value) -> str:
    """A line's brand or category as matched and stored: no control character (SEC-5: one in a brand made
    every later Excel export fail), at most LINE_LABEL_MAX characters."""
    return strip_control_chars(str(value or ""), single_line=True)[:LINE_LABEL_MAX]


def clean_lines(lines: list[dict]) -> list[dict]:
    """The till's lines as the purchase stores them: brand and category through `line_label`, the rest
    as sent."""
    return [{**raw, **{key: line_label(raw[key]) for key in ("brand", "category") if key in raw}}
            if isinstance(raw, dict) else raw for raw in lines or []]


# A till's clock may run a little fast; an order "from the future" beyond this is a wrong clock or a forgery.
PURCHASE_FUTURE_TOLERANCE = dt.timedelta(minutes=10)


def purchase_time_error(at: dt.datetime) -> PointsError | None:
    """PTS-9: a purchase or refund time lies between the chain's start (settings.CHAIN_START_DATE: history
    imported from the old system may go back that far) and a few minutes from now."""
    if timezone.is_naive(at):
        return PointsError(_("The purchase time needs a time zone."), fields={"occurred_at": [_("Add a UTC offset.")]})
    earliest = timezone.make_aware(dt.datetime.combine(settings.CHAIN_START_DATE, dt.time()))
    latest = timezone.now() + PURCHASE_FUTURE_TOLERANCE
    if at < earliest:
        return PointsError(_("The time is before the chain's start (%(start)s).") % {"start": settings.CHAIN_START_DATE},
                           code="time_out_of_range", fields={"occurred_at": [_("Too early.")]})
    if at > latest:
        return PointsError(_("The time lies in the future; check the till's clock."), code="time_out_of_range",
                           fields={"occurred_at": [_("In the future.")]})
    return None


def _yuan(raw) -> Decimal:
    return parse_plain_decimal(raw).quantize(CENT)


def parse_lines(lines: list[dict], errors: dict[str, list[str]], config: PointsConfig | None = None) -> list[Line]:
    """The one basket-line parser: the purchase (parse_basket) and the checkout quote (benefits.quote) read
    lines the same way, so the quote predicts exactly what the purchase credits. Errors go into `errors`.
    Amounts are plain decimals (core.money) within PointsConfig's line and bill maxima."""
    config = config or PointsConfig.get()
    parsed: list[Line] = []
    if not lines:
        errors["lines"] = [_("A purchase needs at least one line.")]
    for i, raw in enumerate(lines or []):
        if not isinstance(raw, dict):
            errors[f"lines[{i}]"] = [_("Each line is an object with brand, category and amount.")]
            continue
        try:
            amount = _yuan(raw.get("amount"))
        except ValueError:
            errors[f"lines[{i}].amount"] = [_("Enter the line amount in yuan, as a plain number such as 128.50.")]
            continue
        if amount <= 0:
            errors[f"lines[{i}].amount"] = [_("A line amount must be positive.")]
            continue
        if amount > config.max_line_amount:
            errors[f"lines[{i}].amount"] = [_("A line may be at most %(max)s yuan.") % {"max": config.max_line_amount}]
            continue
        kind = raw.get("kind") or GOODS
        if kind != GOODS and kind not in _line_kinds():
            errors[f"lines[{i}].kind"] = [_("Unknown line kind.")]
            continue
        parsed.append(Line(amount=amount, brand=line_label(raw.get("brand")), category=line_label(raw.get("category")),
                           kind=kind))
    total = sum((line.amount for line in parsed), Decimal(0))
    if total > config.max_bill_amount:
        errors["lines"] = [_("A bill may be at most %(max)s yuan; this one is %(total)s.")
                           % {"max": config.max_bill_amount, "total": total}]
    return parsed


def _line_kinds() -> frozenset[str]:
    from . import hooks

    return hooks.line_kinds()


def parse_basket(lines: list[dict], tenders: list[dict], config: PointsConfig | None = None,
                 ) -> tuple[list[Line], dict[str, Decimal]]:
    """Validate lines and tenders; the tenders must pay exactly the bill."""
    errors: dict[str, list[str]] = {}
    parsed = parse_lines(lines, errors, config)
    paid: dict[str, Decimal] = {}
    for i, raw in enumerate(tenders or []):
        if not isinstance(raw, dict):
            errors[f"tenders[{i}]"] = [_("Each tender is an object with type and amount.")]
            continue
        kind = raw.get("type")
        if kind not in TENDER_TYPES:
            errors[f"tenders[{i}].type"] = [_("Unknown tender type.")]
            continue
        try:
            amount = _yuan(raw.get("amount"))
        except ValueError:
            errors[f"tenders[{i}].amount"] = [_("Enter the tender amount in yuan.")]
            continue
        if amount < 0:
            errors[f"tenders[{i}].amount"] = [_("A tender amount cannot be negative.")]
            continue
        paid[kind] = paid.get(kind, Decimal(0)) + amount
    if not errors:
        total = sum((line.amount for line in parsed), Decimal(0))
        if not tenders:
            errors["tenders"] = [_("A purchase needs its tenders.")]
        elif sum(paid.values(), Decimal(0)) != total:
            errors["tenders"] = [_("The tenders (%(paid)s) do not add up to the lines (%(total)s).")
                                 % {"paid": sum(paid.values(), Decimal(0)), "total": total}]
    if errors:
        raise PointsError(_("The purchase is not valid."), fields=errors)
    return parsed, paid


def is_member_day(day: dt.date, config: PointsConfig | None = None) -> bool:
    config = config or PointsConfig.get()
    return day.day == config.member_day_of_month


def is_birthday(member: Member, day: dt.date) -> bool:
    b = member.birthday
    return bool(b) and (b.month, b.day) == (day.month, day.day)


def live_campaigns() -> list[tuple[Campaign, frozenset[int], frozenset[int]]]:
    """Every switched-on campaign with its store and tier ids, through core.reference_cache (every till
    purchase reads them; a save in the admin reaches every process within a second). Read-only."""
    from core import reference_cache

    def load():
        return [(c, frozenset(s.pk for s in c.stores.all()), frozenset(t.pk for t in c.tiers.all()))
                for c in Campaign.objects.filter(is_active=True).prefetch_related("stores", "tiers").order_by("pk")]

    return reference_cache.cached("campaigns", "live", load)


def active_campaigns(*, store: Store, member: Member, at: dt.datetime,
                     config: PointsConfig | None = None) -> list[Campaign]:
    out = []
    day = timezone.localtime(at).date()
    config = config or PointsConfig.cached()
    for c, stores, tiers in live_campaigns():
        if not (c.starts_at <= at < c.ends_at):
            continue
        if stores and store.pk not in stores:
            continue
        if tiers and member.tier_id not in tiers:
            continue
        if c.member_day_only and not is_member_day(day, config):
            continue
        if c.birthday_only and not is_birthday(member, day):
            continue
        out.append(c)
    return out


def _matches(c: Campaign, line: Line) -> bool:
    return (not c.brands or line.brand in c.brands) and (not c.categories or line.category in c.categories)


def _choose(campaigns: list[Campaign]) -> list[Campaign]:
    exclusive = [c for c in campaigns if c.stacking == Campaign.Stacking.EXCLUSIVE]
    if exclusive:
        return [max(exclusive, key=lambda c: (c.multiplier, c.bonus_points, -c.pk))]
    return campaigns


def paid_shares(amounts: list[Decimal], paid: Decimal) -> list[Decimal]:
    """`paid` spread over lines of these amounts in proportion, in whole cents that add up to `paid`
    exactly (largest remainder: each line gets the floor of its exact share, and the cents left over go
    to the lines with the largest remainders, the earlier line first on a tie). An exact division
    (28-digit Decimal) would leave shares like 33.333… whose sum is 99.999… and floors a point away."""
    cents = [int((a * 100).to_integral_value()) for a in amounts]
    total = sum(cents)
    paid_cents = int((paid * 100).to_integral_value())
    if total <= 0:
        return [Decimal(0) for _ in amounts]
    floors = [c * paid_cents // total for c in cents]
    left = paid_cents - sum(floors)
    by_remainder = sorted(range(len(cents)), key=lambda i: (-(cents[i] * paid_cents % total), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [Decimal(f) / 100 for f in floors]


def calculate_points(
    *, member: Member | None, store: Store, at: dt.datetime, lines: list[dict], tenders: list[dict],
    config: PointsConfig | None = None,
) -> Calculation:
    parsed, paid = parse_basket(lines, tenders, config)
    total = sum((line.amount for line in parsed), Decimal(0))
    eligible = sum((v for k, v in paid.items() if k in ELIGIBLE_TENDERS), Decimal(0))
    shares = paid_shares([line.amount for line in parsed], eligible)
    # What a line of another kind (a membership fee) took of the paid money earns nothing and is not net paid.
    eligible -= sum((share for line, share in zip(parsed, shares, strict=True) if line.kind != GOODS), Decimal(0))
    if member is None:  # a till sale without a member (PTS-11) earns nothing until it is claimed
        return Calculation(amount_total=total, amount_paid=eligible, points=0)
    rates = member_rates(member, at)
    rate = rates.points_rate
    campaigns = active_campaigns(store=store, member=member, at=at, config=config)
    steps = [{"rule": "PTS-1", "detail": f"paid {eligible} of {total}; tier {member.tier.code} rate {rate}"},
             *rates.steps]
    raw = Decimal(0)
    applied: dict[int, Campaign] = {}
    for line, share in zip(parsed, shares, strict=True):
        if line.kind != GOODS:
            continue
        chosen = _choose([c for c in campaigns if _matches(c, line)])
        multiplier = Decimal(1)
        for c in chosen:
            multiplier *= c.multiplier
            applied[c.pk] = c
        raw += share * rate * multiplier
    points = int(raw.to_integral_value(rounding=ROUND_FLOOR))
    bonus = 0
    for c in _choose(campaigns):
        if c.bonus_points and eligible >= c.min_amount and any(_matches(c, line) for line in parsed
                                                                  if line.kind == GOODS):
            bonus += c.bonus_points
            applied[c.pk] = c
    if bonus:
        steps.append({"rule": "PTS-2", "detail": f"bonus {bonus}"})
    summary = [{"id": c.pk, "name": c.name, "multiplier": str(c.multiplier), "bonus": c.bonus_points}
               for c in sorted(applied.values(), key=lambda c: c.pk)]
    if summary:
        steps.append({"rule": "PTS-2", "detail": ", ".join(f"{c['name']} ×{c['multiplier']}" for c in summary)})
    return Calculation(amount_total=total, amount_paid=eligible, points=points + bonus, campaigns=summary, steps=steps)
