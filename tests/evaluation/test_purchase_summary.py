"""The per-member purchase summary (issue 17): RFM, closeness, lifecycle and the tier evaluation read it
instead of points_purchase and must give exactly what the purchase scan gives (`source="purchases"`),
on data with coupons and the points offset (paid < bill), partial and full refunds before and after the
as-of instant, members without purchases, a bill of 0, member-less sales, and purchases on the local
(Asia/Shanghai) day, month and window boundaries. The incremental refresh must equal a full build
after every kind of change (post, refund, claim, held release), and a crash mid-refresh changes nothing."""
import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from evaluation import purchase_summary
from evaluation.closeness import closeness_compute
from evaluation.lifecycle import lifecycle_compute
from evaluation.models import (
    ClosenessSnapshot,
    LifecycleSnapshot,
    PurchaseDay,
    PurchaseMonth,
    PurchaseSummaryMark,
    RfmSnapshot,
)
from evaluation.purchase_summary import purchase_summary_refresh, window_params
from evaluation.rfm import rfm_compute
from members.models import Member
from points.models import Purchase, Refund
from tests.factories import MemberFactory, StoreFactory
from tiers.selectors import tier_rolling_by_member
from tiers.services import tier_evaluation_candidates

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-07-01T00:40+08:00")]

AS_OF = dt.date(2026, 6, 30)  # the night of 1 July evaluates 30 June
_n = itertools.count(1)


def at(day: dt.date, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute, second)))


def buy(member, when: dt.datetime, paid, *, total=None, store=None) -> Purchase:
    """A purchase as the till leaves it (paid < bill: a coupon or the points offset paid the rest)."""
    n = next(_n)
    return Purchase.objects.create(
        store=store or (member.home_store if member else StoreFactory()), order_no=f"S{n}", member=member,
        occurred_at=when, amount_total=Decimal(str(total if total is not None else paid)),
        amount_paid=Decimal(str(paid)), request_hash=f"h{n}", source="till", changed_at=timezone.now())


def give_back(p: Purchase, amount, when: dt.datetime) -> Refund:
    """A refund as refund_post leaves it: the refund row, amount_refunded and changed_at together."""
    amount = Decimal(str(amount))
    n = next(_n)
    p.refresh_from_db()
    Purchase.objects.filter(pk=p.pk).update(amount_refunded=p.amount_refunded + amount, changed_at=timezone.now())
    return Refund.objects.create(purchase=p, refund_no=f"R{n}", store=p.store, amount=amount, occurred_at=when,
                                 request_hash=f"r{n}")


def joined(member, day: dt.date):
    Member.objects.filter(pk=member.pk).update(created_at=at(day, 9))
    return member


@pytest.fixture
def data(db):
    store = StoreFactory()
    m = {k: joined(MemberFactory(home_store=store), dt.date(2024, 1, 15)) for k in "abcdefghij"}
    joined(m["j"], AS_OF - dt.timedelta(days=3))  # new
    d = AS_OF
    # a: coupon bill 100 paid 80 refunded 50 before the end (net 40); a refund after the end of D (ignored
    # as of D, counted by the tiers' current refunds); the last purchase at 23:59:59 on D.
    p = buy(m["a"], at(d - dt.timedelta(days=40)), 80, total=100)
    give_back(p, 50, at(d - dt.timedelta(days=39)))
    late = buy(m["a"], at(d - dt.timedelta(days=5)), 200, total=250)
    give_back(late, 30, at(d + dt.timedelta(days=1), 0, 20))
    buy(m["a"], at(d, 23, 59, 59), 99.99)
    # b: refunded in full after the end of D: a purchase as of D, not for the tier engine now.
    full_late = buy(m["b"], at(d - dt.timedelta(days=2)), 300)
    give_back(full_late, 300, at(d + dt.timedelta(days=1), 0, 10))
    buy(m["b"], at(d - dt.timedelta(days=200)), 45.5)
    # c: window and month edges in local time: 00:00 on the first day of the year (in), 23:59 the day
    # before (out, previous year), month end / month start, 00:00 of D+1 (out).
    first = d - dt.timedelta(days=364)
    buy(m["c"], at(first, 0, 0), 10)
    buy(m["c"], at(first - dt.timedelta(days=1), 23, 59, 59), 20)
    buy(m["c"], at(dt.date(2026, 5, 31), 23, 59, 59), 30)
    buy(m["c"], at(dt.date(2026, 6, 1), 0, 0), 40)
    buy(m["c"], at(d + dt.timedelta(days=1), 0, 0), 5000)
    # d: several purchases a day (one visit a day), one refunded in part with rounding (paid 33.33 of 50).
    for h in (9, 13, 20):
        buy(m["d"], at(d - dt.timedelta(days=10), h), 120)
    odd = buy(m["d"], at(d - dt.timedelta(days=11)), 33.33, total=50)
    give_back(odd, 17.01, at(d - dt.timedelta(days=11), 18))
    # e: only a purchase refunded in full before the end: no purchase at all.
    gone = buy(m["e"], at(d - dt.timedelta(days=3)), 80)
    give_back(gone, 80, at(d - dt.timedelta(days=3), 15))
    # f: a bill of 0 (all paid by coupon): an RFM purchase, not a tier visit; and the previous year.
    buy(m["f"], at(d - dt.timedelta(days=60)), 0, total=0)
    buy(m["f"], at(d - dt.timedelta(days=500)), 700)
    # g: previous year only (closeness amount change), at risk / lapsed for lifecycle.
    buy(m["g"], at(d - dt.timedelta(days=400)), 900, total=1000)
    buy(m["g"], at(d - dt.timedelta(days=120)), 60)
    # h: big spender (tier upgrade candidate) across months; i: no purchase; j: new, one purchase.
    for k in range(12):
        buy(m["h"], at(d - dt.timedelta(days=15 + 28 * k), 11), 2500, total=2600)
    buy(m["j"], at(d - dt.timedelta(days=1)), 15)
    buy(None, at(d - dt.timedelta(days=4)), 500)  # a sale without a member card
    return m


def _rows(model, as_of, *fields):
    return sorted(model.objects.filter(as_of=as_of).values_list("member_id", *fields))


RFM_FIELDS = ("window_days", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_class",
              "store_id", "tier_id")
CLOSENESS_FIELDS = ("amount", "amount_previous", "frequency", "responses", "events", "referrals", "score",
                    "percentile", "store_id", "tier_id")
LIFECYCLE_FIELDS = ("stage", "days_since_purchase", "store_id", "tier_id")


def both_ways(as_of: dt.date, *, window_days: int = 365) -> dict:
    """Every job computed from the purchases and from the summary, on the same data."""
    out = {}
    for source in ("purchases", "summary"):
        rfm_compute(as_of=as_of, window_days=window_days, source=source)
        rfm = _rows(RfmSnapshot, as_of, *RFM_FIELDS)
        closeness_compute(as_of=as_of, source=source)
        closeness = _rows(ClosenessSnapshot, as_of, *CLOSENESS_FIELDS)
        lifecycle_compute(as_of=as_of, source=source)
        lifecycle = _rows(LifecycleSnapshot, as_of, *LIFECYCLE_FIELDS)
        rolling = tier_rolling_by_member(day=as_of, source=source)
        candidates = tier_evaluation_candidates(day=as_of, source=source)
        out[source] = {"rfm": rfm, "closeness": closeness, "lifecycle": lifecycle, "rolling": rolling,
                       "candidates": candidates}
    return out


def assert_same(as_of: dt.date, **kw) -> dict:
    got = both_ways(as_of, **kw)
    for job in ("rfm", "closeness", "lifecycle", "rolling", "candidates"):
        assert got["summary"][job] == got["purchases"][job], job
    return got["summary"]


def test_every_job_equals_the_purchase_scan(data):
    got = assert_same(AS_OF)
    m = data
    rfm = {r[0]: r for r in got["rfm"]}
    # The figures the edges and refunds decide, worked out by hand (R, F, M):
    assert rfm[m["a"].pk][2:5] == (0, 3, Decimal("339.99"))  # 40 + 200 (refund after D ignored) + 99.99
    assert rfm[m["b"].pk][2:5] == (2, 2, Decimal("345.50"))  # refunded in full only after D: still bought
    assert rfm[m["c"].pk][2:5] == (29, 3, Decimal("80.00"))  # 10 + 30 + 40 (last 1 June); 20, 5000 outside
    assert rfm[m["d"].pk][2:5] == (10, 4, Decimal("381.99"))  # 3 × 120 + round(33.33 × 32.99 / 50) = 21.99
    assert rfm[m["f"].pk][2:5] == (60, 1, Decimal("0.00"))  # the bill of 0 is a purchase
    assert m["e"].pk not in rfm and m["i"].pk not in rfm
    rolling = got["rolling"]
    assert rolling[m["a"].pk].amount == Decimal("40.00") + Decimal("176.00") + Decimal("99.99")  # 200 × 220/250
    assert rolling[m["b"].pk].amount == Decimal("45.50") and rolling[m["b"].pk].visits == 1
    assert rolling[m["d"].pk].visits == 2 and m["f"].pk not in rolling  # the bill of 0: no visit
    stages = {r[0]: r[1] for r in got["lifecycle"]}
    assert stages[m["j"].pk] == "new" and stages[m["i"].pk] == "lapsed"
    assert any(c[0] == m["h"].pk for c in got["candidates"])


@pytest.mark.parametrize("as_of", [dt.date(2026, 5, 31), dt.date(2026, 6, 1), dt.date(2026, 2, 28),
                                   dt.date(2025, 12, 31), dt.date(2026, 1, 1)])
def test_equal_on_month_and_year_boundaries(data, as_of):
    assert_same(as_of)


@pytest.mark.parametrize("window_days", [1, 10, 31, 45, 3660])
def test_equal_for_short_and_long_rfm_windows(data, window_days):
    """A window with no whole month inside reads only day rows; a long one mostly month rows."""
    assert_same(AS_OF, window_days=window_days)


def test_window_params_split_whole_months_and_edges():
    assert window_params("w", dt.date(2025, 7, 1), dt.date(2026, 6, 30)) == {
        "w_first": dt.date(2025, 7, 1), "w_mfirst": dt.date(2025, 7, 1), "w_mend": dt.date(2026, 7, 1),
        "w_last": dt.date(2026, 6, 30)}
    assert window_params("w", dt.date(2025, 7, 2), dt.date(2026, 6, 29)) == {
        "w_first": dt.date(2025, 7, 2), "w_mfirst": dt.date(2025, 8, 1), "w_mend": dt.date(2026, 6, 1),
        "w_last": dt.date(2026, 6, 29)}
    # No whole month inside: everything from the day rows.
    assert window_params("w", dt.date(2026, 6, 5), dt.date(2026, 6, 20))["w_mfirst"] == dt.date(2026, 6, 21)


def _summary():
    return (sorted(PurchaseDay.objects.values_list("member_id", "day", "orders", "billed_orders", "net_paid")),
            sorted(PurchaseMonth.objects.values_list("member_id", "month", "orders", "billed_orders", "net_paid",
                                                     "visit_days", "first_day", "last_day")))


def _assert_incremental_equals_full_build():
    purchase_summary_refresh()
    incremental = _summary()
    purchase_summary_refresh(rebuild=True)
    assert _summary() == incremental


def test_incremental_refresh_equals_a_full_build_after_each_kind_of_change(data, pinned_instant):
    m = data
    built = purchase_summary_refresh()
    assert built.built and built.cells == PurchaseDay.objects.count()
    assert purchase_summary_refresh().built is False  # the second run refreshes
    pinned_instant.shift(dt.timedelta(hours=20))
    # a new purchase, a partial and a full refund of older purchases, on a day with other purchases
    p = buy(m["i"], at(AS_OF - dt.timedelta(days=30)), 88, total=100)
    give_back(Purchase.objects.filter(member=m["d"]).order_by("id").first(), 20, timezone.now())
    give_back(Purchase.objects.filter(member=m["g"]).order_by("-id").first(), 60, timezone.now())
    _assert_incremental_equals_full_build()
    pinned_instant.shift(dt.timedelta(hours=20))
    # a claim: the member-less sale is assigned to a member (changed_at set by points_claim)
    Purchase.objects.filter(member__isnull=True).update(member=m["e"], changed_at=timezone.now())
    _assert_incremental_equals_full_build()
    pinned_instant.shift(dt.timedelta(hours=20))
    # a rejected sign-up: its held sale leaves the member (the review updates the member)
    Purchase.objects.filter(pk=p.pk).update(member=None, changed_at=timezone.now())
    Member.objects.filter(pk=m["i"].pk).update(updated_at=timezone.now())
    _assert_incremental_equals_full_build()
    assert not PurchaseDay.objects.filter(member=m["i"]).exists()
    assert_same(AS_OF)


def test_refresh_is_idempotent(data):
    purchase_summary_refresh()
    first = _summary()
    again = purchase_summary_refresh()
    assert again.built is False
    assert _summary() == first
    # the jobs re-run give the same snapshots
    rfm_compute(as_of=AS_OF)
    rows = _rows(RfmSnapshot, AS_OF, *RFM_FIELDS)
    rfm_compute(as_of=AS_OF)
    assert _rows(RfmSnapshot, AS_OF, *RFM_FIELDS) == rows


def test_a_crash_mid_refresh_leaves_summary_and_watermark_as_they_were(data, pinned_instant, monkeypatch):
    purchase_summary_refresh()
    before = _summary()
    mark = PurchaseSummaryMark.objects.get().changes_since
    pinned_instant.shift(dt.timedelta(hours=3))
    buy(data["i"], at(AS_OF - dt.timedelta(days=7)), 55)
    give_back(Purchase.objects.filter(member=data["a"]).order_by("id").last(), 10, timezone.now())
    real = purchase_summary._refresh_sqls

    def crashing():
        sqls = real()
        # fail after the day rows were deleted and re-inserted, before the months
        return [*sqls[:5], "SELECT 1 / 0"]

    monkeypatch.setattr(purchase_summary, "_refresh_sqls", crashing)
    with pytest.raises(Exception, match="division by zero"):
        purchase_summary_refresh()
    assert _summary() == before
    assert PurchaseSummaryMark.objects.get().changes_since == mark
    monkeypatch.setattr(purchase_summary, "_refresh_sqls", real)
    _assert_incremental_equals_full_build()
    assert_same(AS_OF)


def test_the_jobs_read_the_summary_tables(data):
    """The summary path reads points_purchase only for the refresh (by changed_at) and the few
    purchases with a refund after the as-of instant, never the window's purchases."""
    purchase_summary_refresh()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + purchase_summary.as_of_window_sql("w", start="start", stop="end"),
                       {**window_params("w", AS_OF - dt.timedelta(days=364), AS_OF),
                        "start": at(AS_OF - dt.timedelta(days=364), 0), "end": at(AS_OF + dt.timedelta(days=1), 0)})
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "evaluation_purchasemonth" in plan and "evaluation_purchaseday" in plan


@pytest.mark.django_db(transaction=True)
def test_a_refresh_rereads_only_what_the_previous_one_could_not_see():
    """Within the margin a refresh skips rows whose writer had committed before the previous refresh's
    snapshot, and still finds a transaction that was open across it and committed afterwards."""
    import psycopg
    from django.db import connection as django_connection

    store = StoreFactory()
    m = MemberFactory(home_store=store)
    for n in range(1, 4):
        buy(m, at(AS_OF - dt.timedelta(days=n)), 10)
    assert purchase_summary_refresh().built
    assert purchase_summary_refresh().cells == 0
    buy(m, at(AS_OF - dt.timedelta(days=5)), 10)
    assert purchase_summary_refresh().cells == 1
    assert purchase_summary_refresh().cells == 0
    late = psycopg.connect(**django_connection.get_connection_params())
    try:
        late.execute("""INSERT INTO points_purchase (store_id, order_no, member_id, occurred_at, amount_total,
                            amount_paid, amount_refunded, points_earned, points_reversed, lines, tenders, campaigns,
                            request_hash, source, created_at, changed_at, points_held)
                        VALUES (%s, 'LATE', %s, %s, 10, 10, 0, 0, 0, '[]', '[]', '[]', 'h', 'till', now(), %s, 0)""",
                     [store.pk, m.pk, at(AS_OF - dt.timedelta(days=7)), timezone.now()])
        assert purchase_summary_refresh().cells == 0  # not committed yet: invisible
        late.commit()
    finally:
        late.close()
    assert purchase_summary_refresh().cells == 1
    assert PurchaseDay.objects.filter(member=m).count() == 5
    incremental = _summary()
    purchase_summary_refresh(rebuild=True)
    assert _summary() == incremental


def test_the_command_refreshes_and_rebuilds(data):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("refresh_purchase_summary", stdout=out)
    assert "built" in out.getvalue()
    before = _summary()
    call_command("refresh_purchase_summary", "--rebuild", stdout=out)
    assert _summary() == before and out.getvalue().count("built") == 2
