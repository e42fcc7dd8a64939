"""The desk's review queues (issue 16): the reviewer sees what is decided on (lines, payments, amounts, member,
who asked, the receipt and the till's record of it); no approve button on one's own entry, and the services
refuse it anyway — desk postings, points claims, abuse cases, adjustments."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.errors import PermissionDenied
from members import roles
from points.models import AbuseCase, Adjustment, DeskPosting, PointsAccount, PointsClaim, PointsConfig
from points.services import abuse, claims
from tests.factories import MemberFactory, StoreFactory, ensure_catalogue, make_staff
from tests.points.test_desk import purchase_data

pytestmark = [pytest.mark.django_db, pytest.mark.pinned_at("2026-11-25T15:00+08:00")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def member(store):
    return MemberFactory(home_store=store, name="王小明")


def balance(member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0


def card(body: str, element_id: str) -> str:
    start = body.index(f'id="{element_id}"')
    return body[start:body.index("</article>", start)]


def test_posting_queue_shows_lines_payments_member_and_who_posted(client, store, member):
    PointsConfig.objects.filter(pk=PointsConfig.get().pk).update(desk_posting_max_amount=Decimal("500.00"))
    ensure_catalogue(brands=("LANCOME", "NIKE"), categories=("化妆品", "运动"))
    clerk = make_staff(roles.FRONT_DESK, store=store, username="clerk-a")
    client.force_login(clerk)
    r = client.post(reverse("points_desk:purchase", args=[member.member_no]), purchase_data("OFF-9", amount="600.00", **{
        "lines-1-brand": "NIKE", "lines-1-category": "运动", "lines-1-amount": "99.00",
        "tenders-0-amount": "500.00", "tenders-1-type": "gift_card", "tenders-1-amount": "199.00"}))
    assert r.status_code == 302, r.content.decode()[-3000:]
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    body = client.get(reverse("points_desk:postings")).content.decode()
    posting = card(body, f"posting-{DeskPosting.objects.get().pk}")
    for text in ("OFF-9", "699.00", member.member_no, "王小明", member.tier.name, "clerk-a", "LANCOME", "NIKE",
                 "运动", "99.00", "WeChat Pay", "Gift card", "199.00", "no record of this receipt"):
        assert text in posting, text
    assert 'value="approve"' in posting and "own-entry" not in posting


def test_own_posting_shows_no_decision_buttons_and_the_server_refuses_them(client, store, member):
    PointsConfig.objects.filter(pk=PointsConfig.get().pk).update(desk_posting_max_amount=Decimal("500.00"))
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    manager.groups.add(Group.objects.get(name=roles.FRONT_DESK))
    manager = type(manager).objects.get(pk=manager.pk)
    client.force_login(manager)
    client.post(reverse("points_desk:purchase", args=[member.member_no]), purchase_data("OFF-10"))
    posting = card(client.get(reverse("points_desk:postings")).content.decode(),
                   f"posting-{DeskPosting.objects.get().pk}")
    assert "own-entry" in posting and 'value="approve"' not in posting and 'value="reject"' not in posting


def _desk_claim(client, staff, member, store, receipt_no="PAPER-9"):
    client.force_login(staff)
    client.post(reverse("points_desk:claim", args=[member.member_no]), {
        "store": store.pk, "receipt_no": receipt_no, "purchased_on": "2026-11-23", "amount": "250.00"})
    return PointsClaim.objects.get(receipt_no=receipt_no)


def test_whoever_entered_a_claim_cannot_approve_it(client, store, member):
    """Four eyes on claims: a service agent (who may both enter and review claims) entering a claim at the
    desk for a member does not credit it; another reviewer does."""
    agent = make_staff(roles.CUSTOMER_SERVICE, store=store, username="kefu-a")
    claim = _desk_claim(client, agent, member, store)
    assert claim.status == "pending" and claim.created_by == agent

    body = client.get(reverse("points_desk:claims")).content.decode()
    own = card(body, f"claim-{claim.pk}")
    assert "own-entry" in own and 'value="approve"' not in own
    assert 'value="reject"' in own  # withdrawing one's own mistaken claim stays possible
    # the server refuses what the page hides
    response = client.post(reverse("points_desk:claim_decide", args=[claim.pk]), {"decision": "approve"},
                           follow=True)
    assert "you entered this claim" in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "pending" and balance(member) == 0
    with pytest.raises(PermissionDenied):
        claims.claim_approve(claim=claim, staff=agent)

    other = make_staff(roles.CUSTOMER_SERVICE, store=store)
    client.force_login(other)
    body = client.get(reverse("points_desk:claims")).content.decode()
    shown = card(body, f"claim-{claim.pk}")
    for text in ("PAPER-9", "250.00", "2026-11-23", "kefu-a", "Service desk", member.member_no, "no record"):
        assert text in shown, text
    assert 'value="approve"' in shown
    client.post(reverse("points_desk:claim_decide", args=[claim.pk]), {"decision": "approve"})
    claim.refresh_from_db()
    assert claim.status == "credited" and claim.decided_by == other and balance(member) == 250


def test_a_flagged_clerk_cannot_decide_the_case_about_them(client, store):
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    case = AbuseCase.objects.create(flag="clerk_many_members", clerk=manager, store=store, detail="12 members today",
                                    flagged_on="2026-11-25")
    client.force_login(manager)
    own = card(client.get(reverse("points_desk:abuse")).content.decode(), f"case-{case.pk}")
    assert "own-entry" in own and 'value="dismiss"' not in own
    client.post(reverse("points_desk:abuse_decide", args=[case.pk]), {"decision": "dismiss", "reason": "没事"})
    case.refresh_from_db()
    assert case.status == "open"
    with pytest.raises(PermissionDenied):
        abuse.abuse_case_decide(case=case, staff=manager, decision="dismiss", note="没事")

    other = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(other)
    shown = card(client.get(reverse("points_desk:abuse")).content.decode(), f"case-{case.pk}")
    assert "12 members today" in shown and 'value="dismiss"' in shown
    client.post(reverse("points_desk:abuse_decide", args=[case.pk]), {"decision": "dismiss", "reason": "门店活动"})
    case.refresh_from_db()
    assert case.status == "dismissed" and case.decided_by == other


def test_unknown_decision_is_refused_with_the_queue_message(client, store, member):
    agent = make_staff(roles.CUSTOMER_SERVICE, store=store)
    claim = _desk_claim(client, agent, member, store)
    client.force_login(make_staff(roles.CUSTOMER_SERVICE, store=store))
    response = client.post(reverse("points_desk:claim_decide", args=[claim.pk]), {"decision": "suspend"},
                           follow=True)
    assert "Choose approve or reject." in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == "pending"


def test_own_adjustment_shows_no_decision_buttons(client, store, member):
    PointsConfig.objects.filter(pk=PointsConfig.get().pk).update(adjustment_approval_threshold=10)
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(manager)
    client.post(reverse("points_desk:adjust", args=[member.member_no]), {"points": 500, "reason": "补偿"})
    body = client.get(reverse("points_desk:adjustments")).content.decode()
    row = body[body.index(f'id="adjustment-{Adjustment.objects.get().pk}"'):]
    row = row[:row.index("</tr>")]
    assert "own-entry" in row and 'value="approve"' not in row
