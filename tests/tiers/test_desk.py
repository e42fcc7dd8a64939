"""Desk pages of tiers (TIER-4..5) through the Django test client: the member 360 tier panel, manual
grants and the proposal queue."""
import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from members import roles
from members.models import Member, Tier
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.points.helpers import buy
from tiers.models import TierChange, TierProposal

pytestmark = pytest.mark.django_db


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
    return MemberFactory(home_store=store, name="王小明")


def url(name, *args):
    """A desk URL by name: the member pages are members' (desk:), the rest tiers' (tiers_desk:)."""
    return reverse(name if ":" in name else f"tiers_desk:{name}", args=args)


def page_messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# ---------------------------------------------------------------- member 360 tier panel (TIER-5)


def test_tier_panel_shows_status_and_history_on_the_member_page(client, desk, member, store):
    """TIER-5: the member 360 page (members) loads the tier panel from tiers' URL, registered in
    tiers.apps (core.panels), so members imports nothing of tiers."""
    buy(member, store, "500.00", order_no="POS-T1")
    client.force_login(desk)
    page = client.get(url("desk:member", member.member_no)).content.decode()
    assert 'id="panel-tier"' in page and url("panel", member.member_no) in page
    response = client.get(url("panel", member.member_no))
    assert response.status_code == 200
    assert response.context["tier_status"].rolling_amount == Decimal("500.00")
    body = response.content.decode()
    assert 'id="tier-status"' in body and 'id="tier-history"' in body
    assert url("grant", member.member_no) not in body  # the front desk cannot grant


def test_tier_panel_offers_the_grant_to_managers_and_is_bounded(client, manager, member,
                                                                 django_assert_max_num_queries):
    client.force_login(manager)
    client.get(url("desk:home"))  # warm the session
    with django_assert_max_num_queries(12):
        response = client.get(url("panel", member.member_no))
    assert url("grant", member.member_no) in response.content.decode()


# ---------------------------------------------------------------- tiers (TIER-4)


def test_manual_tier_grant(client, manager, member):
    gold = Tier.objects.get(code="gold")
    until = timezone.localdate() + dt.timedelta(days=90)
    client.force_login(manager)
    response = client.post(url("grant", member.member_no),
                           {"tier": gold.pk, "until": until.isoformat(), "reason": "VIP 客户"}, follow=True)
    assert "granted" in page_messages(response)
    member.refresh_from_db()
    assert member.tier == gold and member.tier_floor_until == until
    assert TierChange.objects.get(member=member).kind == "manual"
    past = timezone.localdate() - dt.timedelta(days=1)
    response = client.post(url("grant", member.member_no),
                           {"tier": gold.pk, "until": past.isoformat(), "reason": "x"})
    assert response.status_code == 400 and response.context["form"].errors["until"]


def _proposal(member, to_code="silver") -> TierProposal:
    return TierProposal.objects.create(
        member=member, from_tier=member.tier, to_tier=Tier.objects.get(code=to_code), kind="upgrade",
        rolling_amount=Decimal("6000.00"), rolling_visits=3, created_on=timezone.localdate() - dt.timedelta(days=1),
        effective_on=timezone.localdate(),
    )


def test_tier_proposal_queue_approve_single_and_bulk_and_reject(client, manager, store):
    members = [MemberFactory(home_store=store) for _ in range(4)]
    proposals = [_proposal(m) for m in members]
    stranger = _proposal(MemberFactory())  # another store: not listed
    client.force_login(manager)
    queue = client.get(url("proposals"))
    assert queue.status_code == 200
    assert list(queue.context["page"].object_list) == proposals
    assert stranger not in queue.context["page"].object_list

    response = client.post(url("proposals_decide"), {"proposal": proposals[0].pk, "decision": "approve"},
                           follow=True)
    assert "1 proposal(s) approved" in page_messages(response)
    response = client.post(url("proposals_decide"),
                           {"proposal": [proposals[1].pk, proposals[2].pk, stranger.pk], "decision": "approve"},
                           follow=True)
    assert "2 proposal(s) approved" in page_messages(response)
    assert f"Proposal #{stranger.pk}" in page_messages(response)
    assert [Member.objects.get(pk=m.pk).tier.code for m in members] == ["silver", "silver", "silver", "normal"]

    response = client.post(url("proposals_decide"), {"proposal": proposals[3].pk, "decision": "reject"},
                           follow=True)
    assert "reason for the rejection" in page_messages(response)
    proposals[3].refresh_from_db()
    assert proposals[3].status == "pending"
    client.post(url("proposals_decide"), {"proposal": proposals[3].pk, "decision": "reject",
                                               "reason": "企业采购"})
    proposals[3].refresh_from_db()
    assert proposals[3].status == "rejected" and proposals[3].decided_by == manager
    stranger.refresh_from_db()
    assert stranger.status == "pending"


# ---------------------------------------------------------------- scope and permissions (SEC-3)


def test_other_stores_member_is_404(client, manager):
    stranger = MemberFactory()
    client.force_login(manager)
    assert client.get(url("panel", stranger.member_no)).status_code == 404
    assert client.post(url("grant", stranger.member_no),
                       {"tier": Tier.objects.get(code="gold").pk, "until": "2099-01-01", "reason": "x"}
                       ).status_code == 404
    assert not TierChange.objects.exists()


def test_roles_without_the_permission_get_403(client, store, member):
    auditor = make_staff(roles.AUDITOR, store=store)
    client.force_login(auditor)
    assert client.get(url("proposals")).status_code == 403

    desk = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(desk)
    assert client.get(url("grant", member.member_no)).status_code == 403
    assert client.post(url("proposals_decide"), {"proposal": 1, "decision": "approve"}).status_code == 403
