"""Redemption of points (PTS-6 a–d): gift catalogue, coupons, cash offset, lottery."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.errors import Conflict, MemberHubError, NotFound
from members.models import Member, Tier
from points.errors import IdempotencyConflict, InsufficientPoints, MemberCannotTransact, PointsError
from points.models import (
    Coupon,
    CouponType,
    Draw,
    Entry,
    Gift,
    GiftOrder,
    Lottery,
    Offset,
    PointsAccount,
    PointsConfig,
    Prize,
)
from points.reconcile import reconcile
from points.services import redemption
from points.services.ledger import Source, credit
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy

pytestmark = pytest.mark.django_db


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def give(member, points: int, key: str = "seed"):
    with transaction.atomic():
        credit(member=member, points=points, idem_key=f"test:{key}:{member.pk}", source=Source(reason="test"))


def make_gift(**kw) -> Gift:
    now = timezone.now()
    defaults = {"name": "保温杯", "points_cost": 500, "stock": 10, "valid_from": now - dt.timedelta(days=1),
                "valid_to": now + dt.timedelta(days=30)}
    return Gift.objects.create(**{**defaults, **kw})


def make_coupon_type(**kw) -> CouponType:
    defaults = {"name": "满200减20", "face_value": Decimal("20.00"), "min_spend": Decimal("200.00"),
                "validity_days": 30, "points_cost": 1000}
    return CouponType.objects.create(**{**defaults, **kw})


def run_concurrently(n: int, func) -> list:
    """Run func(i) in n threads released together; returns each result or exception."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = func(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---------------------------------------------------------------- (a) gifts


def test_gift_order_spends_points_decrements_stock_in_one_transaction():
    """PTS-6a: stock down, points spent with the gift order as the source reference."""
    member, store = MemberFactory(), StoreFactory()
    give(member, 1200)
    gift = make_gift(stock=5)
    order, created = redemption.gift_order_place(member=member, gift=gift, quantity=2, store=store, request_id="g1")
    assert created and order.points == 1000 and order.status == GiftOrder.Status.RESERVED
    gift.refresh_from_db()
    assert gift.stock == 3 and balance(member) == 200
    assert order.entry.kind == Entry.Kind.DEBIT and order.entry.points == -1000
    assert order.entry.source_ref == f"gift:{order.pk}" and order.entry.store_id == store.pk
    assert not reconcile()


def test_gift_out_of_stock_refused():
    """PTS-6a: stock."""
    member, store = MemberFactory(), StoreFactory()
    give(member, 5000)
    gift = make_gift(stock=1)
    with pytest.raises(Conflict) as exc:
        redemption.gift_order_place(member=member, gift=gift, quantity=2, store=store, request_id="g1")
    assert exc.value.code == "gift_out_of_stock"
    gift.stock = 0
    gift.save()
    with pytest.raises(Conflict) as exc:
        redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="g2")
    assert exc.value.code == "gift_out_of_stock"
    assert balance(member) == 5000 and not GiftOrder.objects.exists() and not reconcile()


def test_gift_tier_not_allowed_refused():
    """PTS-6a: tier restrictions (empty = every tier)."""
    gold = Tier.objects.get(code="gold")
    normal_member, gold_member, store = MemberFactory(), MemberFactory(tier=gold), StoreFactory()
    give(normal_member, 1000)
    give(gold_member, 1000)
    gift = make_gift()
    gift.tiers.set([gold])
    with pytest.raises(Conflict) as exc:
        redemption.gift_order_place(member=normal_member, gift=gift, quantity=1, store=store, request_id="g1")
    assert exc.value.code == "gift_tier_not_allowed"
    order, _ = redemption.gift_order_place(member=gold_member, gift=gift, quantity=1, store=store, request_id="g2")
    assert order.pk and balance(normal_member) == 1000 and not reconcile()


def test_gift_per_member_limit_counts_held_orders_within_validity():
    """PTS-6a: per-member limit; cancelled orders give the allowance back."""
    member, other, store = MemberFactory(), MemberFactory(), StoreFactory()
    give(member, 5000)
    give(other, 5000)
    gift = make_gift(per_member_limit=2, points_cost=100)
    first, _ = redemption.gift_order_place(member=member, gift=gift, quantity=2, store=store, request_id="g1")
    with pytest.raises(Conflict) as exc:
        redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="g2")
    assert exc.value.code == "gift_limit_reached"
    redemption.gift_order_place(member=other, gift=gift, quantity=2, store=store, request_id="g3")  # per member
    redemption.gift_order_cancel(order=first)
    again, _ = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="g4")
    assert again.pk
    assert not reconcile()


def test_suspended_member_cannot_order_gift():
    """PTS-6a / MEM-5: points freeze while a member is suspended."""
    member, store = MemberFactory(), StoreFactory()
    give(member, 1000)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    member.refresh_from_db()
    with pytest.raises(MemberCannotTransact):
        redemption.gift_order_place(member=member, gift=make_gift(), quantity=1, store=store, request_id="g1")
    assert balance(member) == 1000


def test_gift_order_needs_enough_points_and_leaves_stock_when_refused():
    member, store = MemberFactory(), StoreFactory()
    give(member, 499)
    gift = make_gift(stock=3)
    with pytest.raises(InsufficientPoints):
        redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="g1")
    gift.refresh_from_db()
    assert gift.stock == 3 and not GiftOrder.objects.exists() and balance(member) == 499


def test_gift_outside_window_or_inactive_refused():
    member, store = MemberFactory(), StoreFactory()
    give(member, 1000)
    now = timezone.now()
    for i, gift in enumerate([make_gift(is_active=False),
                              make_gift(valid_from=now + dt.timedelta(days=1), valid_to=now + dt.timedelta(days=2))]):
        with pytest.raises(Conflict) as exc:
            redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id=f"w{i}")
        assert exc.value.code == "gift_not_available"


def test_gift_order_retry_returns_first_order_and_other_body_conflicts():
    """PTS-9 for redemption: the client's request id is the key."""
    member, store = MemberFactory(), StoreFactory()
    give(member, 2000)
    gift = make_gift()
    first, created = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="r1")
    again, created_again = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store,
                                                       request_id="r1")
    assert created and not created_again and again.pk == first.pk and balance(member) == 1500
    with pytest.raises(IdempotencyConflict):
        redemption.gift_order_place(member=member, gift=gift, quantity=2, store=store, request_id="r1")
    gift.refresh_from_db()
    assert gift.stock == 9


def test_gift_cancel_and_return_restore_stock_and_points_once():
    """PTS-6a: reserved → cancelled, collected → returned; points come back once, as a new lot."""
    member, store = MemberFactory(), StoreFactory()
    staff = make_staff(store=store)
    give(member, 1000)
    gift = make_gift(stock=2)
    a, _ = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="a")
    b, _ = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="b")
    assert balance(member) == 0
    a = redemption.gift_order_cancel(order=a, reason="changed mind")
    redemption.gift_order_cancel(order=a)  # a retry changes nothing
    assert a.status == GiftOrder.Status.CANCELLED and balance(member) == 500
    assert a.return_entry.idem_key.startswith(f"gift-return:{a.pk}:") and a.return_entry.lot.expires_on > timezone.localdate()
    b = redemption.gift_order_collect(order=b, staff=staff)
    with pytest.raises(Conflict) as exc:
        redemption.gift_order_cancel(order=b)
    assert exc.value.code == "gift_order_state"
    b = redemption.gift_order_return(order=b, staff=staff)
    redemption.gift_order_return(order=b, staff=staff)
    gift.refresh_from_db()
    assert b.status == GiftOrder.Status.RETURNED and gift.stock == 2 and balance(member) == 1000
    assert Entry.objects.filter(member=member, idem_key__startswith="gift-return:").count() == 2
    assert not reconcile()


def test_gift_collected_only_at_the_pick_up_store():
    member, store = MemberFactory(), StoreFactory()
    give(member, 500)
    order, _ = redemption.gift_order_place(member=member, gift=make_gift(), quantity=1, store=store, request_id="c")
    with pytest.raises(MemberHubError):
        redemption.gift_order_collect(order=order, staff=make_staff(store=StoreFactory()))
    order.refresh_from_db()
    assert order.status == GiftOrder.Status.RESERVED


def test_catalogue_flags_eligibility_per_member():
    gold = Tier.objects.get(code="gold")
    member = MemberFactory()
    open_gift, gold_gift, _empty = make_gift(name="A"), make_gift(name="B"), make_gift(name="C", stock=0)
    gold_gift.tiers.set([gold])
    items = {i.gift.name: i for i in redemption.gift_list_for_member(member=member)}
    assert items["A"].eligible and not items["B"].eligible and not items["C"].eligible
    assert items["B"].code == "gift_tier_not_allowed" and items["C"].code == "gift_out_of_stock"
    assert open_gift.pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_for_the_last_gift_only_one_succeeds():
    """PTS-6a / PTS-9: the gift row lock serialises orders; stock never goes below zero."""
    store = StoreFactory()
    members = [MemberFactory(home_store=store) for _ in range(6)]
    for m in members:
        give(m, 1000)
    gift = make_gift(stock=1)
    results = run_concurrently(6, lambda i: redemption.gift_order_place(
        member=members[i], gift=gift, quantity=1, store=store, request_id=f"last-{i}"))
    wins = [r for r in results if isinstance(r, tuple)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 5, results
    assert all(r.code == "gift_out_of_stock" for r in losses)
    gift.refresh_from_db()
    assert gift.stock == 0 and GiftOrder.objects.count() == 1
    assert sum(balance(m) for m in members) == 6 * 1000 - 500
    assert not reconcile()


# ---------------------------------------------------------------- (b) coupons


def test_coupon_redeemed_for_points_lands_in_wallet_once():
    """PTS-6b: bought with points, idempotent on the request id."""
    member = MemberFactory()
    give(member, 1500)
    ctype = make_coupon_type()
    coupon, created = redemption.coupon_redeem_for_points(member=member, coupon_type=ctype, request_id="c1")
    again, created_again = redemption.coupon_redeem_for_points(member=member, coupon_type=ctype, request_id="c1")
    assert created and not created_again and again.pk == coupon.pk
    assert coupon.status == Coupon.Status.ISSUED and coupon.source == Coupon.Source.POINTS
    assert coupon.entry.points == -1000 and coupon.entry.source_ref == f"coupon:{coupon.pk}"
    assert balance(member) == 500 and list(redemption.coupons_in_wallet(member=member)) == [coupon]
    assert coupon.valid_to - coupon.valid_from <= dt.timedelta(days=30)
    ctype.refresh_from_db()
    assert ctype.issued_count == 1
    with pytest.raises(IdempotencyConflict):
        redemption.coupon_redeem_for_points(member=MemberFactory(), coupon_type=ctype, request_id="c1")
    assert not reconcile()


def test_issue_only_coupon_cannot_be_bought_with_points():
    member = MemberFactory()
    give(member, 5000)
    with pytest.raises(Conflict) as exc:
        redemption.coupon_redeem_for_points(member=member, coupon_type=make_coupon_type(points_cost=0),
                                            request_id="x")
    assert exc.value.code == "coupon_not_for_points" and balance(member) == 5000


def test_coupon_issue_limit_is_enforced():
    """PTS-6b: issue limit per coupon type."""
    member = MemberFactory()
    give(member, 5000)
    ctype = make_coupon_type(issue_limit=1, points_cost=100)
    redemption.coupon_redeem_for_points(member=member, coupon_type=ctype, request_id="a")
    with pytest.raises(Conflict) as exc:
        redemption.coupon_redeem_for_points(member=member, coupon_type=ctype, request_id="b")
    assert exc.value.code == "coupon_sold_out" and balance(member) == 4900


def test_coupon_use_checks_min_spend_store_and_validity():
    """PTS-6b: minimum spend, accepted stores, validity window."""
    member, store, other_store = MemberFactory(), StoreFactory(), StoreFactory()
    ctype = make_coupon_type()
    ctype.stores.set([store])
    with transaction.atomic():
        coupon = redemption.coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.COMPENSATION,
                                         reason="apology")
    with pytest.raises(Conflict) as exc:
        redemption.coupon_use(code=coupon.code, store=store, order_no="O1", bill_amount=Decimal("199.99"))
    assert exc.value.code == "coupon_min_spend"
    with pytest.raises(Conflict) as exc:
        redemption.coupon_use(code=coupon.code, store=other_store, order_no="O1", bill_amount=Decimal("300"))
    assert exc.value.code == "coupon_wrong_store"
    with pytest.raises(NotFound):
        redemption.coupon_use(code=coupon.code, store=store, order_no="O1", bill_amount=Decimal("300"),
                              member=MemberFactory())
    Coupon.objects.filter(pk=coupon.pk).update(valid_to=timezone.now() - dt.timedelta(seconds=1),
                                               valid_from=timezone.now() - dt.timedelta(days=2))
    with pytest.raises(Conflict) as exc:
        redemption.coupon_use(code=coupon.code, store=store, order_no="O1", bill_amount=Decimal("300"))
    assert exc.value.code == "coupon_not_usable"
    assert redemption.coupons_expire() == 1
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.EXPIRED


def test_coupon_single_use_and_till_retry():
    """PTS-6b: a coupon is used once; the same till order retrying gets the same answer."""
    member, store = MemberFactory(), StoreFactory()
    with transaction.atomic():
        coupon = redemption.coupon_issue(member=member, coupon_type=make_coupon_type(), source=Coupon.Source.MANUAL)
    used = redemption.coupon_use(code=coupon.code.lower(), store=store, order_no="O1", bill_amount=Decimal("250"),
                                 member=member)
    assert used.status == Coupon.Status.USED and used.used_store == store and used.used_order_no == "O1"
    assert redemption.coupon_use(code=coupon.code, store=store, order_no="O1", bill_amount=Decimal("250")).pk == used.pk
    with pytest.raises(Conflict) as exc:
        redemption.coupon_use(code=coupon.code, store=store, order_no="O2", bill_amount=Decimal("250"))
    assert exc.value.code == "coupon_used"


def test_coupon_issue_is_idempotent_on_its_key_and_notifies_member():
    member = MemberFactory()
    ctype = make_coupon_type(points_cost=0)
    with transaction.atomic():
        a = redemption.coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.COMPENSATION,
                                    idem_key="complaint:7")
        b = redemption.coupon_issue(member=member, coupon_type=ctype, source=Coupon.Source.COMPENSATION,
                                    idem_key="complaint:7")
    assert a.pk == b.pk and Coupon.objects.count() == 1
    assert member.notices.filter(kind="coupon_issued").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_use_of_one_coupon_exactly_one_succeeds():
    """PTS-6b: single use enforced under concurrency (row lock + status check)."""
    member, store = MemberFactory(), StoreFactory()
    with transaction.atomic():
        coupon = redemption.coupon_issue(member=member, coupon_type=make_coupon_type(), source=Coupon.Source.MANUAL)
    results = run_concurrently(5, lambda i: redemption.coupon_use(
        code=coupon.code, store=store, order_no=f"ORD-{i}", bill_amount=Decimal("500")))
    wins = [r for r in results if isinstance(r, Coupon)]
    losses = [r for r in results if isinstance(r, Conflict) and r.code == "coupon_used"]
    assert len(wins) == 1 and len(losses) == 4, results
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED and coupon.used_order_no == wins[0].used_order_no


# ---------------------------------------------------------------- (c) cash offset


def test_offset_quote_is_min_of_spendable_and_tier_cap():
    """PTS-6c: cap% of the bill (per tier) × points per yuan, never more than spendable."""
    member = MemberFactory()  # normal tier: 50 %
    give(member, 3000)
    q = redemption.offset_quote(member=member, bill_amount=Decimal("100.00"))
    assert (q.cap_percent, q.cap_amount, q.max_points, q.max_amount) == (50, Decimal("50.00"), 3000, Decimal("30.00"))
    q = redemption.offset_quote(member=member, bill_amount=Decimal("40.00"))
    assert q.max_points == 2000 and q.max_amount == Decimal("20.00")
    Tier.objects.filter(code="normal").update(offset_cap_percent=10)
    member.refresh_from_db()
    assert redemption.offset_quote(member=member, bill_amount=Decimal("100.00")).max_points == 1000


def test_offset_over_cap_or_spendable_refused_with_reason():
    """PTS-6c / PTS-9: a redemption never overdraws and never passes the cap."""
    member, store = MemberFactory(), StoreFactory()
    give(member, 3000)
    with pytest.raises(PointsError) as exc:
        redemption.offset_commit(member=member, store=store, order_no="O1", points=5001, bill_amount=Decimal("100"))
    assert exc.value.code == "offset_over_cap" and "points" in exc.value.fields
    with pytest.raises(InsufficientPoints):
        redemption.offset_commit(member=member, store=store, order_no="O1", points=3001, bill_amount=Decimal("1000"))
    assert balance(member) == 3000 and not Offset.objects.exists()


def test_offset_commit_retry_returns_same_and_other_points_conflict():
    """PTS-6c: idempotent on (store, order number); yuan floored to cents."""
    member, store = MemberFactory(), StoreFactory()
    give(member, 3000)
    offset, created = redemption.offset_commit(member=member, store=store, order_no="O1", points=2550,
                                               bill_amount=Decimal("100"))
    assert created and offset.amount == Decimal("25.50") and balance(member) == 450
    again, created_again = redemption.offset_commit(member=member, store=store, order_no="O1", points=2550,
                                                    bill_amount=Decimal("100"))
    assert not created_again and again.pk == offset.pk and balance(member) == 450
    with pytest.raises(IdempotencyConflict):
        redemption.offset_commit(member=member, store=store, order_no="O1", points=100, bill_amount=Decimal("100"))
    assert offset.entry.idem_key == f"offset:{store.pk}:O1"
    assert not reconcile()


def test_offset_amount_floors_to_cents_at_other_rates():
    member, store = MemberFactory(), StoreFactory()
    give(member, 1000)
    PointsConfig.objects.filter(pk=1).update(offset_points_per_yuan=150)
    PointsConfig.get()  # the row exists
    offset, _ = redemption.offset_commit(member=member, store=store, order_no="O9", points=100,
                                         bill_amount=Decimal("10"))
    assert offset.amount == Decimal("0.66")  # 100 / 150 = 0.666…


def test_offset_cancel_credits_back_once():
    """PTS-6c: the till voids the sale; points come back once (a new lot)."""
    member, store = MemberFactory(), StoreFactory()
    give(member, 1000)
    redemption.offset_commit(member=member, store=store, order_no="O1", points=500, bill_amount=Decimal("100"))
    cancelled = redemption.offset_cancel(store=store, order_no="O1")
    redemption.offset_cancel(store=store, order_no="O1")
    assert cancelled.status == Offset.Status.CANCELLED and balance(member) == 1000
    assert Entry.objects.filter(idem_key__startswith=f"offset-cancel:{cancelled.pk}:").count() == 1
    with pytest.raises(NotFound):
        redemption.offset_cancel(store=store, order_no="NOPE")
    assert not reconcile()


def test_suspended_member_cannot_offset():
    member, store = MemberFactory(), StoreFactory()
    give(member, 1000)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    member.refresh_from_db()
    assert redemption.offset_quote(member=member, bill_amount=Decimal("100")).max_points == 0
    with pytest.raises(MemberCannotTransact):
        redemption.offset_commit(member=member, store=store, order_no="O1", points=10, bill_amount=Decimal("100"))


# ---------------------------------------------------------------- (d) lottery


def make_lottery(cost=100, **kw) -> Lottery:
    now = timezone.now()
    return Lottery.objects.create(name="周年庆抽奖", points_cost=cost, starts_at=now - dt.timedelta(days=1),
                                  ends_at=now + dt.timedelta(days=1), **kw)


def test_draw_spends_cost_grants_prize_and_records_random_value():
    """PTS-6d: points prize credited, everything recorded for audit."""
    member = MemberFactory()
    give(member, 1000)
    lottery = make_lottery(cost=100)
    prize = Prize.objects.create(lottery=lottery, name="500积分", kind=Prize.Kind.POINTS, points=500, weight=1, stock=3)
    draw, created = redemption.lottery_draw(member=member, lottery=lottery, request_id="d1")
    assert created and draw.prize == prize and draw.points_spent == 100
    assert Decimal(0) <= draw.random_value < Decimal(1) and draw.weights[0]["prize"] == prize.pk
    assert draw.entry.points == -100 and draw.prize_entry.points == 500 and balance(member) == 1400
    prize.refresh_from_db()
    assert prize.stock == 2
    again, created_again = redemption.lottery_draw(member=member, lottery=lottery, request_id="d1")
    assert not created_again and again.pk == draw.pk and balance(member) == 1400
    assert not reconcile()


def test_draw_grants_coupon_gift_or_nothing():
    member = MemberFactory()
    give(member, 1000)
    ctype = make_coupon_type(points_cost=0)
    gift = make_gift(stock=1)
    kinds = [(Prize.Kind.COUPON, {"coupon_type": ctype}), (Prize.Kind.GIFT, {"gift": gift}),
             (Prize.Kind.NOTHING, {})]
    for i, (kind, extra) in enumerate(kinds):
        lottery = make_lottery(cost=100)
        Prize.objects.create(lottery=lottery, name=kind, kind=kind, weight=1, stock=1, **extra)
        draw, _ = redemption.lottery_draw(member=member, lottery=lottery, request_id=f"k{i}")
        if kind == Prize.Kind.COUPON:
            assert draw.coupon.source == Coupon.Source.LOTTERY and draw.coupon.member == member
        elif kind == Prize.Kind.GIFT:
            assert draw.gift_order.points == 0 and draw.gift_order.store == member.home_store
            gift.refresh_from_db()
            assert gift.stock == 0
        else:
            assert draw.coupon is None and draw.gift_order is None and draw.prize_entry is None
    assert balance(member) == 700 and not reconcile()


def test_draw_only_among_prizes_in_stock_and_sold_out_refused_without_charge():
    """PTS-6d: prizes with no stock are never drawn."""
    member = MemberFactory()
    give(member, 1000)
    lottery = make_lottery()
    Prize.objects.create(lottery=lottery, name="大奖", kind=Prize.Kind.POINTS, points=9999, weight=1000, stock=0)
    small = Prize.objects.create(lottery=lottery, name="小奖", kind=Prize.Kind.POINTS, points=10, weight=1, stock=2)
    for i in range(2):
        draw, _ = redemption.lottery_draw(member=member, lottery=lottery, request_id=f"s{i}")
        assert draw.prize == small
    with pytest.raises(Conflict) as exc:
        redemption.lottery_draw(member=member, lottery=lottery, request_id="s9")
    assert exc.value.code == "lottery_sold_out" and balance(member) == 1000 - 200 + 20


def test_draw_refused_when_closed_or_short_of_points():
    member = MemberFactory()
    give(member, 50)
    lottery = make_lottery(cost=100)
    Prize.objects.create(lottery=lottery, name="谢谢", kind=Prize.Kind.NOTHING, weight=1)
    with pytest.raises(InsufficientPoints):
        redemption.lottery_draw(member=member, lottery=lottery, request_id="x1")
    lottery.is_active = False
    lottery.save()
    with pytest.raises(Conflict) as exc:
        redemption.lottery_draw(member=member, lottery=lottery, request_id="x2")
    assert exc.value.code == "lottery_closed" and not Draw.objects.exists() and balance(member) == 50


def test_draw_weights_pick_by_cumulative_weight():
    lottery = make_lottery()
    a = Prize(lottery=lottery, name="a", kind="nothing", weight=1)
    b = Prize(lottery=lottery, name="b", kind="nothing", weight=3)
    assert redemption._pick([a, b], 0.0) is a and redemption._pick([a, b], 0.2499) is a
    assert redemption._pick([a, b], 0.25) is b and redemption._pick([a, b], 0.9999) is b


@pytest.mark.django_db(transaction=True)
def test_lottery_stock_never_oversold_under_concurrency():
    """PTS-6d: prize rows are locked; 8 concurrent draws for 3 prizes give at most 3 of them."""
    lottery = make_lottery(cost=10)
    prize = Prize.objects.create(lottery=lottery, name="iPad", kind=Prize.Kind.POINTS, points=1, weight=1, stock=3)
    members = [MemberFactory() for _ in range(8)]
    for m in members:
        give(m, 100)
    results = run_concurrently(8, lambda i: redemption.lottery_draw(member=members[i], lottery=lottery,
                                                                    request_id=f"t{i}"))
    wins = [r for r in results if isinstance(r, tuple)]
    losses = [r for r in results if isinstance(r, Conflict) and r.code == "lottery_sold_out"]
    assert len(wins) == 3 and len(losses) == 5, results
    prize.refresh_from_db()
    assert prize.stock == 0 and Draw.objects.filter(prize=prize).count() == 3
    assert sum(balance(m) for m in members) == 800 - 3 * 10 + 3
    assert not reconcile()


def test_purchase_points_can_be_redeemed():
    """End to end: a till purchase earns points that then pay for a gift."""
    member, store = MemberFactory(), StoreFactory()
    buy(member, store, "600.00", order_no="P1")
    order, _ = redemption.gift_order_place(member=member, gift=make_gift(), quantity=1, store=store, request_id="e")
    assert order.points == 500 and balance(member) == 100 and not reconcile()


def test_draw_skips_coupon_prizes_whose_type_is_all_issued():
    """PTS-6d: a coupon prize counts as out of stock when its coupon type reached its issue limit."""
    member = MemberFactory()
    give(member, 1000)
    ctype = make_coupon_type(points_cost=0, issue_limit=1, issued_count=1)
    lottery = make_lottery()
    Prize.objects.create(lottery=lottery, name="券", kind=Prize.Kind.COUPON, coupon_type=ctype, weight=1000)
    nothing = Prize.objects.create(lottery=lottery, name="谢谢", kind=Prize.Kind.NOTHING, weight=1)
    draw, _ = redemption.lottery_draw(member=member, lottery=lottery, request_id="q1")
    assert draw.prize == nothing and [w["prize"] for w in draw.weights] == [nothing.pk]


def test_points_given_back_keep_the_expiry_of_what_was_spent():
    """PTS-4: a cancelled gift order does not extend the validity of the points it returns."""
    import datetime as dt

    from django.db import transaction as tx
    from django.utils import timezone as tz

    from points.models import Gift, Lot
    from points.services.ledger import Source, credit
    from points.services.redemption import gift_order_cancel, gift_order_place
    from tests.factories import MemberFactory, StoreFactory

    member, store = MemberFactory(), StoreFactory()
    earned = tz.localdate() - dt.timedelta(days=600)
    with tx.atomic():
        lot_entry = credit(member=member, points=500, idem_key="old-lot", source=Source(), earned_on=earned)
    original_expiry = Lot.objects.get(entry=lot_entry).expires_on
    gift = Gift.objects.create(name="保温杯", points_cost=300, stock=5, valid_from=tz.now() - dt.timedelta(days=1),
                               valid_to=tz.now() + dt.timedelta(days=30))
    order, _created = gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="keep-expiry")
    order = gift_order_cancel(order=order)
    assert Lot.objects.get(entry=order.return_entry).expires_on == original_expiry
