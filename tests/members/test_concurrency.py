"""Two desks acting on one member at once, two sign-ups of one number at once (PostgreSQL, threads)."""
import threading

import pytest
from django.db import connection

from core.errors import MemberHubError
from members.models import ChangeRequest, Member, MemberChange
from members.services import Actor, change_request_submit, member_register_desk, member_review
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db(transaction=True)

VALID = {"name": "李四", "mobile": "13912345678", "gender": "F", "birthday": "1988-01-02"}


def _race(*funcs):
    barrier = threading.Barrier(len(funcs))
    results = [None] * len(funcs)

    def run(i, fn):
        try:
            barrier.wait(5)
            results[i] = fn()
        except MemberHubError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(funcs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results


def test_two_reviewers_approve_and_reject_at_once_one_wins():
    """MEM-2: the row lock makes the second reviewer see the first decision."""
    store = StoreFactory()
    clerk, a, b = make_staff(store=store), make_staff(store=store), make_staff(store=store)
    member = member_register_desk(data=VALID, staff=clerk, marketing=False, privacy_accepted=True)
    results = _race(
        lambda: member_review(member=member, reviewer=a, approve=True),
        lambda: member_review(member=member, reviewer=b, approve=False, reason="资料不全"),
    )
    errors = [r for r in results if isinstance(r, MemberHubError)]
    assert len(errors) == 1 and errors[0].code == "already_reviewed"
    assert MemberChange.objects.filter(member=member, field="status").count() == 2  # created + one review


def test_two_desks_sign_up_the_same_mobile_at_once():
    """MEM-1: unique mobile holds under concurrency; the loser gets a clear duplicate error."""
    store = StoreFactory()
    a, b = make_staff(store=store), make_staff(store=store)
    results = _race(
        lambda: member_register_desk(data=VALID, staff=a, marketing=False, privacy_accepted=True),
        lambda: member_register_desk(data=VALID, staff=b, marketing=False, privacy_accepted=True),
    )
    assert Member.objects.count() == 1
    errors = [r for r in results if isinstance(r, MemberHubError)]
    assert len(errors) == 1 and errors[0].code == "duplicate"


def test_two_change_requests_at_once_leave_one_pending():
    member = MemberFactory()
    results = _race(
        lambda: change_request_submit(member=member, changes={"occupation": "医生"}, actor=Actor.member()),
        lambda: change_request_submit(member=member, changes={"occupation": "教师"}, actor=Actor.member()),
    )
    assert ChangeRequest.objects.filter(member=member, status="pending").count() == 1
    assert sum(isinstance(r, MemberHubError) for r in results) == 1
