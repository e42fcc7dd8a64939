"""The consumption cube's nightly refresh folds a day's changes into the facts it already has (issue 14):
a new purchase, a partial or full refund of an old one, a purchase that changes member (a claim, a
released held sale) and a member moving between cells (tier, tag, region) each land where a full
rebuild of the period lands, without re-reading the member's other purchases, and a re-run — or a
crash and a re-run — counts nothing twice."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.jobs import run_job
from core.models import JobRun
from dashboards.jobs import consumption_cube_for, consumption_cube_refresh
from dashboards.models import ConsumptionCounted, ConsumptionCube, ConsumptionFact
from members.models import Member, MemberTag, Tag, Tier
from points.models import Purchase
from points.services.purchases import refund_post
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T03:00+08:00")]

HOURS = dt.timedelta(hours=1)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def state(period: str) -> dict:
    """Everything the refresh keeps for a period: cube cells, facts, counted purchases."""
    return {
        "cube": sorted(ConsumptionCube.objects.filter(period=period).values_list(
            "store_id", "tier_id", "tag_id", "dimension", "bucket", "members", "orders", "amount"),
            key=lambda r: tuple("" if v is None else str(v) for v in r)),
        "facts": sorted((f.member_id, f.store_id, f.tier_id, tuple(f.tag_ids), f.province, f.city, f.gender,
                         f.age_band, f.orders, f.amount, sorted((k, v[0], Decimal(str(v[1]))) for k, v in f.cells.items()))
                        for f in ConsumptionFact.objects.filter(period=period)),
        "counted": sorted(ConsumptionCounted.objects.filter(period=period).values_list(
            "purchase_id", "member_id", "amount")),
    }


def assert_full_build_lands_here(*periods: str) -> None:
    for period in periods:
        merged = state(period)
        consumption_cube_for(period)
        assert state(period) == merged, period


def cell(period: str, dimension: str, bucket: str, **filters) -> tuple[int, int, Decimal] | None:
    rows = ConsumptionCube.objects.filter(period=period, dimension=dimension, bucket=bucket, **filters)
    if "tag" not in filters:
        rows = rows.filter(tag__isnull=True)
    values = [(r.members, r.orders, r.amount) for r in rows]
    if not values:
        return None
    return tuple(sum(v[i] for v in values) for i in range(3))


def nightly(traveller, hours_later: float = 4) -> dict:
    traveller.shift(dt.timedelta(hours=hours_later))
    run = run_job("consumption_cube", date=timezone.localdate())
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run.counts


@pytest.fixture
def shop(db, pinned_instant):
    store = StoreFactory(code="CD1")
    other = StoreFactory(code="CD2")
    alice = MemberFactory(home_store=store, gender="F", birthday=dt.date(1990, 6, 1), province="广东", city="深圳")
    bob = MemberFactory(home_store=store, gender="M", birthday=dt.date(1980, 1, 1), province="浙江", city="杭州")
    big = buy(alice, store, "600", order_no="AUG-1", at=at(dt.date(2026, 8, 14), 10),
              lines=[{"brand": "L", "category": "化妆品", "amount": "400"},
                     {"brand": "L", "category": "服装", "amount": "200"}])
    buy(alice, other, "90", order_no="SEP-1", at=at(dt.date(2026, 9, 2), 18))
    buy(bob, store, "120", order_no="OCT-1", at=at(dt.date(2026, 10, 3)))
    call_command("backfill_consumption_cube")
    nightly(pinned_instant, 2)  # takes in what was written within the margin before the backfill
    pinned_instant.shift(dt.timedelta(hours=18))  # the next day's business
    return {"store": store, "other": other, "alice": alice, "bob": bob, "big": big}


def test_new_purchase_is_added_to_the_members_fact_without_reading_their_year(shop, pinned_instant):
    """Alice buys again in November: her 2026 fact in the store goes from 1 to 2 orders (frequency band
    1 → 2-3, amount band 500-1999 → 500-1999), the new hour, weekday and brand cells appear, and the
    refresh reads purchases only through changed_at, never her August purchase."""
    buy(shop["alice"], shop["store"], "150", order_no="NOV-1", at=timezone.now() - HOURS,
        lines=[{"brand": "N", "category": "鞋包", "amount": "150"}])
    pinned_instant.shift(dt.timedelta(hours=4))
    with CaptureQueriesContext(connection) as queries:
        result = consumption_cube_refresh(timezone.localdate() - dt.timedelta(days=1))
    assert sorted(result["periods_refreshed"]) == ["2026", "2026-11"]
    assert result["members_refreshed"] == 2  # alice's fact in the store, in November and in 2026
    purchase_reads = [q["sql"] for q in queries if "points_purchase" in q["sql"]]
    assert purchase_reads and all("changed_at >=" in sql for sql in purchase_reads)

    fact = ConsumptionFact.objects.get(period="2026", member_id=shop["alice"].pk, store_id=shop["store"].pk)
    assert (fact.orders, fact.amount) == (2, Decimal("750.00"))
    assert cell("2026", "frequency_band", "1") == (2, 2, Decimal("210.00"))  # alice in the other store, bob
    assert cell("2026", "frequency_band", "2-3") == (1, 2, Decimal("750.00"))
    assert cell("2026", "brand", "N") == (1, 1, Decimal("150.00"))
    assert cell("2026", "brand", "L") == (1, 1, Decimal("600.00"))
    assert cell("2026", "total", "all") == (3, 4, Decimal("960.00"))
    assert_full_build_lands_here("2026", "2026-11")


def test_partial_refund_of_an_old_purchase_takes_off_what_was_counted_and_a_full_one_the_order(shop, pinned_instant):
    """A ¥400 refund of August's ¥600 bill counts it at 200 (amount band 500-1999 → 0-499) in August
    and 2026; the brand lines keep their own amounts; the rest of the bill refunded takes the order out."""
    refund_post(store=shop["store"], refund_no="R-1", purchase=shop["big"], amount=Decimal("400"),
                occurred_at=timezone.now() - HOURS)
    result = nightly(pinned_instant)
    assert sorted(result["periods_refreshed"]) == ["2026", "2026-08"]
    assert cell("2026-08", "total", "all") == (1, 1, Decimal("200.00"))
    assert cell("2026-08", "amount_band", "0-499") == (1, 1, Decimal("200.00"))
    assert cell("2026-08", "amount_band", "500-1999") is None
    assert cell("2026-08", "brand", "L") == (1, 1, Decimal("600.00"))
    assert ConsumptionCounted.objects.get(period="2026", purchase_id=shop["big"].pk).amount == Decimal("200.00")
    assert_full_build_lands_here("2026", "2026-08")

    pinned_instant.shift(dt.timedelta(hours=20))
    refund_post(store=shop["store"], refund_no="R-2", purchase=shop["big"], amount=Decimal("200"),
                occurred_at=timezone.now() - HOURS)
    nightly(pinned_instant)
    assert not ConsumptionCube.objects.filter(period="2026-08").exists()
    assert not ConsumptionCounted.objects.filter(purchase_id=shop["big"].pk).exists()
    assert cell("2026", "total", "all") == (2, 2, Decimal("210.00"))
    assert_full_build_lands_here("2026", "2026-08")


def test_purchase_claimed_by_a_member_and_one_released_by_a_rejected_sign_up(shop, pinned_instant):
    """A member-less October sale claimed by bob joins his October fact (1 → 2 orders); bob's own
    October purchase released to nobody (what held_points_settle writes for a rejected sign-up) leaves
    it: the refresh takes the purchase out of the fact it was counted in, found by ConsumptionCounted."""
    from points.services.claims import purchase_assign_member
    from points.services.purchases import purchase_post

    sale = purchase_post(store=shop["store"], order_no="OCT-ANON", member=None,
                         occurred_at=at(dt.date(2026, 10, 5), 20),
                         lines=[{"brand": "Q", "category": "玩具", "amount": "250"}],
                         tenders=[{"type": "wechat", "amount": "250"}]).purchase
    nightly(pinned_instant)  # the member-less sale is seen and counts for nobody
    assert cell("2026-10", "total", "all") == (1, 1, Decimal("120.00"))
    pinned_instant.shift(dt.timedelta(hours=20))
    with transaction.atomic():
        purchase_assign_member(purchase=sale, member=shop["bob"])
    nightly(pinned_instant)
    assert cell("2026-10", "total", "all") == (1, 2, Decimal("370.00"))
    assert cell("2026-10", "brand", "Q") == (1, 1, Decimal("250.00"))
    assert_full_build_lands_here("2026", "2026-10")

    pinned_instant.shift(dt.timedelta(hours=20))
    Purchase.objects.filter(order_no="OCT-1").update(member=None, points_earned=0, changed_at=timezone.now())
    nightly(pinned_instant)
    assert cell("2026-10", "total", "all") == (1, 1, Decimal("250.00"))
    assert cell("2026-10", "brand", "B1") is None
    assert_full_build_lands_here("2026", "2026-10")


def test_tier_tag_and_region_changes_move_the_member_between_cells(shop, pinned_instant):
    """Alice turns gold, gets a tag and moves to 杭州: all her cells leave the old tier, city and
    "no tag" only, and appear under gold, 杭州 and the tag, in every period she has facts in."""
    gold = Tier.objects.get(code="gold")
    tag = Tag.objects.create(name="高潜")
    alice = Member.objects.get(pk=shop["alice"].pk)
    old_tier = alice.tier_id
    alice.tier, alice.city = gold, "杭州"
    alice.save()
    MemberTag.objects.create(member=alice, tag=tag, added_at=timezone.now())
    result = nightly(pinned_instant)
    assert sorted(result["periods_refreshed"]) == ["2026", "2026-08", "2026-09"]
    assert cell("2026", "total", "all", tier=gold) == (2, 2, Decimal("690.00"))  # her fact in each store
    assert cell("2026", "total", "all", tier_id=old_tier) == (1, 1, Decimal("120.00"))  # bob
    assert cell("2026", "city", "深圳") is None
    assert cell("2026", "city", "杭州") == (3, 3, Decimal("810.00"))
    assert cell("2026", "brand", "L", tag=tag) == (1, 1, Decimal("600.00"))
    assert cell("2026-09", "hour", "18", tier=gold, tag=tag) == (1, 1, Decimal("90.00"))
    assert_full_build_lands_here("2026", "2026-08", "2026-09")


def test_a_removed_tag_takes_the_member_out_of_the_tag_cells(shop, pinned_instant):
    """A tag removed at the desk or by the rule-tag job leaves no row behind; the refresh still finds
    the member (tag_remove bumps updated_at) and her cells leave the tag, as a full build has them."""
    from members.services import tag_remove
    from tests.factories import make_staff

    tag = Tag.objects.create(name="高潜")
    MemberTag.objects.create(member=shop["alice"], tag=tag, added_at=timezone.now())
    nightly(pinned_instant)
    assert cell("2026", "brand", "L", tag=tag) == (1, 1, Decimal("600.00"))
    pinned_instant.shift(dt.timedelta(hours=20))
    tag_remove(member=shop["alice"], tag=tag, staff=make_staff(chain_wide=True))
    nightly(pinned_instant)
    assert cell("2026", "brand", "L", tag=tag) is None
    assert cell("2026", "brand", "L") == (1, 1, Decimal("600.00"))
    assert_full_build_lands_here("2026", "2026-08", "2026-09")


def test_rerun_and_crash_count_nothing_twice(shop, pinned_instant):
    """The purchases of the last hour are read again by the next run (the margin): the counted state
    makes that a no-op. A refresh that dies before committing leaves facts, counted purchases and cube
    as they were, and its re-run lands where one run lands."""
    buy(shop["bob"], shop["store"], "80", order_no="NOV-B", at=timezone.now() - HOURS)
    refund_post(store=shop["store"], refund_no="R-3", purchase=shop["big"], amount=Decimal("100"),
                occurred_at=timezone.now() - HOURS)
    pinned_instant.shift(dt.timedelta(minutes=10))
    day = timezone.localdate() - dt.timedelta(days=1)
    before = {p: state(p) for p in ("2026", "2026-08", "2026-11")}
    with pytest.raises(RuntimeError), transaction.atomic():
        consumption_cube_refresh(day)
        raise RuntimeError("killed before the commit")
    assert {p: state(p) for p in before} == before

    consumption_cube_refresh(day)
    once = {p: state(p) for p in before}
    assert once["2026"] != before["2026"]
    pinned_instant.shift(dt.timedelta(minutes=30))  # the changes are still within the margin: read again
    again = consumption_cube_refresh(day)
    assert again["members_refreshed"] == 0
    assert {p: state(p) for p in before} == once
    assert_full_build_lands_here("2026", "2026-08", "2026-11")
