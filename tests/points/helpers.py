"""Shared helpers for points tests: post a purchase the way a till does."""
import datetime as dt
from decimal import Decimal

from django.utils import timezone

from points.services.purchases import purchase_post


def buy(member, store, amount, *, order_no, at=None, tenders=None, lines=None, **kw):
    amount = Decimal(str(amount))
    lines = lines or [{"brand": "B1", "category": "服装", "amount": str(amount)}]
    tenders = tenders or [{"type": "wechat", "amount": str(amount)}]
    at = at or timezone.now()
    if isinstance(at, dt.date) and not isinstance(at, dt.datetime):
        at = timezone.make_aware(dt.datetime.combine(at, dt.time(12)))
    return purchase_post(store=store, order_no=order_no, member=member, occurred_at=at, lines=lines,
                         tenders=tenders, **kw).purchase
