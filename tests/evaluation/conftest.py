import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Tier
from points.models import Purchase, Refund

_orders = itertools.count(1)

AS_OF = dt.date(2026, 6, 30)


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """Local (Asia/Shanghai) time on a day."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def purchase(member, day: dt.date, amount, *, hour: int = 12, minute: int = 0, store=None, total=None) -> Purchase:
    """A purchase row as the till or import_transactions leaves it (evaluation reads only the table)."""
    amount = Decimal(str(amount))
    n = next(_orders)
    return Purchase.objects.create(
        store=store or member.home_store, order_no=f"E{n}", member=member, occurred_at=at(day, hour, minute),
        amount_total=Decimal(str(total)) if total is not None else amount, amount_paid=amount,
        request_hash=f"h{n}", source="import",
    )


def refund(p: Purchase, amount, day: dt.date) -> Refund:
    amount = Decimal(str(amount))
    n = next(_orders)
    Purchase.objects.filter(pk=p.pk).update(amount_refunded=p.amount_refunded + amount)
    p.refresh_from_db()
    return Refund.objects.create(purchase=p, refund_no=f"R{n}", store=p.store, amount=amount,
                                 occurred_at=at(day), request_hash=f"r{n}")


def days_before(n: int, day: dt.date = AS_OF) -> dt.date:
    return day - dt.timedelta(days=n)


@pytest.fixture
def tiers(db):
    return {t.code: t for t in Tier.objects.order_by("rank")}
