"""Reminders ahead of points expiry (PTS-4): once per member, expiry date and lead time."""
import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from core.jobs import run_job
from core.models import JobRun
from members.models import Member
from messaging.models import Notice
from points.jobs import expire_points_for
from points.models import ExpiryReminder, Lot, PointsConfig
from points.reconcile import reconcile
from points.reminders import lead_windows, remind_expiring_points_for
from points.services.ledger import Source, consume, credit
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 10)


def lot_expiring(member, on: dt.date, points: int, key: str) -> Lot:
    """A lot whose last valid day is `on`, credited through the ledger."""
    earned = on - relativedelta(months=PointsConfig.get().expiry_months)
    with transaction.atomic():
        entry = credit(member=member, points=points, idem_key=key, earned_on=earned, source=Source(reason="test"))
    lot = Lot.objects.get(entry=entry)
    assert lot.expires_on == on
    return lot


def remind(day, capture, **kw):
    with capture(execute=True):
        return remind_expiring_points_for(day, **kw)


def test_lead_windows_partition_the_days_ahead():
    assert lead_windows(TODAY, [7, 30]) == [
        (30, TODAY + dt.timedelta(days=8), TODAY + dt.timedelta(days=30)),
        (7, TODAY, TODAY + dt.timedelta(days=7)),
    ]
    assert lead_windows(TODAY, []) == []


def test_one_reminder_per_member_per_expiry_date_and_rerun_sends_nothing(
        django_capture_on_commit_callbacks, sms_outbox):
    """PTS-4: lots expiring the same day are announced together; another date is its own reminder."""
    member = MemberFactory(mobile="13800001111")
    day = TODAY + dt.timedelta(days=20)
    lot_expiring(member, day, 100, "a")
    lot_expiring(member, day, 50, "b")
    lot_expiring(member, TODAY + dt.timedelta(days=25), 7, "c")
    lot_expiring(member, TODAY + dt.timedelta(days=200), 9, "far")  # not yet

    totals = remind(TODAY, django_capture_on_commit_callbacks, batch_members=1)
    assert totals == {"reminders": 2, "notices": 2, "points": 157}
    assert sorted(ExpiryReminder.objects.values_list("expires_on", "days_before", "points")) == [
        (day, 30, 150), (TODAY + dt.timedelta(days=25), 30, 7)]
    assert Notice.objects.filter(member=member, kind="points_expiring").count() == 2
    assert len(sms_outbox) == 2

    again = remind(TODAY, django_capture_on_commit_callbacks)
    assert again == {"reminders": 0, "notices": 0, "points": 0}
    assert remind(TODAY + dt.timedelta(days=1), django_capture_on_commit_callbacks)["reminders"] == 0
    assert ExpiryReminder.objects.count() == 2 and len(sms_outbox) == 2


def test_two_lead_times_give_two_reminders_and_a_late_find_only_one(django_capture_on_commit_callbacks, sms_outbox):
    member = MemberFactory(mobile="13800002222")
    expires = TODAY + dt.timedelta(days=30)
    lot_expiring(member, expires, 300, "x")
    assert remind(TODAY, django_capture_on_commit_callbacks)["reminders"] == 1
    assert remind(TODAY + dt.timedelta(days=10), django_capture_on_commit_callbacks)["reminders"] == 0
    assert remind(TODAY + dt.timedelta(days=23), django_capture_on_commit_callbacks)["reminders"] == 1
    assert remind(TODAY + dt.timedelta(days=24), django_capture_on_commit_callbacks)["reminders"] == 0
    assert sorted(ExpiryReminder.objects.values_list("days_before", flat=True)) == [7, 30]
    assert sorted(Notice.objects.values_list("ref", flat=True)) == [f"{expires}:30", f"{expires}:7"]
    assert len(sms_outbox) == 2

    # A lot first seen 5 days before it expires (e.g. the job was down): one reminder, not two at once.
    soon = TODAY + dt.timedelta(days=5)
    lot_expiring(member, soon, 40, "late")
    assert remind(TODAY, django_capture_on_commit_callbacks)["reminders"] == 1
    assert ExpiryReminder.objects.get(expires_on=soon).days_before == 7


def test_spent_and_expired_lots_are_not_reminded(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    spent, partly, expired = MemberFactory(), MemberFactory(), MemberFactory()
    lot_expiring(spent, today + dt.timedelta(days=6), 80, "s")
    lot_expiring(partly, today + dt.timedelta(days=6), 80, "p")
    lot_expiring(expired, today - dt.timedelta(days=1), 80, "e")
    with transaction.atomic():
        consume(member=spent, points=80, idem_key="spend-s", source=Source(reason="gift"))
        consume(member=partly, points=30, idem_key="spend-p", source=Source(reason="gift"))
    expire_points_for(today)

    remind(today, django_capture_on_commit_callbacks)
    assert list(ExpiryReminder.objects.values_list("member_id", "points")) == [(partly.pk, 50)]
    assert not reconcile()


def test_closed_members_are_not_reminded(django_capture_on_commit_callbacks):
    member = MemberFactory()
    lot_expiring(member, TODAY + dt.timedelta(days=3), 10, "c")
    Member.objects.filter(pk=member.pk).update(status=Member.Status.CLOSED)
    assert remind(TODAY, django_capture_on_commit_callbacks)["reminders"] == 0


def test_sms_text_contains_points_and_date(django_capture_on_commit_callbacks, sms_outbox):
    member = MemberFactory(mobile="13900003333")
    expires = TODAY + dt.timedelta(days=7)
    lot_expiring(member, expires, 1234, "t")
    remind(TODAY, django_capture_on_commit_callbacks)
    (sms,) = sms_outbox
    assert sms.mobile == "13900003333" and sms.kind == "points_expiring"
    assert "1234" in sms.text and expires.isoformat() in sms.text
    notice = Notice.objects.get(member=member)
    assert "1234" in notice.body and notice.ref == f"{expires}:7"


def test_configured_lead_times_are_used_through_the_job(django_capture_on_commit_callbacks, sms_outbox):
    config = PointsConfig.get()
    config.reminder_days = [3]
    config.save()
    member = MemberFactory()
    lot_expiring(member, TODAY + dt.timedelta(days=5), 10, "5")
    lot_expiring(member, TODAY + dt.timedelta(days=3), 10, "3")
    with django_capture_on_commit_callbacks(execute=True):
        run = run_job("remind_expiring_points", date=TODAY)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    assert run.counts["reminders"] == 1 and run.progress_done == run.progress_total == 1
    assert list(ExpiryReminder.objects.values_list("days_before", flat=True)) == [3]
