"""The member's inbox on the portal (MSG-2 notices) and the unread count in the portal nav (SEC-3)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Member
from messaging.models import Notice
from tests.factories import MemberFactory
from tests.members.test_portal import login_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client) -> Member:
    m = MemberFactory()
    login_as(client, m)
    return m


def test_inbox_pages_redirect_anonymous_to_login(client):
    assert client.get(reverse("messaging_portal:inbox")).status_code == 302
    assert client.get(reverse("messaging_portal:notice")).status_code == 302
    assert client.post(reverse("messaging_portal:inbox_read_all")).status_code == 302


def test_inbox_lists_newest_first_marks_read_when_opened_and_counts_unread(client, member):
    old = Notice.objects.create(member=member, kind="k", ref="1", title="旧消息", body="a")
    new = Notice.objects.create(member=member, kind="k", ref="2", title="新消息", body="b")
    Notice.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    response = client.get(reverse("messaging_portal:inbox"))
    assert [n.pk for n in response.context["page"].object_list] == [new.pk, old.pk]
    assert response.context["inbox_unread"] == 2
    assert 'id="inbox-unread"' in response.content.decode()
    opened = client.get(reverse("messaging_portal:notice"), {"id": new.pk})
    assert opened.status_code == 200 and "新消息" in opened.content.decode()
    new.refresh_from_db()
    assert new.read_at is not None
    assert opened.context["inbox_unread"] == 1
    first_read = new.read_at
    client.get(reverse("messaging_portal:notice"), {"id": new.pk})
    new.refresh_from_db()
    assert new.read_at == first_read  # reopening keeps the first read time


def test_inbox_mark_all_read(client, member):
    for i in range(3):
        Notice.objects.create(member=member, kind="k", ref=str(i), title=f"t{i}", body="b")
    client.post(reverse("messaging_portal:inbox_read_all"))
    assert not Notice.objects.filter(member=member, read_at__isnull=True).exists()
    assert 'id="inbox-unread"' not in client.get(reverse("messaging_portal:inbox")).content.decode()


def test_another_members_notice_is_not_found_and_stays_unread(client, member):
    other = MemberFactory()
    notice = Notice.objects.create(member=other, kind="k", ref="x", title="别人的消息", body="b")
    assert client.get(reverse("messaging_portal:notice"), {"id": notice.pk}).status_code == 404
    client.post(reverse("messaging_portal:inbox_read_all"))
    notice.refresh_from_db()
    assert notice.read_at is None
    assert "别人的消息" not in client.get(reverse("messaging_portal:inbox")).content.decode()



def test_portal_nav_context_counts_unread_only_when_shown(rf, member, django_assert_num_queries):
    """The context processor base.html needs on every portal page: lazy, one query when used."""
    from messaging.context_processors import portal_nav

    Notice.objects.create(member=member, kind="k", ref="1", title="t", body="b")
    request = rf.get("/portal/")
    request.member = member
    with django_assert_num_queries(0):
        context = portal_nav(request)
    with django_assert_num_queries(1):
        assert context["inbox_unread"] == 1 and bool(context["inbox_unread"])
    request.member = None
    assert portal_nav(request) == {}


def test_portal_inbox_urls_carry_no_converters():
    """SEC-3: the notice id travels in the query string, never in the path."""
    from messaging import portal_urls

    for pattern in portal_urls.urlpatterns:
        assert not pattern.pattern.converters, pattern
