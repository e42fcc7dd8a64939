"""Every notice kind has its own template operations edit (issue 15, MSG-3): also the kinds whose title
and body the calling app writes (complaints, reservations, tier changes, adjustments...)."""
import importlib

import pytest

from messaging.models import Message, MessageTemplate
from messaging.services import LEGACY_NOTICE_KINDS, notify_member, notify_members_bulk
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
seeded = importlib.import_module("messaging.migrations.0009_legacy_notice_templates")


def test_each_kind_has_its_own_template_per_channel_and_the_migration_knows_every_kind():
    assert seeded.KINDS == LEGACY_NOTICE_KINDS
    codes = set(MessageTemplate.objects.filter(code__startswith="notice_").values_list("code", "channel"))
    for kind in LEGACY_NOTICE_KINDS:
        assert {(f"notice_{kind}", "inbox"), (f"notice_{kind}", "sms")} <= codes, kind


def test_an_edit_by_operations_changes_the_next_notice_of_that_kind_only():
    member = MemberFactory()
    MessageTemplate.objects.filter(code="notice_points_adjusted", channel="inbox").update(
        body="{body}。如有疑问请致电 400-800-8888")
    notify_member(member=member, kind="points_adjusted", ref="a1", title="积分调整", body="您的积分增加 100 分", sms=False)
    notify_member(member=member, kind="coupon_issued", ref="c1", title="发券", body="您获得一张券", sms=False)
    adjusted = Message.objects.get(member=member, event_key="points_adjusted:a1", channel="inbox")
    coupon = Message.objects.get(member=member, event_key="coupon_issued:c1", channel="inbox")
    assert adjusted.template.code == "notice_points_adjusted"
    assert adjusted.text == "您的积分增加 100 分。如有疑问请致电 400-800-8888"
    assert coupon.text == "您获得一张券"


def test_a_kind_without_its_own_row_falls_back_to_the_generic_template_in_bulk_too():
    from messaging.models import Notice

    member = MemberFactory()
    MessageTemplate.objects.filter(code="notice_event_invitation").delete()
    notify_members_bulk([Notice(member_id=member.pk, kind="event_invitation", ref="event:1", title="邀请",
                                body="欢迎参加")], sms=False)
    sent = Message.objects.get(member=member, event_key="event_invitation:event:1", channel="inbox")
    assert sent.template.code == "notice" and sent.text == "欢迎参加"
