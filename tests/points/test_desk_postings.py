"""Desk postings (补录, PTS-11): receipt required and checked against the till's postings, caps per posting and
per clerk per day with a second approver, every posting audited — through the desk pages."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog
from members import roles
from points.errors import PointsError
from points.models import DeskPosting, Entry, PointsAccount, PointsConfig, Purchase
from points.services.desk_postings import desk_posting_submit
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy
from tests.points.test_desk import page_messages, purchase_data

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T15:00+08:00")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def desk(store):
    return make_staff(roles.FRONT_DESK, store=store)


@pytest.fixture
def manager(store):
    return make_staff(roles.OPERATIONS_MANAGER, store=store)


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store)


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def post(client, member, data, **kw):
    return client.post(reverse("points_desk:purchase", args=[member.member_no]), data, **kw)


def audit_fields(member) -> list[str]:
    return list(AuditLog.objects.filter(member=member, action="desk_posting").order_by("at", "id")
                .values_list("field", flat=True))


def test_desk_posting_requires_a_receipt_number(client, desk, member):
    """PTS-11: no receipt, no posting (the form and the service both refuse)."""
    client.force_login(desk)
    response = post(client, member, purchase_data("   "))
    assert response.status_code == 400 and response.context["form"].errors["order_no"]
    with pytest.raises(PointsError) as exc:
        desk_posting_submit(staff=desk, member=member, store=member.home_store, receipt_no=" ",
                            occurred_at=timezone.now(),
                            lines=[{"amount": "10.00"}], tenders=[{"type": "cash", "amount": "10.00"}])
    assert exc.value.code == "receipt_required"
    assert not Purchase.objects.exists() and not DeskPosting.objects.exists()


def test_receipt_the_till_already_credited_is_refused_as_duplicate(client, desk, member, store):
    """PTS-11: a till purchase with this order number at this store already earned points: no second credit."""
    other = MemberFactory(home_store=store)
    buy(other, store, "680.00", order_no="POS-0001")
    client.force_login(desk)
    response = post(client, member, purchase_data("POS-0001"))
    assert response.status_code == 400
    assert "already posted by the till" in str(response.context["form"].errors["order_no"])
    assert balance(member) == 0 and not DeskPosting.objects.exists()


def test_receipt_of_a_member_less_till_sale_is_linked_not_posted_twice(client, desk, member, store):
    """PTS-11: the till posted the sale without a member; the desk posting gives it to the member (same bill)."""
    till = buy(None, store, "680.00", order_no="POS-0002")
    assert till.member is None and till.points_earned == 0
    client.force_login(desk)
    response = post(client, member, purchase_data("POS-0002", amount="600.00"))
    assert response.status_code == 400  # the bill differs from the till's record
    assert "680.00" in str(response.context["form"].errors["order_no"])
    response = post(client, member, purchase_data("POS-0002"), follow=True)
    assert "680 points earned" in page_messages(response)
    till.refresh_from_db()
    assert till.member == member and till.points_earned == 680 and Purchase.objects.count() == 1
    assert DeskPosting.objects.get().purchase == till
    assert balance(member) == 680


def test_posting_above_the_cap_waits_for_a_second_person(client, desk, manager, member, store):
    """PTS-11: above the per-posting cap the posting waits; the clerk cannot approve it, another person can;
    each step is audited."""
    PointsConfig.objects.filter(pk=PointsConfig.get().pk).update(desk_posting_max_amount=Decimal("500.00"))
    client.force_login(desk)
    response = post(client, member, purchase_data("OFF-0100"), follow=True)
    assert "waits for a second staff member" in page_messages(response)
    posting = DeskPosting.objects.get()
    assert posting.status == "pending" and posting.purchase is None
    assert balance(member) == 0 and not Purchase.objects.exists()
    assert audit_fields(member) == ["pending"]

    # the front desk lacks the approval permission
    assert client.post(reverse("points_desk:posting_decide", args=[posting.pk]),
                       {"decision": "approve"}).status_code == 403

    # a manager who posted it (also working the desk) is not a second person either
    manager.groups.add(Group.objects.get(name=roles.FRONT_DESK))
    manager = type(manager).objects.get(pk=manager.pk)
    client.force_login(manager)
    response = post(client, member, purchase_data("OFF-0101"), follow=True)
    own = DeskPosting.objects.get(receipt_no="OFF-0101")
    response = client.post(reverse("points_desk:posting_decide", args=[own.pk]), {"decision": "approve"},
                           follow=True)
    assert "must approve" in page_messages(response)
    own.refresh_from_db()
    assert own.status == "pending"

    queue = client.get(reverse("points_desk:postings"))
    assert [p.receipt_no for p in queue.context["rows"]] == ["OFF-0100", "OFF-0101"]
    response = client.post(reverse("points_desk:posting_decide", args=[posting.pk]), {"decision": "approve"},
                           follow=True)
    assert "approved" in page_messages(response)
    posting.refresh_from_db()
    assert posting.status == "posted" and posting.approved_by == manager and posting.purchase.source == "desk"
    assert balance(member) == 680
    assert audit_fields(member) == ["pending", "pending", "approved"]
    approved = AuditLog.objects.get(member=member, field="approved")
    assert approved.actor == manager and desk.get_username() in approved.detail

    # rejected with a reason: nothing credited, and the receipt may be posted again later
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=store))
    assert client.post(reverse("points_desk:posting_decide", args=[own.pk]), {"decision": "reject"},
                       follow=True).status_code == 200
    own.refresh_from_db()
    assert own.status == "pending"  # no reason, no rejection
    client.post(reverse("points_desk:posting_decide", args=[own.pk]), {"decision": "reject", "reason": "小票不符"})
    own.refresh_from_db()
    assert own.status == "rejected" and own.reject_reason == "小票不符"
    assert balance(member) == 680
    assert audit_fields(member)[-1] == "rejected"


def test_clerk_daily_cap_sends_the_posting_over_it_to_approval(client, desk, member, store):
    """PTS-11: the clerk's postings of the day (posted and waiting) count against the daily cap."""
    PointsConfig.objects.filter(pk=PointsConfig.get().pk).update(desk_clerk_daily_max_amount=Decimal("1000.00"))
    client.force_login(desk)
    post(client, member, purchase_data("OFF-0200", amount="600.00"))
    post(client, member, purchase_data("OFF-0201", amount="600.00"))
    first, second = DeskPosting.objects.order_by("id")
    assert first.status == "posted" and second.status == "pending"
    assert "daily cap" in second.approval_reason
    assert balance(member) == 600
    # another clerk's day is separate
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    post(client, member, purchase_data("OFF-0202", amount="600.00"))
    assert DeskPosting.objects.get(receipt_no="OFF-0202").status == "posted"


def test_every_desk_posting_is_audited_and_a_resubmit_credits_once(client, desk, member):
    client.force_login(desk)
    post(client, member, purchase_data("OFF-0300"))
    response = post(client, member, purchase_data("OFF-0300"), follow=True)
    assert "already posted" in page_messages(response)
    assert audit_fields(member) == ["posted"]
    log = AuditLog.objects.get(member=member, action="desk_posting")
    assert log.actor == desk and "OFF-0300" in log.detail and "680 points" in log.detail
    assert Entry.objects.filter(member=member, kind="credit").count() == 1
