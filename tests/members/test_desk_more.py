"""Desk: tag/tier/status filters (MEM-7), periodic re-review queue (MEM-5), corporate buyers (MEM-1)."""
import datetime as dt

import pytest
from django.urls import reverse

from members import roles
from members.models import CorporateProfile, Member, MemberTag, Tag, Tier
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory()


def _login(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"


def test_search_filters_by_tag_without_text(client, store):
    """MEM-7: tags are filters on the desk list."""
    clerk = make_staff(store=store)
    tag = Tag.objects.create(name="珠宝偏好")
    tagged, other = MemberFactory(home_store=store), MemberFactory(home_store=store)
    outsider = MemberFactory()  # another store
    MemberTag.objects.create(member=tagged, tag=tag)
    MemberTag.objects.create(member=outsider, tag=tag)
    _login(client, clerk)
    response = client.get(reverse("desk:search"), {"tag": tag.pk, "q": ""})
    page = response.context["page"]
    assert [m.pk for m in page.object_list] == [tagged.pk]
    gold = Tier.objects.get(code="gold")
    other.tier = gold
    other.save()
    response = client.get(reverse("desk:search"), {"tier": gold.pk, "status": "active"})
    assert [m.pk for m in response.context["page"].object_list] == [other.pk]


def test_rereview_queue_confirms_and_suspends(client, store):
    """MEM-5: due members listed; confirming moves the date, suspending needs the permission."""
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    due = MemberFactory(home_store=store, next_review_on=dt.date(2020, 1, 1))
    MemberFactory(home_store=store, next_review_on=dt.date(2999, 1, 1))
    _login(client, manager)
    response = client.get(reverse("desk:rereviews"))
    assert [m.pk for m in response.context["page"].object_list] == [due.pk]
    client.post(reverse("desk:rereview_member", args=[due.member_no]), {"outcome": "suspend", "reason": "资料虚假"})
    due.refresh_from_db()
    assert due.status == Member.Status.SUSPENDED and due.next_review_on > dt.date.today()


def test_rereview_queue_needs_review_permission(client, store):
    _login(client, make_staff(roles.AUDITOR, store=store))
    assert client.get(reverse("desk:rereviews")).status_code == 403


def test_link_a_buyer_to_a_corporate_member(client, store):
    clerk = make_staff(store=store)
    company = MemberFactory(home_store=store, kind=Member.Kind.CORPORATE)
    CorporateProfile.objects.create(member=company, company_name="某公司", credit_code="91110000600037341L",
                                    contact_person="王")
    buyer = MemberFactory(home_store=store)
    _login(client, clerk)
    client.post(reverse("desk:member_buyer_link", args=[company.member_no]), {"buyer_no": buyer.member_no,
                                                                              "action": "link"})
    assert list(company.corporate.buyers.all()) == [buyer]
    outsider = MemberFactory()
    client.post(reverse("desk:member_buyer_link", args=[company.member_no]), {"buyer_no": outsider.member_no,
                                                                              "action": "link"})
    assert list(company.corporate.buyers.all()) == [buyer]
