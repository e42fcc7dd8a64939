"""The points ledger: earning, idempotent till posts, refunds, expiry, reconciliation (PTS-1..5, PTS-9)."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.errors import MemberHubError
from core.jobs import run_job
from members.models import Member, Tier
from points.errors import IdempotencyConflict, InsufficientPoints, MemberCannotTransact, PointsError
from points.jobs import expire_points_for
from points.models import Campaign, Entry, Lot, PointsAccount, PointsConfig
from points.reconcile import reconcile
from points.services.ledger import Source, consume, credit, spendable
from points.services.purchases import purchase_post, refund_post
from points.services.redemption import offset_commit
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy

pytestmark = pytest.mark.django_db


def balance(member):
    return PointsAccount.objects.get(member=member).balance


def test_points_from_amount_actually_paid_times_tier_rate_rounded_down():
    """PTS-1: coupons, gift cards and points offset earn nothing; fractions round down."""
    member = MemberFactory(tier=Tier.objects.get(code="silver"))  # 1.2 per yuan
    store = StoreFactory()
    with transaction.atomic():  # the points tender is paid by an offset committed for the order (PTS-6c)
        credit(member=member, points=9901, idem_key="seed-offset", source=Source())
    offset_commit(member=member, store=store, order_no="A1", points=9901, bill_amount=Decimal("1000.00"))
    p = buy(member, store, "1000.00", order_no="A1", tenders=[
        {"type": "wechat", "amount": "600.99"}, {"type": "coupon", "amount": "200"},
        {"type": "gift_card", "amount": "100"}, {"type": "points", "amount": "99.01"}])
    assert p.amount_paid == Decimal("600.99")
    assert p.points_earned == 721  # floor(600.99 * 1.2 = 721.188)
    assert balance(member) == 721
    assert not reconcile()


def test_campaigns_multiply_stack_and_exclusive_wins():
    """PTS-2."""
    member, store = MemberFactory(), StoreFactory()
    now = timezone.now()
    window = {"starts_at": now - dt.timedelta(days=1), "ends_at": now + dt.timedelta(days=1)}
    Campaign.objects.create(name="双倍", multiplier=2, **window)
    Campaign.objects.create(name="品牌x3", multiplier=3, brands=["B1"], **window)
    p = buy(member, store, "100", order_no="C1", lines=[
        {"brand": "B1", "category": "x", "amount": "50"}, {"brand": "B2", "category": "x", "amount": "50"}])
    assert p.points_earned == 50 * 2 * 3 + 50 * 2
    assert {c["name"] for c in p.campaigns} == {"双倍", "品牌x3"}
    assert set(Entry.objects.get(purchase=p).campaigns) == {c["id"] for c in p.campaigns}
    Campaign.objects.create(name="独享x5", multiplier=5, stacking="exclusive", bonus_points=10, **window)
    p2 = buy(member, store, "100", order_no="C2")
    assert p2.points_earned == 100 * 5 + 10


def test_retried_post_credits_once_and_different_body_is_conflict():
    """PTS-9: the till's order number is the key."""
    member, store = MemberFactory(), StoreFactory()
    at = timezone.now()
    first = buy(member, store, "100", order_no="R1", at=at)
    again = buy(member, store, "100", order_no="R1", at=at)
    assert first.pk == again.pk and balance(member) == 100
    with pytest.raises(IdempotencyConflict):
        buy(member, store, "101", order_no="R1", at=at)
    assert Entry.objects.filter(member=member).count() == 1


def test_suspended_member_cannot_earn():
    member = MemberFactory(status=Member.Status.SUSPENDED)
    with pytest.raises(MemberCannotTransact):
        buy(member, StoreFactory(), "100", order_no="S1")


def test_tenders_must_add_up():
    with pytest.raises(PointsError) as exc:
        buy(MemberFactory(), StoreFactory(), "100", order_no="T1", tenders=[{"type": "cash", "amount": "90"}])
    assert "tenders" in exc.value.fields


def test_refund_reverses_points_in_proportion():
    """PTS-5."""
    member, store = MemberFactory(), StoreFactory()
    p = buy(member, store, "300", order_no="F1")
    r = refund_post(store=store, refund_no="RF1", purchase=p, amount=Decimal("100"), occurred_at=timezone.now())
    assert r.refund.points_reversed == 100 and balance(member) == 200
    r2 = refund_post(store=store, refund_no="RF2", purchase=p, amount=Decimal("200"), occurred_at=timezone.now())
    assert r2.refund.points_reversed == 200 and balance(member) == 0
    with pytest.raises(PointsError) as exc:
        refund_post(store=store, refund_no="RF3", purchase=p, amount=Decimal("0.01"), occurred_at=timezone.now())
    assert exc.value.code == "refund_exceeds"
    assert not reconcile()


def test_refund_of_spent_points_becomes_debt_paid_by_next_earnings():
    """PTS-5: never silently lost (debt policy)."""
    member, store = MemberFactory(), StoreFactory()
    p = buy(member, store, "100", order_no="D1")
    with transaction.atomic():
        consume(member=member, points=80, idem_key="spend-1", source=Source(reason="gift"))
    r = refund_post(store=store, refund_no="DR1", purchase=p, amount=Decimal("100"), occurred_at=timezone.now())
    assert (r.refund.points_reversed, r.refund.points_as_debt) == (100, 80)
    account = PointsAccount.objects.get(member=member)
    assert (account.balance, account.debt) == (0, 80)
    buy(member, store, "50", order_no="D2")
    account.refresh_from_db()
    assert (account.balance, account.debt) == (0, 30)
    buy(member, store, "50", order_no="D3")
    account.refresh_from_db()
    assert (account.balance, account.debt) == (20, 0)
    assert not reconcile()


def test_refund_of_spent_points_deducts_cash_under_that_policy():
    config = PointsConfig.get()
    config.refund_policy = "deduct_cash"
    config.save()
    member, store = MemberFactory(), StoreFactory()
    p = buy(member, store, "100", order_no="K1")
    with transaction.atomic():
        consume(member=member, points=75, idem_key="spend-k", source=Source())
    r = refund_post(store=store, refund_no="KR1", purchase=p, amount=Decimal("100"), occurred_at=timezone.now())
    assert r.refund.cash_deducted == Decimal("0.75") and r.refund.points_as_debt == 0
    assert PointsAccount.objects.get(member=member).debt == 0


def test_spending_consumes_first_expiring_lots_first():
    """PTS-3."""
    member = MemberFactory()
    today = timezone.localdate()
    with transaction.atomic():
        late = credit(member=member, points=100, idem_key="c-late", source=Source(), earned_on=today)
        early = credit(member=member, points=100, idem_key="c-early", source=Source(),
                       earned_on=today - dt.timedelta(days=300))
        consume(member=member, points=150, idem_key="d1", source=Source())
    assert Lot.objects.get(entry=early).remaining == 0
    assert Lot.objects.get(entry=late).remaining == 50


def test_expired_points_cannot_be_redeemed_even_before_the_job_runs():
    member = MemberFactory()
    with transaction.atomic():
        credit(member=member, points=100, idem_key="old", source=Source(),
               earned_on=timezone.localdate() - dt.timedelta(days=800))
    assert spendable(member) == 0
    with pytest.raises(InsufficientPoints), transaction.atomic():
        consume(member=member, points=1, idem_key="d-old", source=Source())


def test_expiry_job_expires_due_lots_once():
    """PTS-4 and SPEC 9: a re-run changes nothing twice."""
    members = [MemberFactory() for _ in range(3)]
    today = timezone.localdate()
    with transaction.atomic():
        for i, m in enumerate(members):
            credit(member=m, points=100, idem_key=f"old-{i}", source=Source(), earned_on=today - dt.timedelta(days=700))
            credit(member=m, points=7, idem_key=f"new-{i}", source=Source(), earned_on=today)
    with transaction.atomic():
        consume(member=members[0], points=30, idem_key="spent-0", source=Source())  # from the oldest lot
    later = today + dt.timedelta(days=60)
    run = run_job("expire_points", date=later)
    assert run.counts == {"members": 3, "lots": 3, "points": 70 + 200}
    assert [balance(m) for m in members] == [7, 7, 7]
    again = run_job("expire_points", date=later)
    assert again.counts == {"members": 0, "lots": 0, "points": 0}
    assert Entry.objects.filter(kind="expiry").count() == 3
    assert not reconcile()


def test_expiry_after_a_crash_half_way_gives_the_same_ledger(monkeypatch):
    """A crashed run (one batch done) re-run equals one clean run."""
    import points.jobs as jobs

    monkeypatch.setattr(jobs, "BATCH_MEMBERS", 1)
    today = timezone.localdate()
    members = [MemberFactory() for _ in range(4)]
    with transaction.atomic():
        for i, m in enumerate(members):
            credit(member=m, points=10 * (i + 1), idem_key=f"o-{i}", source=Source(),
                   earned_on=today - dt.timedelta(days=800))
    calls = {"n": 0}

    def crash(done, total):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        expire_points_for(today, progress=crash)
    assert 0 < Entry.objects.filter(kind="expiry").count() < 4
    expire_points_for(today)
    assert Entry.objects.filter(kind="expiry").count() == 4
    assert sum(-e.points for e in Entry.objects.filter(kind="expiry")) == 100
    assert all(balance(m) == 0 for m in members)
    assert not reconcile()


def test_reconcile_reports_a_tampered_balance():
    member, store = MemberFactory(), StoreFactory()
    buy(member, store, "10", order_no="X1")
    PointsAccount.objects.filter(member=member).update(balance=11)
    problems = reconcile()
    assert problems and problems[0][1] == member.pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_posts_credit_once():
    """PTS-9: tills retry while the first request is still running."""
    member, store = MemberFactory(), StoreFactory()
    at = timezone.now()
    results, errors = [], []
    barrier = threading.Barrier(4)

    def post():
        try:
            barrier.wait(5)
            results.append(buy(member, store, "100", order_no="CC1", at=at).pk)
        except MemberHubError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(20) for t in threads]
    assert not errors and len(set(results)) == 1
    assert balance(member) == 100 and not reconcile()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_redemptions_never_overdraw():
    """PTS-9: points cannot be redeemed twice by two concurrent requests."""
    member = MemberFactory()
    with transaction.atomic():
        credit(member=member, points=100, idem_key="seed", source=Source())
    outcomes = []
    barrier = threading.Barrier(2)

    def redeem(i):
        try:
            barrier.wait(5)
            with transaction.atomic():
                consume(member=member, points=80, idem_key=f"redeem-{i}", source=Source())
            outcomes.append("ok")
        except InsufficientPoints:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join(20) for t in threads]
    assert sorted(outcomes) == ["ok", "refused"]
    assert balance(member) == 20 and not reconcile()


def test_purchase_without_points_credit_for_history_import():
    member, store = MemberFactory(), StoreFactory()
    p = purchase_post(store=store, order_no="H1", member=member, occurred_at=timezone.now(),
                      lines=[{"amount": "10"}], tenders=[{"type": "cash", "amount": "10"}], credit_points=False)
    assert p.purchase.points_earned == 0 and not Entry.objects.filter(member=member).exists()
