"""Notices go out once per event (MSG-3: never twice for one event)."""
import pytest

from messaging.models import Notice
from messaging.services import notify_member, notify_members_bulk
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_notice_once_per_event(sms_outbox, django_capture_on_commit_callbacks):
    member = MemberFactory(mobile="13812345678")
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_member(member=member, kind="tier", ref="t1", title="等级变更", body="银卡")
        assert notify_member(member=member, kind="tier", ref="t1", title="等级变更", body="银卡") is None
    assert Notice.objects.count() == 1
    assert [m.mobile for m in sms_outbox] == ["13812345678"]


def test_bulk_notices_skip_announced_events(sms_outbox, django_capture_on_commit_callbacks):
    a, b = MemberFactory(), MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notify_members_bulk([Notice(member=a, kind="expiry", ref="x", title="t", body="b")])
        sent = notify_members_bulk([Notice(member=a, kind="expiry", ref="x", title="t", body="b"),
                                    Notice(member=b, kind="expiry", ref="x", title="t", body="b")])
    assert sent == 1 and Notice.objects.count() == 2 and len(sms_outbox) == 2
