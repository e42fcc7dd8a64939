"""The consumption cube for every period the page offers (EVAL-3, EVAL-5): the backfill builds past
months and years, the nightly refresh moves only the periods whose purchases, refunds or members
changed, and lands where a full rebuild lands."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.jobs import run_job
from core.models import JobRun
from dashboards.jobs import backfill_periods, consumption_cube_for
from dashboards.models import ConsumptionCube, ConsumptionFact, ConsumptionPeriod
from members import roles
from members.models import Member, Tier
from points.services.purchases import refund_post
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T03:00+08:00"),
              pytest.mark.urls("tests.dashboards.urls")]

TODAY = dt.date(2026, 11, 25)
HOURS = dt.timedelta(hours=1)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def total(period: str, **filters) -> tuple[int, int, Decimal] | None:
    row = ConsumptionCube.objects.filter(period=period, dimension="total", tag__isnull=True, **filters).aggregate(
        members=Sum("members"), orders=Sum("orders"), amount=Sum("amount"))
    return None if row["orders"] is None else (row["members"], row["orders"], row["amount"])


def cube_rows(period: str) -> list[tuple]:
    return sorted(ConsumptionCube.objects.filter(period=period).values_list(
        "store_id", "tier_id", "tag_id", "dimension", "bucket", "members", "orders", "amount"),
        key=lambda r: tuple("" if v is None else str(v) for v in r))


def computed_at() -> dict[str, dt.datetime]:
    return dict(ConsumptionPeriod.objects.values_list("period", "computed_at"))


@pytest.fixture
def shop(db):
    store = StoreFactory(code="CR1")
    alice = MemberFactory(home_store=store, gender="F", birthday=dt.date(1990, 6, 1), province="广东", city="深圳")
    bob = MemberFactory(home_store=store, gender="M", birthday=dt.date(1980, 1, 1), province="浙江", city="杭州")
    august = buy(alice, store, "300", order_no="AUG-1", at=at(dt.date(2026, 8, 14)),
                 lines=[{"brand": "L", "category": "化妆品", "amount": "300"}])
    buy(bob, store, "120", order_no="OCT-1", at=at(dt.date(2026, 10, 3)))
    buy(alice, store, "80", order_no="DEC-1", at=at(dt.date(2025, 12, 20)))
    return {"store": store, "alice": alice, "bob": bob, "august": august}


def _nightly(traveller, hours_later: float) -> JobRun:
    traveller.shift(dt.timedelta(hours=hours_later))
    run = run_job("consumption_cube", date=timezone.localdate())
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run


def test_backfill_builds_every_offered_period_and_past_purchases_appear(shop):
    """EVAL-3: the backfill builds the 24 months and 3 years of the menu; a purchase of August 2026
    is in August's cube and in 2026's, one of December 2025 in 2025's."""
    call_command("backfill_consumption_cube")
    built = computed_at()
    assert len(built) == 27 and "2024-12" in built and "2024" in built and "2026-11" in built
    assert total("2026-08") == (1, 1, Decimal("300.00"))
    assert total("2026-10") == (1, 1, Decimal("120.00"))
    assert total("2026") == (2, 2, Decimal("420.00"))
    assert total("2025-12") == (1, 1, Decimal("80.00"))
    assert total("2025") == (1, 1, Decimal("80.00"))
    assert total("2026-09") is None and "2026-09" in built  # built, and truly empty
    assert ConsumptionCube.objects.get(period="2026-08", dimension="brand", tag__isnull=True).bucket == "L"


def test_backfill_range_builds_its_months_and_their_years():
    assert backfill_periods(dt.date(2025, 11, 1), dt.date(2026, 2, 1)) == [
        "2026-02", "2026-01", "2025-12", "2025-11", "2026", "2025"]


def test_nightly_refresh_moves_only_the_touched_periods_and_reruns_to_the_same_cube(shop, pinned_instant):
    """The refresh after a day of purchases recomputes that day's month and year only; the other
    periods keep their cube and computed_at; a re-run changes nothing; the result is a full rebuild's."""
    call_command("backfill_consumption_cube")
    _nightly(pinned_instant, 2)  # re-reads the rows written within the margin before the backfill
    before = computed_at()
    august, october = cube_rows("2026-08"), cube_rows("2026-10")

    pinned_instant.shift(dt.timedelta(hours=20))  # the next day's business
    buy(shop["bob"], shop["store"], "500", order_no="NOV-1", at=timezone.now() - HOURS)
    run = _nightly(pinned_instant, 4)
    assert sorted(run.counts["periods_refreshed"]) == ["2026", "2026-11"]
    assert run.counts["members_refreshed"] == 2  # bob, in the month and in the year
    after = computed_at()
    assert {p for p in after if after[p] != before[p]} == {"2026", "2026-11"}
    assert cube_rows("2026-08") == august and cube_rows("2026-10") == october
    assert total("2026-11") == (1, 1, Decimal("500.00"))
    assert total("2026") == (2, 3, Decimal("920.00"))

    refreshed = {p: cube_rows(p) for p in ("2026", "2026-11")}
    rerun = _nightly(pinned_instant, 2)
    assert rerun.counts["periods_refreshed"] == []
    assert computed_at() == after
    for period, rows in refreshed.items():
        consumption_cube_for(period)  # a full rebuild lands on the same cells
        assert cube_rows(period) == rows


def test_refund_of_an_old_purchase_refreshes_its_own_month_and_year(shop, pinned_instant):
    """A refund today of August's purchase moves August 2026 and 2026, not November; a full refund
    takes the order out, as a full build does."""
    call_command("backfill_consumption_cube")
    _nightly(pinned_instant, 2)
    before = computed_at()
    november = cube_rows("2026-11")
    pinned_instant.shift(dt.timedelta(hours=20))
    refund_post(store=shop["store"], refund_no="R-AUG-1", purchase=shop["august"], amount=Decimal("100"),
                occurred_at=timezone.now() - HOURS)
    run = _nightly(pinned_instant, 4)
    assert sorted(run.counts["periods_refreshed"]) == ["2026", "2026-08"]
    after = computed_at()
    assert after["2026-08"] > before["2026-08"] and after["2026-11"] == before["2026-11"]
    assert cube_rows("2026-11") == november
    assert total("2026-08") == (1, 1, Decimal("200.00"))
    assert total("2026") == (2, 2, Decimal("320.00"))

    pinned_instant.shift(dt.timedelta(hours=20))
    refund_post(store=shop["store"], refund_no="R-AUG-2", purchase=shop["august"], amount=Decimal("200"),
                occurred_at=timezone.now() - HOURS)
    _nightly(pinned_instant, 4)
    assert total("2026-08") is None
    assert not ConsumptionCube.objects.filter(period="2026-08").exists()  # no cell left at zero
    assert not ConsumptionFact.objects.filter(period="2026-08").exists()
    assert total("2026") == (1, 1, Decimal("120.00"))


def test_member_changes_move_their_purchases_to_the_new_tier(shop, pinned_instant):
    """A member whose tier changed is counted under the new tier in the periods they bought in."""
    call_command("backfill_consumption_cube")
    _nightly(pinned_instant, 2)
    gold = Tier.objects.get(code="gold")
    pinned_instant.shift(dt.timedelta(hours=20))
    bob = Member.objects.get(pk=shop["bob"].pk)
    bob.tier = gold
    bob.save()
    run = _nightly(pinned_instant, 4)
    assert sorted(run.counts["periods_refreshed"]) == ["2026", "2026-10"]
    assert total("2026-10", tier=gold) == (1, 1, Decimal("120.00"))
    assert total("2026", tier=gold) == (1, 1, Decimal("120.00"))


def test_refresh_is_set_wise(shop, pinned_instant):
    """The refresh's queries do not grow with the number of purchases it takes in."""
    call_command("backfill_consumption_cube")
    _nightly(pinned_instant, 2)

    def day_of(n: int, tag: str) -> int:
        pinned_instant.shift(dt.timedelta(hours=20))
        for i in range(n):
            member = MemberFactory(home_store=shop["store"])
            buy(member, shop["store"], "10", order_no=f"{tag}-{i}", at=timezone.now() - HOURS)
        pinned_instant.shift(dt.timedelta(hours=4))
        with CaptureQueriesContext(connection) as queries:
            run_job("consumption_cube", date=timezone.localdate())
        return len(queries)

    assert day_of(1, "ONE") == day_of(8, "EIGHT")


def test_first_nightly_run_builds_the_month_and_year_of_the_day(shop):
    """Without a backfill the first run builds the month and year just closed, as before."""
    run = run_job("consumption_cube", date=TODAY)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    assert sorted(run.counts["periods_built"]) == ["2026", "2026-11"]
    assert total("2026") == (2, 2, Decimal("420.00"))
    assert "2026-08" not in computed_at()


def test_page_says_not_computed_for_a_period_never_built_and_as_of_for_built_ones(client, shop):
    """EVAL-5: a period without a cube says 未计算 instead of zeros; a built one says when."""
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    page = client.get("/desk/dashboards/consumption/", {"period": "2026-08"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "未计算" in html and "数据截至" not in html
    assert 'class="cards kpis"' not in html

    consumption_cube_for("2026-08")
    as_of = timezone.localtime(ConsumptionPeriod.objects.get(period="2026-08").computed_at)
    html = client.get("/desk/dashboards/consumption/", {"period": "2026-08"}).content.decode()
    assert f"数据截至 {as_of:%Y-%m-%d %H:%M}" in html and "未计算" not in html
    assert page.context["data"]["computed_at"] is None


def test_claim_of_an_old_member_less_purchase_reaches_the_cube_at_the_next_refresh(shop, pinned_instant):
    """Issue 14: a points claim that gives an already cubed, member-less till sale of October to a member
    changes no new purchase row; the refresh finds it by Purchase.changed_at and counts it for the member
    in October and 2026, without a backfill."""
    from points.services.claims import purchase_assign_member
    from points.services.purchases import purchase_post

    sale = purchase_post(store=shop["store"], order_no="OCT-ANON", member=None, occurred_at=at(dt.date(2026, 10, 5)),
                         lines=[{"brand": "L", "category": "化妆品", "amount": "250"}],
                         tenders=[{"type": "wechat", "amount": "250"}]).purchase
    call_command("backfill_consumption_cube")
    _nightly(pinned_instant, 2)
    assert total("2026-10") == (1, 1, Decimal("120.00"))  # bob only: the sale has no member yet

    pinned_instant.shift(dt.timedelta(hours=20))
    from django.db import transaction

    with transaction.atomic():
        purchase_assign_member(purchase=sale, member=shop["alice"])
    run = _nightly(pinned_instant, 4)
    assert sorted(run.counts["periods_refreshed"]) == ["2026", "2026-10"]
    assert total("2026-10") == (2, 2, Decimal("370.00"))
    assert total("2026") == (2, 3, Decimal("670.00"))  # alice: August 300 + October 250; bob 120
    october = cube_rows("2026-10")
    consumption_cube_for("2026-10")
    assert cube_rows("2026-10") == october  # where a full rebuild lands
