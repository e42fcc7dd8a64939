"""Row locks of the points app: one function per locked entity, on core.locks (FOR UPDATE OF self,
several rows in primary-key order).

The order services take them in is written down in points.services.redemption (business rows, then
PointsAccount, then lots); these functions only say how each row is locked.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth import get_user_model

from core.locks import lock_many, lock_one, lock_one_or_none

from .models import (
    AbuseCase,
    Adjustment,
    Coupon,
    CouponType,
    DeskPosting,
    Gift,
    GiftOrder,
    Lot,
    Offset,
    PointsAccount,
    PointsClaim,
    Prize,
    Purchase,
)


def account_lock(member_id: int) -> PointsAccount:
    """The member's account row, created on first use, locked."""
    PointsAccount.objects.bulk_create([PointsAccount(member_id=member_id)], ignore_conflicts=True)
    return lock_one(PointsAccount, member_id=member_id)


def account_credit_lock(member_id: int, points: int, *, at) -> PointsAccount:
    """The member's account row with `points` added, locked: one upsert (INSERT … ON CONFLICT DO UPDATE
    … RETURNING) where account_lock + save take three statements. The row lock is the one
    account_lock takes (ON CONFLICT DO UPDATE locks the row), so the lock order is unchanged."""
    from django.db import connection

    table = PointsAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" AS a (member_id, balance, debt, updated_at) VALUES (%s, %s, 0, %s) '
            f"ON CONFLICT (member_id) DO UPDATE SET balance = a.balance + EXCLUDED.balance, "
            f"updated_at = EXCLUDED.updated_at RETURNING a.balance, a.debt",
            [member_id, points, at])
        balance, debt = cursor.fetchone()
    account = PointsAccount(member_id=member_id, balance=balance, debt=debt, updated_at=at)
    account._state.adding = False
    return account


def live_lots_lock(*, member_id: int, today: dt.date, include_pending: bool = False) -> list[Lot]:
    """The member's unexpired lots with points left, locked in id order (take the account first).
    Pending lots (not yet available) only with include_pending."""
    lots = Lot.objects.filter(member_id=member_id, remaining__gt=0, expires_on__gte=today)
    if not include_pending:
        lots = lots.filter(available_on__lte=today)
    return lock_many(lots)


def purchase_lock(purchase_id: int) -> Purchase:
    return lock_one(Purchase, purchase_id)


def adjustment_lock(adjustment_id: int) -> Adjustment:
    """The adjustment locked, with its member fetched (joined, not locked)."""
    return lock_one(Adjustment.objects.select_related("member"), adjustment_id)


def gift_lock(gift_id: int) -> Gift:
    return lock_one(Gift, gift_id)


def gifts_lock(gift_ids: Iterable[int]) -> list[Gift]:
    return lock_many(Gift, gift_ids)


def gift_order_lock(gift_order_id: int) -> GiftOrder:
    return lock_one(GiftOrder, gift_order_id)


def coupon_type_lock(coupon_type_id: int) -> CouponType:
    return lock_one(CouponType, coupon_type_id)


def coupon_types_lock(coupon_type_ids: Iterable[int]) -> list[CouponType]:
    return lock_many(CouponType, coupon_type_ids)


def coupon_lock(coupon_id: int) -> Coupon:
    return lock_one(Coupon, coupon_id)


def coupons_used_on_order_lock(*, store_id: int, order_no: str) -> list[Coupon]:
    """The coupons used on one till order (a full refund reinstates them), locked in id order."""
    return lock_many(Coupon, used_store_id=store_id, used_order_no=order_no, status=Coupon.Status.USED)


def coupon_lock_by_code(code: str) -> Coupon | None:
    """The coupon with this code locked, with its type and member fetched (joined, not locked)."""
    return lock_one_or_none(Coupon.objects.select_related("type", "member"), code=code)


def offset_lock(*, store_id: int, order_no: str) -> Offset | None:
    return lock_one_or_none(Offset, store_id=store_id, order_no=order_no)


def prizes_lock(lottery_id: int) -> list[Prize]:
    """Every prize of the lottery, locked in id order."""
    return lock_many(Prize, lottery_id=lottery_id)


def desk_posting_lock(desk_posting_id: int) -> DeskPosting:
    """The desk posting locked, with its member and store fetched (joined, not locked)."""
    return lock_one(DeskPosting.objects.select_related("member", "store", "requested_by"), desk_posting_id)


def claim_lock(claim_id: int) -> PointsClaim:
    """The points claim locked, with its member and store fetched (joined, not locked)."""
    return lock_one(PointsClaim.objects.select_related("member", "store"), claim_id)


def abuse_case_lock(case_id: int) -> AbuseCase:
    return lock_one(AbuseCase.objects.select_related("member"), case_id)


def clerk_lock(user_id: int):
    """A staff user's row: serialises one clerk's desk postings so the daily cap cannot be raced."""
    return lock_one(get_user_model(), user_id)


def held_purchases_lock(member_id: int) -> list[Purchase]:
    """A pending sign-up's sales still holding points (points.services.held), locked in id order."""
    return lock_many(Purchase, member_id=member_id, points_held__gt=0)
