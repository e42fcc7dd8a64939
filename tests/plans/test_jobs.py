"""Nightly jobs of paid membership (issue 18), run through core.jobs and run again: grace and expiry,
renewal reminders and monthly coupons are set-wise and a re-run changes nothing."""
import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from core.jobs import job_names, run_job
from messaging.models import Notice
from plans.models import MembershipEvent, PaidMembership, Source
from plans.services import membership_buy
from points.models import Coupon
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-03-10T12:00+08:00")]
SH = timezone.get_fixed_timezone(8 * 60)


def sell(member, plan, ref):
    return membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref=ref, price_paid=plan.price,
                          actor="command").membership


def test_jobs_are_registered_and_scheduled():
    from django_celery_beat.models import PeriodicTask

    for name in ("plans_lapse", "plans_renewal_reminders", "plans_monthly_coupons"):
        assert name in job_names()
        assert PeriodicTask.objects.filter(name=f"nightly: {name}", args=f'["{name}"]').exists()


def test_lapse_moves_into_grace_then_expires_and_a_rerun_changes_nothing(plan):
    a, b = MemberFactory(), MemberFactory()
    ma, mb = sell(a, plan, "A"), sell(b, plan, "B")
    with time_machine.travel(dt.datetime(2027, 3, 10, 1, tzinfo=SH)):
        for _ in range(2):
            run = run_job("plans_lapse", date=dt.date(2027, 3, 10))
            assert run.status == "succeeded"
        assert set(PaidMembership.objects.values_list("status", flat=True)) == {"grace"}
        assert MembershipEvent.objects.filter(kind="grace").count() == 2
    with time_machine.travel(dt.datetime(2027, 3, 25, 1, tzinfo=SH)):
        first = run_job("plans_lapse", date=dt.date(2027, 3, 25))
        second = run_job("plans_lapse", date=dt.date(2027, 3, 25))
    assert first.counts["expired"] == 2 and second.counts == {"grace": 0, "expired": 0}
    ma.refresh_from_db()
    mb.refresh_from_db()
    assert ma.status == mb.status == "expired" and ma.ended_on == dt.date(2027, 3, 25)
    assert MembershipEvent.objects.filter(kind="expired").count() == 2


def test_renewal_reminder_once_per_period_and_again_after_a_renewal(plan):
    member = MemberFactory()
    m = sell(member, plan, "A")  # ends 2027-03-09, reminders 15 days before
    with time_machine.travel(dt.datetime(2027, 2, 20, 10, tzinfo=SH)):
        assert run_job("plans_renewal_reminders", date=dt.date(2027, 2, 20)).counts["reminders_due"] == 0
    with time_machine.travel(dt.datetime(2027, 2, 22, 10, tzinfo=SH)):
        run_job("plans_renewal_reminders", date=dt.date(2027, 2, 22))
        run_job("plans_renewal_reminders", date=dt.date(2027, 2, 22))
        run_job("plans_renewal_reminders", date=dt.date(2027, 2, 23))
    notices = Notice.objects.filter(member=member, kind="membership_renewal")
    assert notices.count() == 1 and notices.get().ref == f"{m.pk}:2027-03-09"
    assert "2027-03-09" in notices.get().body
    with time_machine.travel(dt.datetime(2027, 3, 1, 10, tzinfo=SH)):
        sell(member, plan, "B")  # renewed: a new period, reminded again before its own end
    with time_machine.travel(dt.datetime(2028, 3, 1, 10, tzinfo=SH)):
        run_job("plans_renewal_reminders", date=dt.date(2028, 3, 1))
    assert notices.count() == 2


def test_monthly_coupons_once_per_membership_and_month(plan):
    member = MemberFactory()
    sell(member, plan, "A")
    joining = Coupon.objects.filter(member=member).count()
    for _ in range(2):
        run_job("plans_monthly_coupons", date=dt.date(2026, 3, 10))
    with time_machine.travel(dt.datetime(2026, 3, 11, 1, tzinfo=SH)):
        run_job("plans_monthly_coupons", date=dt.date(2026, 3, 11))
    monthly = Coupon.objects.filter(member=member, type=plan.monthly_coupon_type)
    assert monthly.count() == 1 and Coupon.objects.filter(member=member).count() == joining + 1
    with time_machine.travel(dt.datetime(2026, 4, 1, 1, tzinfo=SH)):
        run = run_job("plans_monthly_coupons", date=dt.date(2026, 4, 1))
        run_job("plans_monthly_coupons", date=dt.date(2026, 4, 1))
    assert run.counts["coupons_issued"] == 1 and monthly.count() == 2
