"""Tier engine rules (TIER-2..5) against the real database."""
import datetime as dt
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from core.errors import Conflict, NotFound, ValidationFailed
from core.jobs import run_job
from core.models import JobRun
from members import roles
from members.models import Member, Tier
from messaging.models import Notice
from points.services.purchases import refund_post
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy
from tiers import services
from tiers.models import TierChange, TierProposal
from tiers.selectors import tier_proposal_list_for_staff, tier_rolling_for_member, tier_status_for_member

pytestmark = pytest.mark.django_db


def evaluate(day):
    return services.tiers_evaluate(day=day)


def fresh(member) -> Member:
    return Member.objects.select_related("tier").get(pk=member.pk)


def test_upgrade_at_threshold_effective_next_day(tiers, day):
    """TIER-2: reaching the next tier's amount upgrades, evaluated nightly, effective next day."""
    reached, short = MemberFactory(), MemberFactory()
    buy(reached, reached.home_store, "3000.00", order_no="A1", at=day - dt.timedelta(days=200))
    buy(reached, reached.home_store, "2000.00", order_no="A2", at=day)
    buy(short, short.home_store, "4999.99", order_no="B1", at=day)
    counts = evaluate(day)
    assert counts["upgrades"] == 1
    reached, short = fresh(reached), fresh(short)
    assert reached.tier.code == "silver" and short.tier.code == "normal"
    change = TierChange.objects.get(member=reached)
    assert change.kind == "upgrade" and change.effective_on == day + dt.timedelta(days=1)
    assert change.from_tier.code == "normal" and change.rolling_amount == Decimal("5000.00")
    assert reached.tier_since == day + dt.timedelta(days=1)
    assert reached.tier_protected_until == day + dt.timedelta(days=1) + relativedelta(months=12) - dt.timedelta(days=1)


def test_upgrade_skips_to_highest_tier_reached(tiers, day):
    """TIER-2: the highest tier whose threshold is reached, not one step at a time."""
    member = MemberFactory()
    buy(member, member.home_store, "25000.00", order_no="G1", at=day)
    evaluate(day)
    assert fresh(member).tier.code == "gold"


def test_purchases_older_than_twelve_months_do_not_count(tiers, day):
    """TIER-2: the window is the 365 local days ending on the evaluated day."""
    member = MemberFactory()
    buy(member, member.home_store, "5000.00", order_no="OLD", at=day - dt.timedelta(days=365))
    evaluate(day)
    assert fresh(member).tier.code == "normal"
    assert tier_rolling_for_member(member=member, day=day).amount == 0
    assert tier_rolling_for_member(member=member, day=day - dt.timedelta(days=1)).amount == Decimal("5000.00")


def test_visits_threshold_upgrades(tiers, day):
    """TIER-2: a visits threshold (distinct purchase days) qualifies on its own."""
    silver = tiers["silver"]
    silver.upgrade_visits = 3
    silver.save()
    regular, one_day = MemberFactory(), MemberFactory()
    for i in range(3):
        buy(regular, regular.home_store, "10.00", order_no=f"R{i}", at=day - dt.timedelta(days=i * 30))
        buy(one_day, one_day.home_store, "10.00", order_no=f"O{i}", at=day)
    evaluate(day)
    assert fresh(regular).tier.code == "silver"
    assert fresh(one_day).tier.code == "normal"
    assert TierChange.objects.get(member=regular).rolling_visits == 3


def test_refunds_lower_the_rolling_amount(tiers, day):
    """TIER-2 with PTS-5: the refunded share of a purchase no longer counts."""
    member = MemberFactory()
    purchase = buy(member, member.home_store, "6000.00", order_no="RF", at=day - dt.timedelta(days=3))
    refund_post(store=member.home_store, refund_no="RF-1", purchase=purchase, amount=Decimal("1500.00"),
                occurred_at=timezone.now())
    assert tier_rolling_for_member(member=member, day=day).amount == Decimal("4500.00")
    evaluate(day)
    assert fresh(member).tier.code == "normal"


def _platinum_due(day, **kw):
    """A platinum member whose yearly evaluation date is `day`, with nothing bought this year."""
    return MemberFactory(tier=Tier.objects.get(code="platinum"), tier_evaluation_day=day.replace(year=2020), **kw)


def test_downgrade_one_step_only_at_the_evaluation_date(tiers, day):
    """TIER-3: below the retention threshold at the yearly evaluation date → one step down."""
    member = _platinum_due(day)
    evaluate(day - dt.timedelta(days=1))
    assert fresh(member).tier.code == "platinum"  # not its evaluation date
    counts = evaluate(day)
    assert counts["downgrades"] == 1
    member = fresh(member)
    assert member.tier.code == "gold"  # one step, not to normal
    change = TierChange.objects.get(member=member)
    assert change.kind == "downgrade" and change.effective_on == day + dt.timedelta(days=1)
    assert member.tier_protected_until >= day + relativedelta(months=11)


def test_evaluation_date_defaults_to_the_sign_up_day(tiers, day):
    """TIER-3: without tier_evaluation_day the sign-up date's month/day is the evaluation date."""
    member = MemberFactory(tier=tiers["gold"])
    Member.objects.filter(pk=member.pk).update(
        created_at=timezone.make_aware(dt.datetime.combine(day.replace(year=2021), dt.time(23, 30))))
    evaluate(day)
    assert fresh(member).tier.code == "silver"


def test_retention_reached_keeps_the_tier(tiers, day):
    """TIER-3: at the evaluation date, a member at or above the retention threshold stays."""
    member = _platinum_due(day)
    buy(member, member.home_store, "100000.00", order_no="KEEP", at=day - dt.timedelta(days=10))
    evaluate(day)
    assert fresh(member).tier.code == "platinum"


def test_protection_period_honoured(tiers, day):
    """TIER-3: a new tier is protected; no downgrade while tier_protected_until >= the day."""
    protected = _platinum_due(day, tier_protected_until=day)
    expired = _platinum_due(day, tier_protected_until=day - dt.timedelta(days=1))
    evaluate(day)
    assert fresh(protected).tier.code == "platinum"
    assert fresh(expired).tier.code == "gold"


def test_manual_floor_honoured(tiers, day):
    """TIER-3/4: an active manual floor stops the downgrade; an expired one does not."""
    floored = _platinum_due(day, tier_floor=tiers["platinum"], tier_floor_until=day)
    expired = _platinum_due(day, tier_floor=tiers["platinum"], tier_floor_until=day - dt.timedelta(days=1))
    evaluate(day)
    assert fresh(floored).tier.code == "platinum"
    assert fresh(expired).tier.code == "gold"


def test_manual_tier_grant_lifts_member_and_records_history(tiers, django_capture_on_commit_callbacks, sms_outbox):
    """TIER-4/5: staff grant a tier floor with an end date and reason; recorded as manual, announced."""
    ops = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    member = MemberFactory()
    until = timezone.localdate() + dt.timedelta(days=90)
    with django_capture_on_commit_callbacks(execute=True):
        change = services.tier_floor_grant(member=member, tier=tiers["gold"], until=until,
                                           reason="VIP customer of the flagship", staff=ops)
    member = fresh(member)
    assert member.tier.code == "gold" and member.tier_floor_id == tiers["gold"].pk
    assert member.tier_floor_until == until
    assert change.kind == "manual" and change.decided_by == ops and change.floor_until == until
    assert Notice.objects.filter(member=member, kind="tier_change", ref=str(change.pk)).count() == 1
    assert len(sms_outbox) == 1
    with pytest.raises(ValidationFailed):
        services.tier_floor_grant(member=member, tier=tiers["gold"], until=until, reason=" ", staff=ops)
    desk = make_staff(roles.FRONT_DESK, store=member.home_store)
    with pytest.raises(Exception) as exc:
        services.tier_floor_grant(member=member, tier=tiers["gold"], until=until, reason="x", staff=desk)
    assert getattr(exc.value, "code", "") == "permission"


def test_floor_below_current_tier_is_recorded_without_change(tiers):
    """TIER-4: a floor at or below the current tier only sets the floor (kind floor, no notice)."""
    ops = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    member = MemberFactory(tier=tiers["gold"])
    change = services.tier_floor_grant(member=member, tier=tiers["silver"], until=timezone.localdate(),
                                       reason="keep at least silver", staff=ops)
    assert change.kind == "floor" and fresh(member).tier.code == "gold"
    assert not Notice.objects.filter(member=member).exists()


def test_manual_confirmation_tier_creates_proposal_and_approve_applies_it(tiers, day):
    """TIER-4: a tier needing manual confirmation gets a proposal; approving applies the change."""
    gold = tiers["gold"]
    gold.confirmation = "manual"
    gold.save()
    member = MemberFactory()
    buy(member, member.home_store, "20000.00", order_no="P1", at=day)
    counts = evaluate(day)
    assert counts == {**counts, "proposals": 1, "upgrades": 0}
    assert fresh(member).tier.code == "normal" and not TierChange.objects.filter(member=member).exists()
    proposal = TierProposal.objects.get(member=member)
    assert proposal.status == "pending" and proposal.to_tier == gold and proposal.rolling_amount == 20000
    evaluate(day)  # re-run: still one proposal
    assert TierProposal.objects.filter(member=member).count() == 1
    ops = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    change = services.tier_proposal_approve(proposal=proposal, staff=ops, reason="checked the receipts")
    proposal.refresh_from_db()
    assert proposal.status == "approved" and proposal.decided_by == ops
    assert change.proposal == proposal and change.decided_by == ops and change.kind == "upgrade"
    assert fresh(member).tier.code == "gold"
    assert Notice.objects.filter(member=member, kind="tier_change").count() == 1
    with pytest.raises(Conflict):
        services.tier_proposal_approve(proposal=proposal, staff=ops)


def test_rejected_proposal_keeps_reason_and_is_not_proposed_again(tiers, day):
    """TIER-4: reject needs a reason, keeps the tier, and the same change is not re-proposed nightly."""
    gold = tiers["gold"]
    gold.confirmation = "manual"
    gold.save()
    member = MemberFactory()
    buy(member, member.home_store, "20000.00", order_no="P2", at=day)
    evaluate(day)
    proposal = TierProposal.objects.get(member=member)
    ops = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    with pytest.raises(ValidationFailed):
        services.tier_proposal_reject(proposal=proposal, staff=ops, reason="")
    services.tier_proposal_reject(proposal=proposal, staff=ops, reason="purchases were for a company")
    proposal.refresh_from_db()
    assert proposal.status == "rejected" and proposal.reason == "purchases were for a company"
    evaluate(day + dt.timedelta(days=1))
    assert TierProposal.objects.filter(member=member).count() == 1
    assert fresh(member).tier.code == "normal"


def test_bulk_decision_reports_each_proposal(tiers, day):
    """TIER-4: bulk approve applies each; a stale one is reported, the others still apply."""
    silver = tiers["silver"]
    silver.confirmation = "manual"
    silver.save()
    members = [MemberFactory() for _ in range(3)]
    for i, m in enumerate(members):
        buy(m, m.home_store, "5000.00", order_no=f"BK{i}", at=day)
    evaluate(day)
    ids = list(TierProposal.objects.filter(member__in=members).values_list("pk", flat=True))
    assert len(ids) == 3
    Member.objects.filter(pk=members[0].pk).update(tier=tiers["gold"])  # changed since: stale
    ops = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    result = services.tier_proposals_decide(proposal_ids=ids, staff=ops, approve=True)
    assert len(result.done) == 2 and len(result.errors) == 1
    assert [fresh(m).tier.code for m in members[1:]] == ["silver", "silver"]


def test_rerun_records_nothing_twice(tiers, day, django_capture_on_commit_callbacks, sms_outbox):
    """TIER-5 / jobs: the nightly job re-run for the same date records and announces nothing twice."""
    upgraded = MemberFactory()
    buy(upgraded, upgraded.home_store, "5000.00", order_no="RR1", at=day)
    downgraded = _platinum_due(day)
    with django_capture_on_commit_callbacks(execute=True):
        first = run_job("evaluate_tiers", date=day + dt.timedelta(days=1))
    assert first.status == JobRun.Status.SUCCEEDED, first.error
    assert first.counts["upgrades"] == 1 and first.counts["downgrades"] == 1 and first.counts["notices"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        second = run_job("evaluate_tiers", date=day + dt.timedelta(days=1))
    assert second.counts["upgrades"] == second.counts["downgrades"] == second.counts["notices"] == 0
    assert TierChange.objects.filter(member__in=[upgraded, downgraded]).count() == 2
    assert Notice.objects.filter(kind="tier_change", member__in=[upgraded, downgraded]).count() == 2
    assert len(sms_outbox) == 2
    assert fresh(downgraded).tier.code == "gold"  # still one step


def test_notice_sent_once_per_change(tiers, day, django_capture_on_commit_callbacks, sms_outbox):
    """TIER-5: each change is announced once (portal inbox + SMS) with the change as its reference."""
    member = MemberFactory(mobile="13812345678")
    buy(member, member.home_store, "5000.00", order_no="N1", at=day)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(day)
        evaluate(day)
    change = TierChange.objects.get(member=member)
    notice = Notice.objects.get(member=member, kind="tier_change")
    assert notice.ref == str(change.pk)
    assert [s.mobile for s in sms_outbox] == ["13812345678"]


def test_immediate_upgrade_on_purchase(tiers, django_capture_on_commit_callbacks, sms_outbox):
    """TIER-2: a tier that opts in upgrades on the purchase that crosses its threshold."""
    silver = tiers["silver"]
    silver.immediate_upgrade = True
    silver.save()
    member = MemberFactory()
    buy(member, member.home_store, "3000.00", order_no="I1")
    assert fresh(member).tier.code == "normal"
    with django_capture_on_commit_callbacks(execute=True):
        buy(member, member.home_store, "2000.00", order_no="I2")
    member = fresh(member)
    assert member.tier.code == "silver" and member.tier_since == timezone.localdate()
    change = TierChange.objects.get(member=member)
    assert change.kind == "upgrade" and change.effective_on == timezone.localdate()
    assert len(sms_outbox) == 1
    # the nightly run for today finds nothing more to do
    assert services.tiers_evaluate(day=timezone.localdate())["upgrades"] == 0


def test_no_immediate_upgrade_without_opt_in(tiers):
    """TIER-2: without immediate_upgrade the change waits for the nightly evaluation."""
    member = MemberFactory()
    buy(member, member.home_store, "5000.00", order_no="NI")
    assert fresh(member).tier.code == "normal"


def test_store_scope_on_proposal_queue(tiers, day):
    """TIER-4 / MEM-9: an ops manager who is not chain-wide sees and decides only their store's members."""
    silver = tiers["silver"]
    silver.confirmation = "manual"
    silver.save()
    store_a, store_b = StoreFactory(), StoreFactory()
    in_a, in_b = MemberFactory(home_store=store_a), MemberFactory(home_store=store_b)
    buy(in_a, store_a, "5000.00", order_no="SA", at=day)
    buy(in_b, store_b, "5000.00", order_no="SB", at=day)
    evaluate(day)
    ops_a = make_staff(roles.OPERATIONS_MANAGER, store=store_a)
    chain = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    assert [p.member_id for p in tier_proposal_list_for_staff(user=ops_a)] == [in_a.pk]
    assert {p.member_id for p in tier_proposal_list_for_staff(user=chain)} >= {in_a.pk, in_b.pk}
    with pytest.raises(NotFound):
        services.tier_proposal_approve(proposal=TierProposal.objects.get(member=in_b), staff=ops_a)
    assert fresh(in_b).tier.code == "normal"


def test_tier_status_shows_amount_to_next_tier(tiers, day):
    """TIER-2: status = current tier, rolling amount and what the next tier still needs."""
    member = MemberFactory()
    buy(member, member.home_store, "1200.50", order_no="ST")
    status = tier_status_for_member(member=member)
    assert status.tier.code == "normal" and status.next_tier.code == "silver"
    assert status.rolling_amount == Decimal("1200.50") and status.amount_to_next == Decimal("3799.50")


def test_suspended_members_are_not_evaluated(tiers, day):
    """TIER-2 with MEM-5: only active members move between tiers."""
    member = MemberFactory()
    buy(member, member.home_store, "5000.00", order_no="SU", at=day)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    evaluate(day)
    assert fresh(member).tier.code == "normal"


def test_batches_cover_every_member(tiers, day):
    """Jobs: member-id batches leave no gap at the range edges."""
    members = [MemberFactory() for _ in range(5)]
    for i, m in enumerate(members):
        buy(m, m.home_store, "5000.00", order_no=f"BT{i}", at=day)
    counts = services.tiers_evaluate(day=day, batch_size=2)
    assert counts["upgrades"] == 5 and counts["batches"] >= 3
