"""Paid membership pages (issue 18) through the test client, in Chinese: the member 360 panel and the sale
and refund pages at the desk, the member centre card and plan page in the portal, the dashboard panel,
and the admin."""
import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from members import roles
from plans.models import MembershipEvent, PaidMembership, Source
from plans.services import membership_buy
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-03-10T12:00+08:00")]
SH = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store)


@pytest.fixture
def desk(store):
    return make_staff(roles.FRONT_DESK, store=store)


def test_member_page_loads_the_plan_panel_with_the_sale_link(client, desk, member, plan):
    client.force_login(desk)
    page = client.get(reverse("desk:member", args=[member.member_no])).content.decode()
    assert 'id="panel-plan"' in page and reverse("plans_desk:panel", args=[member.member_no]) in page
    panel = client.get(reverse("plans_desk:panel", args=[member.member_no])).content.decode()
    assert "无付费会员" in panel and reverse("plans_desk:buy", args=[member.member_no]) in panel


def test_desk_sells_then_a_resubmitted_form_buys_once_and_a_stale_page_is_refused(client, desk, member, plan):
    client.force_login(desk)
    url = reverse("plans_desk:buy", args=[member.member_no])
    form = client.get(url)
    assert form.status_code == 200 and "年卡" in form.content.decode()
    data = {"plan": plan.pk, "amount": "299.00", "receipt_no": "RC-1", "seen_ends_on": ""}
    r = client.post(url, data)
    assert r.status_code == 302 and r["Location"].endswith("#panel-plan")
    assert client.post(url, data).status_code == 302  # the same receipt: the first sale
    m = PaidMembership.objects.get(member=member)
    assert m.source == "desk" and m.purchase_ref.endswith(":RC-1") and MembershipEvent.objects.count() == 1
    stale = client.post(url, {**data, "receipt_no": "RC-2"})  # another desk's page that showed no membership
    assert stale.status_code == 400 and "另一个服务台" in stale.content.decode()
    renew = client.post(url, {**data, "receipt_no": "RC-3", "seen_ends_on": m.ends_on.isoformat()})
    assert renew.status_code == 302
    m.refresh_from_db()
    assert m.ends_on == dt.date(2028, 3, 9)
    panel = client.get(reverse("plans_desk:panel", args=[member.member_no])).content.decode()
    assert "2028-03-09" in panel and "续费" in panel and 'id="plan-history"' in panel
    wrong = client.post(url, {**data, "amount": "1.00", "receipt_no": "RC-4", "seen_ends_on": m.ends_on.isoformat()})
    assert wrong.status_code == 400 and "299.00" in wrong.content.decode()


def test_desk_refund_shows_the_rules_amount_and_records_it(client, desk, member, plan):
    m = membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref="R1", price_paid=plan.price,
                       actor="command").membership
    url = reverse("plans_desk:refund", args=[member.member_no, m.pk])
    with time_machine.travel(dt.datetime(2026, 6, 10, 12, tzinfo=SH)):
        client.force_login(desk)  # a desk session lasts a working day
        page = client.get(url)
        assert page.status_code == 200 and "222.81" in page.content.decode()
        assert client.post(url, {"reason": ""}).status_code == 400
        assert client.post(url, {"reason": "会员搬家"}).status_code == 302
    m.refresh_from_db()
    assert m.status == "refunded" and m.refunded_amount == Decimal("222.81")
    assert MembershipEvent.objects.get(kind="refunded").amount == Decimal("222.81")


def test_desk_pages_need_the_roles_permissions(client, member, plan):
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=member.home_store))
    assert client.get(reverse("plans_desk:panel", args=[member.member_no])).status_code == 200
    assert client.get(reverse("plans_desk:buy", args=[member.member_no])).status_code == 403
    other_store_desk = make_staff(roles.FRONT_DESK)
    client.force_login(other_store_desk)
    assert client.get(reverse("plans_desk:buy", args=[member.member_no])).status_code == 404


def test_portal_member_centre_and_plan_page_show_plan_dates_benefits_and_history(client, member, plan):
    login_as(client, member)
    card = client.get(reverse("plans_portal:home_card")).content.decode()
    assert "尚未开通付费会员" in card
    assert "年卡" in client.get(reverse("plans_portal:status")).content.decode()  # what a plan offers
    membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref="R1", price_paid=plan.price,
                   actor="command")
    home = client.get(reverse("portal:home")).content.decode()
    assert reverse("plans_portal:home_card") in home
    card = client.get(reverse("plans_portal:home_card")).content.decode()
    assert "年卡" in card and "2027-03-09" in card
    page = client.get(reverse("plans_portal:status")).content.decode()
    assert "2026-03-10 – 2027-03-09" in page and "2027-03-24" in page
    assert "+0.5" in page and "每日多 3 小时免费停车" in page and 'id="plan-history"' in page and "299.00" in page


def test_operations_dashboard_shows_paid_members_renewals_and_churn(client, plan):
    a, b = MemberFactory(), MemberFactory()
    for member, ref in ((a, "A"), (b, "B")):
        membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref=ref, price_paid=plan.price,
                       actor="command")
    membership_buy(member=a, plan=plan, source=Source.DESK, purchase_ref="A2", price_paid=plan.price, actor="command")
    from plans.services import membership_refund

    membership_refund(membership=PaidMembership.objects.get(member=b), actor="command", reason="x")
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    r = client.get("/desk/dashboards/", {"date_from": "2026-03-01", "date_to": "2026-03-10"})
    assert r.status_code == 200
    row = next(x for x in r.context["plan_figures"] if x.plan == "年卡")
    assert (row.paid_members, row.bought, row.renewed, row.refunded, row.churn_percent) == (1, 2, 1, 1, "50.0")
    assert 'id="dash-plans"' in r.content.decode()


def test_admin_lists_plans_and_memberships_read_only(client, member, plan):
    from django.contrib.auth import get_user_model

    membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref="R1", price_paid=plan.price,
                   actor="command")
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-42")
    client.force_login(admin)
    for name in ("membershipplan", "paidmembership", "membershipevent"):
        assert client.get(reverse(f"admin:plans_{name}_changelist")).status_code == 200
    m = PaidMembership.objects.get()
    assert client.get(reverse("admin:plans_paidmembership_change", args=[m.pk])).status_code == 200
    assert client.get(reverse("admin:plans_membershipplan_change", args=[plan.pk])).status_code == 200
    assert client.get(reverse("admin:plans_paidmembership_add")).status_code == 403


def test_panel_and_portal_page_query_counts_do_not_grow_with_history(client, desk, member, plan,
                                                                      django_assert_max_num_queries):
    for n in range(6):
        with time_machine.travel(dt.datetime(2026, 3, 10 + n, 12, tzinfo=SH)):
            membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref=f"R{n}", price_paid=plan.price,
                           actor="command")
    client.force_login(desk)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("plans_desk:panel", args=[member.member_no])).status_code == 200
    client.logout()
    login_as(client, member)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("plans_portal:status")).status_code == 200
