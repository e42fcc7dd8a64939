"""Loose ends of redemption (issue 14): reserved gifts not collected within PointsConfig.gift_collect_days
are cancelled by the nightly job expire_gift_orders, through gift_order_cancel (points and stock back), with
one inbox notice per order; a re-run does nothing."""
import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from core.jobs import run_job
from messaging.models import Notice
from points.models import Gift, GiftOrder, PointsAccount, PointsConfig
from points.services import redemption
from points.services.ledger import Source, credit
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db

ORDERED = dt.datetime.fromisoformat("2026-10-01T21:00:00+08:00")  # last pick-up day: 2026-10-31


def balance(member) -> int:
    return PointsAccount.objects.get(member=member).balance


@pytest.fixture
def setup():
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    with time_machine.travel(ORDERED - dt.timedelta(days=1), tick=False):
        with transaction.atomic():
            credit(member=member, points=5000, idem_key=f"test:{member.pk}", source=Source(reason="test"))
        gift = Gift.objects.create(name="保温杯", points_cost=500, stock=10, valid_from=timezone.now(),
                                   valid_to=timezone.now() + dt.timedelta(days=90))
    with time_machine.travel(ORDERED, tick=False):
        overdue, _ = redemption.gift_order_place(member=member, gift=gift, quantity=2, store=store, request_id="r1")
        collected, _ = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store,
                                                   request_id="r2")
        redemption.gift_order_collect(order=collected, staff=make_staff(store=store))
    with time_machine.travel(ORDERED + dt.timedelta(days=20), tick=False):
        recent, _ = redemption.gift_order_place(member=member, gift=gift, quantity=1, store=store, request_id="r3")
    return member, gift, overdue, collected, recent


def test_uncollected_gift_orders_are_cancelled_after_the_configured_days(setup):
    member, gift, overdue, collected, recent = setup
    assert balance(member) == 3000 and Gift.objects.get(pk=gift.pk).stock == 6
    run_job("expire_gift_orders", date=dt.date(2026, 10, 31))  # still the last day to collect
    assert GiftOrder.objects.get(pk=overdue.pk).status == GiftOrder.Status.RESERVED
    run = run_job("expire_gift_orders", date=dt.date(2026, 11, 1))
    assert run.status == run.Status.SUCCEEDED and run.counts == {"orders": 1, "points": 1000}
    assert GiftOrder.objects.get(pk=overdue.pk).status == GiftOrder.Status.CANCELLED
    assert GiftOrder.objects.get(pk=collected.pk).status == GiftOrder.Status.COLLECTED
    assert GiftOrder.objects.get(pk=recent.pk).status == GiftOrder.Status.RESERVED
    assert balance(member) == 4000 and Gift.objects.get(pk=gift.pk).stock == 8
    notices = Notice.objects.filter(member=member, kind=redemption.GIFT_EXPIRED_NOTICE)
    assert notices.count() == 1 and "保温杯" in notices.get().body and "2026-10-31" in notices.get().body


def test_a_rerun_changes_nothing_and_sends_no_second_notice(setup):
    member, gift, overdue, *_ = setup
    run_job("expire_gift_orders", date=dt.date(2026, 11, 1))
    again = run_job("expire_gift_orders", date=dt.date(2026, 11, 1))
    assert again.counts == {"orders": 0, "points": 0}
    assert balance(member) == 4000 and Gift.objects.get(pk=gift.pk).stock == 8
    assert Notice.objects.filter(member=member, kind=redemption.GIFT_EXPIRED_NOTICE).count() == 1


def test_collect_days_are_configurable_and_zero_disables(setup):
    member, gift, overdue, collected, recent = setup
    config = PointsConfig.get()
    config.gift_collect_days = 0
    config.save()
    run_job("expire_gift_orders", date=dt.date(2027, 1, 1))
    assert GiftOrder.objects.filter(status=GiftOrder.Status.RESERVED).count() == 2
    config.gift_collect_days = 5
    config.save()
    run_job("expire_gift_orders", date=dt.date(2026, 10, 27))  # recent (ordered 10-21) is due after 10-26
    assert GiftOrder.objects.get(pk=recent.pk).status == GiftOrder.Status.CANCELLED
    assert GiftOrder.objects.get(pk=overdue.pk).status == GiftOrder.Status.CANCELLED
    assert balance(member) == 4500


def test_the_job_is_scheduled_nightly():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="nightly: expire_gift_orders")
    assert task.task == "core.tasks.run_job_task" and task.args == '["expire_gift_orders"]'
    assert str(task.crontab.timezone) == "Asia/Shanghai" and task.queue == "nightly"
