"""Paid membership services (issue 18): buy, renew from the end, grace, idempotent purchases, the refund
rules, and the history and audit record written with each change."""
import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.models import AuditLog
from plans.errors import MembershipConflict, PlanError
from plans.models import MembershipEvent, MembershipPlan, PaidMembership, Source
from plans.services import (
    add_months,
    membership_buy,
    membership_refund,
    membership_refund_quote,
    memberships_lapse,
)
from points.models import Coupon
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-03-10T12:00+08:00")]


def buy(member, plan, ref="R1", **kw):
    return membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref=ref, price_paid=plan.price,
                          actor="command", **kw)


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 3, 10), 12) == dt.date(2027, 3, 10)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def test_buy_starts_today_for_the_plans_months_with_history_audit_and_joining_coupons(plan):
    member = MemberFactory()
    result = buy(member, plan)
    m = result.membership
    assert result.created and m.status == PaidMembership.Status.ACTIVE
    assert (m.starts_on, m.ends_on, m.grace_until) == (dt.date(2026, 3, 10), dt.date(2027, 3, 9), dt.date(2027, 3, 24))
    assert m.price_paid == Decimal("299.00")
    event = MembershipEvent.objects.get(membership=m)
    assert event.kind == "bought" and event.amount == Decimal("299.00") and event.ends_on_after == m.ends_on
    assert AuditLog.objects.filter(member=member, field="paid_membership").count() == 1
    coupons = Coupon.objects.filter(member=member, source=Coupon.Source.MEMBERSHIP)
    assert coupons.count() == 2 and {c.type_id for c in coupons} == {plan.joining_coupon_type_id}


def test_the_same_purchase_reference_buys_once(plan):
    member = MemberFactory()
    first = buy(member, plan, ref="till:S1:O1:0")
    again = buy(member, plan, ref="till:S1:O1:0")
    assert not again.created and again.membership.pk == first.membership.pk
    assert MembershipEvent.objects.count() == 1 and Coupon.objects.filter(member=member).count() == 2
    other = MemberFactory()
    with pytest.raises(MembershipConflict) as exc:
        buy(other, plan, ref="till:S1:O1:0")
    assert exc.value.code == "idempotency_conflict"


def test_renewal_extends_from_the_current_end_not_from_today(plan):
    member = MemberFactory()
    first = buy(member, plan).membership
    with time_machine.travel(dt.datetime(2027, 2, 1, 12, tzinfo=timezone.get_current_timezone())):
        renewed = buy(member, plan, ref="R2")
    m = renewed.membership
    assert m.pk == first.pk and renewed.event.kind == "renewed"
    assert m.ends_on == dt.date(2028, 3, 9) and m.grace_until == dt.date(2028, 3, 24)
    assert m.price_paid == Decimal("598.00") and m.starts_on == dt.date(2026, 3, 10)
    assert Coupon.objects.filter(member=member).count() == 2  # joining coupons only once


def test_renewal_in_grace_still_runs_on_from_the_old_end(plan):
    member = MemberFactory()
    buy(member, plan)
    with time_machine.travel(dt.datetime(2027, 3, 15, 12, tzinfo=timezone.get_current_timezone())):
        memberships_lapse(day=dt.date(2027, 3, 15))
        assert PaidMembership.objects.get(member=member).status == "grace"
        m = buy(member, plan, ref="R2").membership
    assert m.status == "active" and m.ends_on == dt.date(2028, 3, 9)


def test_after_grace_a_purchase_starts_a_new_membership(plan):
    member = MemberFactory()
    old = buy(member, plan).membership
    with time_machine.travel(dt.datetime(2027, 4, 1, 12, tzinfo=timezone.get_current_timezone())):
        new = buy(member, plan, ref="R2").membership  # the nightly job has not run: expired on the spot
    old.refresh_from_db()
    assert old.status == "expired" and new.pk != old.pk and new.starts_on == dt.date(2027, 4, 1)
    assert list(MembershipEvent.objects.filter(membership=old).values_list("kind", flat=True).order_by("id")) == [
        "bought", "expired"]


def test_wrong_price_plan_change_and_stale_desk_page_are_refused(plan):
    member = MemberFactory()
    with pytest.raises(PlanError) as exc:
        membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref="R0", price_paid="100",
                       actor="command")
    assert exc.value.code == "plan_price_mismatch"
    buy(member, plan, expected_ends_on=None)
    other = MembershipPlan.objects.create(name="季卡", code="quarter", price=Decimal("99.00"), duration_months=3)
    with pytest.raises(MembershipConflict) as exc:
        buy(member, other, ref="R2")
    assert exc.value.code == "plan_mismatch"
    with pytest.raises(MembershipConflict) as exc:
        buy(member, plan, ref="R3", expected_ends_on=None)  # the page showed "no membership"
    assert exc.value.code == "membership_changed"
    assert PaidMembership.objects.filter(member=member).count() == 1


def test_inactive_member_cannot_buy(plan):
    member = MemberFactory(status="suspended")
    with pytest.raises(MembershipConflict) as exc:
        buy(member, plan)
    assert exc.value.code == "member_inactive"


def test_pro_rata_refund_pays_back_the_unused_days_and_ends_the_benefits(plan):
    member = MemberFactory()
    m = buy(member, plan).membership
    with time_machine.travel(dt.datetime(2026, 6, 10, 12, tzinfo=timezone.get_current_timezone())):
        quote = membership_refund_quote(membership=m, day=dt.date(2026, 6, 10))
        total = (m.ends_on - m.starts_on).days + 1  # 365
        unused = (m.ends_on - dt.date(2026, 6, 10)).days  # 272
        expected = (Decimal("299.00") * unused / total).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
        assert quote.amount == expected == Decimal("222.81") and not quote.refusal
        event = membership_refund(membership=m, actor="command", reason="会员要求")
    m.refresh_from_db()
    assert m.status == "refunded" and m.refunded_amount == expected and m.ended_on == dt.date(2026, 6, 10)
    assert event.kind == "refunded" and event.amount == expected
    assert AuditLog.objects.filter(member=member, field="paid_membership", detail__startswith="refunded").exists()
    with pytest.raises(MembershipConflict):
        membership_refund(membership=m, actor="command", reason="again")


def test_refund_rules_none_and_full_within_days(plan):
    member = MemberFactory()
    m = buy(member, plan).membership
    plan.refund_rule = MembershipPlan.RefundRule.NONE
    plan.save()
    m.refresh_from_db()
    assert membership_refund_quote(membership=m, day=dt.date(2026, 3, 11)).refusal
    with pytest.raises(MembershipConflict) as exc:
        membership_refund(membership=m, actor="command", reason="x")
    assert exc.value.code == "refund_refused"
    plan.refund_rule, plan.refund_full_within_days = MembershipPlan.RefundRule.FULL_WITHIN, 7
    plan.save()
    m.refresh_from_db()
    assert membership_refund_quote(membership=m, day=dt.date(2026, 3, 17)).amount == Decimal("299.00")
    assert membership_refund_quote(membership=m, day=dt.date(2026, 3, 18)).refusal
    with time_machine.travel(dt.datetime(2026, 3, 17, 12, tzinfo=timezone.get_current_timezone())):
        assert membership_refund(membership=m, actor="command", reason="7天内").amount == Decimal("299.00")



def test_plan_parking_hours_add_to_the_tiers_daily_allowance_until_end_plus_grace(plan):
    """amenities.hooks: the desk's parking record and the quota pages read the same allowance."""
    from amenities.services import AmenityError, parking_record, quota_remaining
    from tests.factories import StoreFactory

    member = MemberFactory()
    base = quota_remaining(member=member)["parking_allowed"]
    buy(member, plan)
    assert quota_remaining(member=member)["parking_allowed"] == base + 3
    parking_record(member=member, store=StoreFactory(), plate_number="沪A12345", hours=base + 3)
    with pytest.raises(AmenityError):
        parking_record(member=member, store=StoreFactory(), plate_number="沪A12345", hours=1)
    assert quota_remaining(member=member, day=dt.date(2027, 3, 24))["parking_allowed"] == base + 3
    assert quota_remaining(member=member, day=dt.date(2027, 3, 25))["parking_allowed"] == base
