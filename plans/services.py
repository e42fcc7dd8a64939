"""Paid membership writes (issue 18): buy and renew (desk and till), refund at the desk, and the nightly
lapse into grace and expiry, renewal reminders and monthly coupons. Every change writes its
MembershipEvent and audit record in the same transaction; the member row is the lock that serialises
two desks (or a desk and a till) selling to one member.

Dates: a membership bought on day D for N months runs D through add_months(D, N) − 1 day; a renewal
extends from the current end (also in grace), so no day is lost or given twice. Its grace period runs
through ends_on + grace_days."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.db.models import DateField, ExpressionWrapper, F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import MemberHubError
from core.locks import lock_many
from core.models import AuditLog
from core.money import CENT
from members.locks import member_lock
from members.models import Member
from members.services import member_can_transact

from .errors import MembershipConflict, PlanError
from .locks import current_membership_lock, membership_lock
from .models import MembershipEvent, MembershipPlan, PaidMembership, Source

AUDIT_ACTION = AuditLog.Action.STATUS
AUDIT_FIELD = "paid_membership"
UNSEEN = object()  # the desk's "what I saw" was not given (the till): no stale-page check


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the month's last day when it has no such day (31 Jan + 1 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _actor_label(actor) -> str:
    if isinstance(actor, str):
        return actor
    return getattr(actor, "label", None) or (actor.get_username() if hasattr(actor, "get_username") else str(actor))


def plan_for_sale(code: str) -> MembershipPlan:
    plan = MembershipPlan.objects.filter(code=(code or "").strip()).first()
    if plan is None:
        raise PlanError(_("There is no membership plan with the code %(code)s.") % {"code": code},
                        code="plan_unknown", fields={"plan": [_("Unknown plan.")]})
    if not plan.is_active:
        raise PlanError(_("The plan %(name)s is not on sale.") % {"name": plan.name}, code="plan_not_on_sale",
                        fields={"plan": [_("Not on sale.")]})
    return plan


@dataclass
class BuyResult:
    membership: PaidMembership
    event: MembershipEvent
    created: bool


def membership_buy(
    *, member: Member, plan: MembershipPlan, source: str, purchase_ref: str, price_paid: Decimal, actor,
    at: dt.datetime | None = None, expected_ends_on=UNSEEN,
) -> BuyResult:
    """Buy the plan for the member, or renew the current membership of the same plan from its end.

    Idempotent on `purchase_ref` (the till's store + order + line, the desk form's receipt): a retry
    returns the first result. `expected_ends_on` is what the desk page showed (None: no membership): if
    another desk sold meanwhile, the second sale is refused instead of renewing twice by accident."""
    purchase_ref = (purchase_ref or "").strip()
    if not purchase_ref:
        raise PlanError(_("The purchase reference is required."), fields={"purchase_ref": [_("Required.")]})
    price_paid = Decimal(str(price_paid)).quantize(CENT)
    if price_paid != plan.price:
        raise PlanError(_("The plan %(name)s costs %(price)s yuan; %(paid)s was paid.")
                        % {"name": plan.name, "price": plan.price, "paid": price_paid},
                        code="plan_price_mismatch", fields={"amount": [_("Must be %(price)s.") % {"price": plan.price}]})
    at = at or timezone.now()
    today = timezone.localtime(at).date()
    idem_key = f"buy:{purchase_ref}"[:120]
    with transaction.atomic():
        member = member_lock(member.pk)
        if existing := MembershipEvent.objects.select_related("membership__plan").filter(idem_key=idem_key).first():
            if existing.member_id != member.pk:
                raise MembershipConflict(_("The purchase %(ref)s already paid a membership of another member.")
                                         % {"ref": purchase_ref}, code="idempotency_conflict")
            return BuyResult(existing.membership, existing, created=False)
        if not member_can_transact(member):
            raise MembershipConflict(_("Member %(no)s is %(status)s and cannot buy a paid membership.")
                                     % {"no": member.member_no, "status": member.get_status_display()},
                                     code="member_inactive")
        if not plan.is_active:
            raise PlanError(_("The plan %(name)s is not on sale.") % {"name": plan.name}, code="plan_not_on_sale")
        current = current_membership_lock(member.pk)
        if current is not None and current.grace_until < today:
            # Past its grace although the nightly job has not run yet: it has expired, a new one begins.
            _expire(current, today=today)
            current = None
        if expected_ends_on is not UNSEEN and (current.ends_on if current else None) != expected_ends_on:
            raise MembershipConflict(
                _("The member's paid membership changed meanwhile (another desk?): reload the page and check "
                  "before selling again."), code="membership_changed")
        label = _actor_label(actor)
        if current is not None:
            if current.plan_id != plan.pk:
                raise MembershipConflict(
                    _("The member has the plan %(current)s until %(until)s; refund it before selling %(plan)s.")
                    % {"current": current.plan.name, "until": current.ends_on, "plan": plan.name},
                    code="plan_mismatch")
            before = current.ends_on
            current.ends_on = add_months(before + dt.timedelta(days=1), plan.duration_months) - dt.timedelta(days=1)
            current.grace_until = current.ends_on + dt.timedelta(days=plan.grace_days)
            current.status = PaidMembership.Status.ACTIVE
            current.price_paid += price_paid
            current.save(update_fields=["ends_on", "grace_until", "status", "price_paid", "changed_at"])
            membership, kind = current, MembershipEvent.Kind.RENEWED
        else:
            before = None
            ends_on = add_months(today, plan.duration_months) - dt.timedelta(days=1)
            membership = PaidMembership.objects.create(
                member=member, plan=plan, starts_on=today, ends_on=ends_on,
                grace_until=ends_on + dt.timedelta(days=plan.grace_days), source=source, purchase_ref=purchase_ref,
                price_paid=price_paid)
            kind = MembershipEvent.Kind.BOUGHT
        event = MembershipEvent.objects.create(
            membership=membership, member=member, kind=kind, idem_key=idem_key, source=source,
            purchase_ref=purchase_ref, amount=price_paid, ends_on_before=before, ends_on_after=membership.ends_on,
            actor_label=label[:150], occurred_on=today)
        audit_record(actor=actor, action=AUDIT_ACTION, member=member, field=AUDIT_FIELD,
                     detail=f"{kind} {plan.code} {price_paid} {purchase_ref} → {membership.ends_on}")
        if kind == MembershipEvent.Kind.BOUGHT:
            _coupons_issue(membership, plan.joining_coupon_type, plan.joining_coupon_count, "join",
                           _("Joining gift of %(plan)s") % {"plan": plan.name})
        return BuyResult(membership, event, created=True)


def _coupons_issue(membership: PaidMembership, coupon_type, count: int, period: str, reason: str) -> int:
    """`count` coupons of `coupon_type` for this membership and period, once (idem key per coupon)."""
    from points.models import Coupon
    from points.services.redemption import coupon_issue

    if coupon_type is None or not count:
        return 0
    issued = 0
    for n in range(count):
        key = f"plan:{membership.pk}:{period}:{n}"
        coupon = coupon_issue(member=membership.member, coupon_type=coupon_type, source=Coupon.Source.MEMBERSHIP,
                              reason=reason, idem_key=key)
        issued += coupon.idem_key == key
    return issued


# ---------------------------------------------------------------- refund (desk)


@dataclass
class RefundQuote:
    amount: Decimal
    rule: str
    detail: str
    refusal: str = ""  # why no refund may be made; empty when it may


def membership_refund_quote(*, membership: PaidMembership, day: dt.date) -> RefundQuote:
    """What refunding the membership on `day` pays back, by the plan's rule:
    - pro rata: price paid × unused days / all days (days after `day` through the end; rounded down to the
      cent; nothing in the grace period);
    - full within N days: the price paid while `day` is within N days of the start, else refused;
    - none: refused."""
    plan = membership.plan
    paid = membership.price_paid
    if membership.status not in PaidMembership.CURRENT:
        return RefundQuote(Decimal("0.00"), plan.refund_rule, "",
                           _("Only a current membership can be refunded; this one is %(status)s.")
                           % {"status": membership.get_status_display()})
    if plan.refund_rule == MembershipPlan.RefundRule.NONE:
        return RefundQuote(Decimal("0.00"), plan.refund_rule, "", _("The plan %(name)s is not refundable.")
                           % {"name": plan.name})
    if plan.refund_rule == MembershipPlan.RefundRule.FULL_WITHIN:
        last = membership.starts_on + dt.timedelta(days=plan.refund_full_within_days)
        if day > last:
            return RefundQuote(Decimal("0.00"), plan.refund_rule, "",
                               _("The plan %(name)s is refunded in full only through %(last)s.")
                               % {"name": plan.name, "last": last})
        return RefundQuote(paid, plan.refund_rule, _("Full refund within %(n)s days of the start")
                           % {"n": plan.refund_full_within_days})
    total_days = (membership.ends_on - membership.starts_on).days + 1
    unused = max(0, min(total_days, (membership.ends_on - day).days))  # the refund day itself counts as used
    amount = (paid * unused / total_days).quantize(CENT, rounding=ROUND_FLOOR) if total_days else Decimal("0.00")
    return RefundQuote(amount, plan.refund_rule,
                       _("%(paid)s yuan × %(unused)s unused of %(days)s days") % {
                           "paid": paid, "unused": unused, "days": total_days})


def membership_refund(*, membership: PaidMembership, actor, reason: str, at: dt.datetime | None = None,
                      ) -> MembershipEvent:
    """Refund and end the membership at the desk by its plan's rule (membership_refund_quote); its
    benefits stop at once. The amount is recorded in the history and the audit log."""
    reason = (reason or "").strip()
    if not reason:
        raise PlanError(_("Say why the membership is refunded."), fields={"reason": [_("Required.")]})
    at = at or timezone.now()
    today = timezone.localtime(at).date()
    with transaction.atomic():
        member_lock(membership.member_id)
        membership = membership_lock(membership.pk)
        quote = membership_refund_quote(membership=membership, day=today)
        if quote.refusal:
            raise MembershipConflict(quote.refusal, code="refund_refused")
        before = membership.ends_on
        membership.status = PaidMembership.Status.REFUNDED
        membership.refunded_amount = quote.amount
        membership.ended_on = today
        membership.save(update_fields=["status", "refunded_amount", "ended_on", "changed_at"])
        event = MembershipEvent.objects.create(
            membership=membership, member_id=membership.member_id, kind=MembershipEvent.Kind.REFUNDED,
            idem_key=f"refund:{membership.pk}", source=Source.DESK, amount=quote.amount, ends_on_before=before,
            ends_on_after=today, note=f"{quote.detail} — {reason}"[:300], actor_label=_actor_label(actor)[:150],
            occurred_on=today)
        audit_record(actor=actor, action=AUDIT_ACTION, member=membership.member, field=AUDIT_FIELD,
                     detail=f"refunded {membership.plan.code} {quote.amount} ({quote.detail}): {reason}")
        return event


# ---------------------------------------------------------------- nightly (plans.jobs)


def _expire(membership: PaidMembership, *, today: dt.date) -> None:
    membership.status = PaidMembership.Status.EXPIRED
    membership.ended_on = membership.grace_until + dt.timedelta(days=1)
    membership.save(update_fields=["status", "ended_on", "changed_at"])
    MembershipEvent.objects.get_or_create(
        idem_key=f"expired:{membership.pk}:{membership.ends_on}",
        defaults={"membership": membership, "member_id": membership.member_id, "kind": MembershipEvent.Kind.EXPIRED,
                  "ends_on_before": membership.ends_on, "ends_on_after": membership.ends_on,
                  "actor_label": "system", "occurred_on": today})


def memberships_lapse(*, day: dt.date) -> dict:
    """Set-wise, for the business day `day`: active memberships whose end has passed go into grace, and
    those whose grace has passed expire, each with its history row in the same transaction. A re-run finds
    nothing left to change (the status filter), and the history's idem keys hold it twice over."""
    with transaction.atomic():
        to_grace = [(m.pk, m.member_id, m.ends_on) for m in lock_many(
            PaidMembership.objects.only("pk", "member_id", "ends_on"),
            status=PaidMembership.Status.ACTIVE, ends_on__lt=day, grace_until__gte=day)]
        PaidMembership.objects.filter(pk__in=[pk for pk, _m, _e in to_grace]).update(
            status=PaidMembership.Status.GRACE, changed_at=timezone.now())
        MembershipEvent.objects.bulk_create([
            MembershipEvent(membership_id=pk, member_id=member_id, kind=MembershipEvent.Kind.GRACE,
                            idem_key=f"grace:{pk}:{ends_on}", ends_on_before=ends_on, ends_on_after=ends_on,
                            actor_label="system", occurred_on=day)
            for pk, member_id, ends_on in to_grace], ignore_conflicts=True)
        to_expire = [(m.pk, m.member_id, m.ends_on, m.grace_until) for m in lock_many(
            PaidMembership.objects.only("pk", "member_id", "ends_on", "grace_until"),
            status__in=PaidMembership.CURRENT, grace_until__lt=day)]
        # One statement for all of them: the membership ends the day after its grace.
        PaidMembership.objects.filter(pk__in=[pk for pk, _m, _e, _g in to_expire]).update(
            status=PaidMembership.Status.EXPIRED, ended_on=ExpressionWrapper(F("grace_until") + dt.timedelta(days=1), output_field=DateField()),
            changed_at=timezone.now())
        MembershipEvent.objects.bulk_create([
            MembershipEvent(membership_id=pk, member_id=member_id, kind=MembershipEvent.Kind.EXPIRED,
                            idem_key=f"expired:{pk}:{ends_on}", ends_on_before=ends_on, ends_on_after=ends_on,
                            actor_label="system", occurred_on=day)
            for pk, member_id, ends_on, _g in to_expire], ignore_conflicts=True)
    return {"grace": len(to_grace), "expired": len(to_expire)}


REMINDER_KIND = "membership_renewal"


def membership_reminders_send(*, day: dt.date) -> dict:
    """Renewal reminders: each active membership whose end is within its plan's reminder days gets one
    notice per period (messaging's notice kind + ref "<membership>:<end>" is unique: a re-run, or a
    renewal that leaves the same end, sends nothing twice; a renewed end is a new period)."""
    from messaging.models import Notice
    from messaging.services import notify_members_bulk

    longest = MembershipPlan.objects.aggregate(n=Max("reminder_days"))["n"] or 0
    due = (PaidMembership.objects.select_related("plan")
           .filter(status=PaidMembership.Status.ACTIVE, ends_on__gte=day, ends_on__lte=day + dt.timedelta(days=longest))
           .order_by("pk"))
    notices = []
    for m in due:
        if (m.ends_on - day).days > m.plan.reminder_days:
            continue
        notices.append(Notice(
            member_id=m.member_id, kind=REMINDER_KIND, ref=f"{m.pk}:{m.ends_on}",
            title=_("Your paid membership ends soon"),
            body=_("Your %(plan)s ends on %(end)s (benefits go on through %(grace)s). Renew at the service desk "
                   "or any till to keep them; the renewal runs on from the end date.") % {
                "plan": m.plan.name, "end": m.ends_on, "grace": m.grace_until}))
    sent = notify_members_bulk(notices, sms=True)
    return {"reminders_due": len(notices), "reminders_sent": sent}


def membership_monthly_coupons_issue(*, day: dt.date) -> dict:
    """The plan's monthly coupons for each membership current on `day`, once per membership and calendar
    month (idem key "plan:<membership>:<YYYY-MM>:<n>": a re-run, or a daily run, issues nothing twice)."""
    from points.models import Coupon

    period = f"{day:%Y-%m}"
    current = list(PaidMembership.objects.select_related("plan__monthly_coupon_type", "member")
                   .filter(status__in=PaidMembership.CURRENT, starts_on__lte=day, ends_on__gte=day,
                           plan__monthly_coupon_type__isnull=False, plan__monthly_coupon_count__gt=0)
                   .order_by("pk"))
    done = set(Coupon.objects.filter(idem_key__in=[f"plan:{m.pk}:{period}:{m.plan.monthly_coupon_count - 1}"
                                                   for m in current]).values_list("idem_key", flat=True))
    issued = failed = 0
    for m in current:
        if f"plan:{m.pk}:{period}:{m.plan.monthly_coupon_count - 1}" in done:
            continue
        try:
            with transaction.atomic():
                issued += _coupons_issue(m, m.plan.monthly_coupon_type, m.plan.monthly_coupon_count, period,
                                         _("Monthly coupon of %(plan)s (%(month)s)") % {"plan": m.plan.name,
                                                                                      "month": period})
        except MemberHubError:  # a coupon type sold out, switched off or past its validity: counted, the rest go on
            failed += 1
    return {"coupons_issued": issued, "coupons_failed": failed}
