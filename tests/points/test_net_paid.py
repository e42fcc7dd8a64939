"""One definition of "amount actually paid, net of refunds" (issue 14; points.net_paid): the Python form,
the SQL form and every consumer (tier rolling amount, RFM monetary, closeness amount, the dashboards' daily
amount and the consumption cube) give the same figure for one bill paid partly by coupon and points offset
and refunded twice in part; and no module but the owner spells the formula itself."""
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.jobs import consumption_cube_for, dashboard_daily_for
from dashboards.models import ConsumptionCube, DailyStoreStats
from evaluation.closeness import closeness_compute
from evaluation.models import ClosenessSnapshot, RfmSnapshot
from evaluation.rfm import rfm_compute
from points.net_paid import net_paid, net_paid_sql
from points.selectors import net_paid_for_member, net_paid_for_purchase
from points.services import redemption
from points.services.ledger import Source, credit
from points.services.purchases import refund_post
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy
from tiers.selectors import tier_rolling_for_member, window_bounds

D = dt.date(2026, 11, 20)
ROOT = Path(__file__).resolve().parents[2]


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_net_paid_is_paid_share_of_what_the_bill_keeps():
    """Bill 100, paid 80 (coupon 20), refunded 50: net paid 40 (not 80 − 50 = 30); never negative."""
    assert net_paid(amount_paid=Decimal("80.00"), amount_total=Decimal("100.00"), refunded=Decimal("50.00")) == Decimal("40.00")
    assert net_paid(amount_paid=Decimal("80.00"), amount_total=Decimal("100.00"), refunded=None) == Decimal("80.00")
    assert net_paid(amount_paid=Decimal("80.00"), amount_total=Decimal("100.00"), refunded=Decimal("100.00")) == 0
    assert net_paid(amount_paid=Decimal("0.00"), amount_total=Decimal("0.00"), refunded=Decimal("0.00")) == 0
    # rounded once, to the cent, half up: 1 × 7/8 = 0.875 → 0.88
    assert net_paid(amount_paid=Decimal("1.00"), amount_total=Decimal("8.00"), refunded=Decimal("1.00")) == Decimal("0.88")


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**9), st.data())
def test_sql_form_equals_python_form(total_cents, data):
    paid_cents = data.draw(st.integers(0, total_cents))
    refunded_cents = data.draw(st.one_of(st.none(), st.integers(0, total_cents)))
    total, paid = Decimal(total_cents) / 100, Decimal(paid_cents) / 100
    refunded = None if refunded_cents is None else Decimal(refunded_cents) / 100
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {net_paid_sql(refunded='p.refunded')} "
                       "FROM (SELECT %s::numeric(12,2) AS amount_paid, %s::numeric(12,2) AS amount_total, "
                       "%s::numeric(12,2) AS refunded) p", [paid, total, refunded])
        (sql,) = cursor.fetchone()
    assert sql == net_paid(amount_paid=paid, amount_total=total, refunded=refunded)


@pytest.mark.django_db
@pytest.mark.pinned_at("2026-11-22T12:00+08:00")
def test_every_consumer_agrees_on_one_bill_with_coupon_offset_and_two_partial_refunds():
    """Bill 1,000.00 = points offset 100.00 (10,000 points) + coupon 50.00 + wechat 850.00, refunded
    333.33 and 111.11 on the day: net paid = 850 × (1,000 − 444.44) / 1,000 = 472.226 → 472.23
    (the old cube said 850 − 444.44 = 405.56). A third refund the next day counts for figures "as of" the
    next day and after, never for the day's."""
    member, store = MemberFactory(), StoreFactory()
    with transaction.atomic():
        credit(member=member, points=20000, idem_key=f"seed:np:{member.pk}", source=Source(reason="seed"),
               expires_on=D + dt.timedelta(days=400))
    offset, _ = redemption.offset_commit(member=member, store=store, order_no="NP-1", points=10000,
                                         bill_amount=Decimal("1000.00"))
    assert offset.amount == Decimal("100.00")
    purchase = buy(member, store, "1000.00", order_no="NP-1", at=at(D, 10), tenders=[
        {"type": "points", "amount": "100.00"}, {"type": "coupon", "amount": "50.00"},
        {"type": "wechat", "amount": "850.00"}])
    assert purchase.amount_paid == Decimal("850.00")
    for no, amount, hour in (("NP-R1", "333.33", 15), ("NP-R2", "111.11", 16)):
        refund_post(store=store, refund_no=no, purchase=purchase, amount=Decimal(amount), occurred_at=at(D, hour))
    purchase.refresh_from_db()
    expected = Decimal("472.23")
    start, end = window_bounds(D)

    assert net_paid_for_purchase(purchase=purchase) == expected
    assert net_paid_for_member(member=member, start=start, end=end) == expected
    assert tier_rolling_for_member(member=member, day=D).amount == expected
    rfm_compute(as_of=D)
    assert RfmSnapshot.objects.get(member=member, as_of=D).monetary == expected
    closeness_compute(as_of=D)
    assert ClosenessSnapshot.objects.get(member=member, as_of=D).amount == expected
    dashboard_daily_for(D)
    assert sum(s.amount for s in DailyStoreStats.objects.filter(date=D, store=store)) == expected
    consumption_cube_for(f"{D:%Y-%m}")
    cube = ConsumptionCube.objects.get(period=f"{D:%Y-%m}", store=store, tag__isnull=True, dimension="total")
    assert cube.amount == expected

    # a refund the next day: current figures move, figures as of D stay
    refund_post(store=store, refund_no="NP-R3", purchase=purchase, amount=Decimal("100.00"),
                occurred_at=at(D + dt.timedelta(days=1), 10))
    purchase.refresh_from_db()
    later = Decimal("387.23")  # 850 × 455.56 / 1000 = 387.226
    end_of_d = at(D + dt.timedelta(days=1), 0)
    assert net_paid_for_purchase(purchase=purchase) == later
    assert net_paid_for_purchase(purchase=purchase, refunds_before=end_of_d) == expected
    assert net_paid_for_member(member=member, start=start, end=end, refunds_before=end_of_d) == expected
    assert tier_rolling_for_member(member=member, day=D + dt.timedelta(days=1)).amount == later
    rfm_compute(as_of=D)
    assert RfmSnapshot.objects.get(member=member, as_of=D).monetary == expected
    rfm_compute(as_of=D + dt.timedelta(days=1))
    assert RfmSnapshot.objects.get(member=member, as_of=D + dt.timedelta(days=1)).monetary == later
    dashboard_daily_for(D)
    assert sum(s.amount for s in DailyStoreStats.objects.filter(date=D, store=store)) == expected
    consumption_cube_for(f"{D:%Y-%m}")
    cube = ConsumptionCube.objects.get(period=f"{D:%Y-%m}", store=store, tag__isnull=True, dimension="total")
    assert cube.amount == later


# Spellings of the formula or a module's own copy of the fragment.
_OWN_FORMULA = [
    re.compile(r"amount_paid\s*-\s*\w*\.?amount_refunded"),
    re.compile(r"^\s*NET_PAID_SQL\s*=", re.M),
    re.compile(r"amount_paid\s*\*\s*\w*\.?(amount_refunded|amount)\s*/\s*\w*\.?amount_total"),
]
_OWNER = ROOT / "points" / "net_paid.py"


def test_no_module_but_points_net_paid_defines_net_paid():
    """One figure, one definition: tiers, evaluation and dashboards take points.net_paid (directly or,
    below points, through core.figures); none keeps its own copy. bench/ is not scanned: its "floor"
    queries are deliberately bare scans to time a job against, not figures anyone reads."""
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "bench", "node_modules"} or "migrations" in rel.parts or path == _OWNER:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{rel}: {m.group(0)!r}" for rx in _OWN_FORMULA for m in rx.finditer(text)]
    assert offenders == []
