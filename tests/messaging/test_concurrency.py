"""Never twice under concurrency: threads on PostgreSQL (MSG-3)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from messaging.delivery import deliver_messages
from messaging.models import Message
from messaging.services import message_send, messages_enqueue
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _run_in_threads(n, target):
    barrier = threading.Barrier(n)
    errors = []

    def run(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_concurrent_sends_of_one_event_make_one_message_and_one_sms(sms_outbox):
    member = MemberFactory(mobile="13812345678")

    def send(_i):
        message_send(member=member, template_code="notice", channel="sms", event_key="tier_change:1",
                     params={"title": "等级变更", "body": "银卡"})

    _run_in_threads(6, send)
    assert Message.objects.count() == 1
    assert [m.mobile for m in sms_outbox] == ["13812345678"]


def test_concurrent_delivery_tasks_send_each_message_once(sms_outbox, monkeypatch):
    monkeypatch.setattr("messaging.services.messages_enqueue", lambda ids: None)  # tasks run below, by hand
    members = [MemberFactory() for _ in range(30)]
    ids = [message_send(member=m, template_code="notice", channel="sms", event_key="tier_change:2",
                        params={"title": "t", "body": "b"}).pk for m in members]
    assert sms_outbox == []
    sent = []

    def deliver(_i):
        sent.append(deliver_messages(ids).sent)

    _run_in_threads(4, deliver)
    assert sum(sent) == 30 and len(sms_outbox) == 30
    assert len({m.message_id for m in sms_outbox}) == 30
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}
    messages_enqueue(ids)  # a re-run of the whole batch: nothing more
    assert len(sms_outbox) == 30
