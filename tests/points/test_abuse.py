"""Abuse flags (PTS-11): each flag fires on a crafted case and not on a normal one; the nightly job is
idempotent; the inline check on desk postings; operations suspend (MEM-5) or dismiss."""
import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.jobs import run_job
from members import roles
from points.models import AbuseCase, AbuseRules
from points.services.abuse import abuse_flag_all
from points.services.ledger import Source, consume, credit
from points.services.purchases import refund_post
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy
from tests.points.test_desk import purchase_data

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T23:00+08:00")]


@pytest.fixture
def store():
    return StoreFactory()


def cases(flag):
    return list(AbuseCase.objects.filter(flag=flag).values_list("member_id", flat=True))


def at(hour, minute=0):
    return timezone.make_aware(dt.datetime(2026, 11, 25, hour, minute))


def test_many_purchases_within_an_hour(store):
    busy, normal = MemberFactory(home_store=store), MemberFactory(home_store=store)
    for i in range(6):  # six within 50 minutes: above the default five
        buy(busy, store, "10.00", order_no=f"B{i}", at=at(14, i * 10))
    for i in range(6):  # six spread over the day
        buy(normal, store, "10.00", order_no=f"N{i}", at=at(9 + 2 * i))
    assert abuse_flag_all()["frequent_purchases"] == 1
    assert cases("frequent_purchases") == [busy.pk]
    assert "6" in AbuseCase.objects.get().detail
    assert abuse_flag_all()["frequent_purchases"] == 0  # a re-run adds nothing
    assert AbuseCase.objects.count() == 1


def test_refunds_above_the_share_of_30_day_spend(store):
    returner, normal = MemberFactory(home_store=store), MemberFactory(home_store=store)
    p1 = buy(returner, store, "2000.00", order_no="R1", at=at(10))
    p2 = buy(normal, store, "2000.00", order_no="R2", at=at(10))
    refund_post(store=store, refund_no="RF1", purchase=p1, amount=Decimal("1500.00"), occurred_at=at(12))
    refund_post(store=store, refund_no="RF2", purchase=p2, amount=Decimal("200.00"), occurred_at=at(12))
    abuse_flag_all()
    assert cases("refund_share") == [returner.pk]
    abuse_flag_all()
    assert AbuseCase.objects.filter(flag="refund_share").count() == 1


def test_points_redeemed_minutes_after_being_earned(store):
    quick, patient = MemberFactory(home_store=store), MemberFactory(home_store=store)
    for member, spend_at in ((quick, at(10, 5)), (patient, at(16))):
        with time_machine.travel(at(10), tick=False), transaction.atomic():
            credit(member=member, points=5000, idem_key=f"t:earn:{member.pk}", source=Source(reason="test"))
        with time_machine.travel(spend_at, tick=False), transaction.atomic():
            consume(member=member, points=3000, idem_key=f"t:spend:{member.pk}", source=Source(reason="gift"))
    abuse_flag_all()
    assert cases("quick_redemption") == [quick.pk]


def test_one_clerk_posting_for_many_members_is_flagged_inline_and_dismissed(client, store):
    """The inline check on desk postings; operations dismiss a clerk's case (there is no member to suspend)."""
    AbuseRules.objects.filter(pk=AbuseRules.get().pk).update(clerk_members_per_day=2)
    clerk, normal_clerk = make_staff(roles.FRONT_DESK, store=store), make_staff(roles.FRONT_DESK, store=store)
    members = [MemberFactory(home_store=store) for _ in range(3)]
    client.force_login(normal_clerk)
    client.post(reverse("points_desk:purchase", args=[members[0].member_no]), purchase_data("C-0", amount="10.00"))
    client.force_login(clerk)
    for i, member in enumerate(members):
        client.post(reverse("points_desk:purchase", args=[member.member_no]), purchase_data(f"C-{i + 1}", amount="10.00"))
    case = AbuseCase.objects.get(flag="clerk_many_members")  # flagged by the posting itself, not the job
    assert case.clerk == clerk and case.member is None and case.store == store
    assert abuse_flag_all()["clerk_many_members"] == 0

    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    assert list(client.get(reverse("points_desk:abuse")).context["rows"]) == [case]
    client.post(reverse("points_desk:abuse_decide", args=[case.pk]), {"decision": "suspend", "reason": "x"})
    case.refresh_from_db()
    assert case.status == "open"  # a clerk case cannot suspend anyone
    client.post(reverse("points_desk:abuse_decide", args=[case.pk]), {"decision": "dismiss", "reason": "门店活动"})
    case.refresh_from_db()
    assert case.status == "dismissed" and case.decided_by == manager
    assert abuse_flag_all()["clerk_many_members"] == 0  # the dismissed evidence does not come back


def test_operations_suspend_a_flagged_member_through_the_queue(client, store):
    busy = MemberFactory(home_store=store)
    for i in range(6):
        buy(busy, store, "10.00", order_no=f"S{i}", at=at(14, i * 5))
    run = run_job("flag_abuse")
    assert run.status == "succeeded" and run.counts["frequent_purchases"] == 1
    assert run_job("flag_abuse").counts["frequent_purchases"] == 0
    case = AbuseCase.objects.get()

    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    assert client.get(reverse("points_desk:abuse")).status_code == 403
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=store))
    client.post(reverse("points_desk:abuse_decide", args=[case.pk]), {"decision": "suspend", "reason": "刷单"})
    case.refresh_from_db()
    busy.refresh_from_db()
    assert case.status == "suspended" and busy.status == "suspended"


def test_nightly_job_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="nightly: flag_abuse")
    assert task.task == "core.tasks.run_job_task" and task.args == '["flag_abuse"]'
