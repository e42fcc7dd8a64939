"""Two desks selling a plan to one member at the same moment (issue 18), on PostgreSQL with threads: the
member row serialises them; both pages showed "no membership", so one sale stands and the other is
refused with the reason — one membership, one purchase in its history."""
from decimal import Decimal

import pytest

from core.errors import MemberHubError
from plans.models import MembershipEvent, MembershipPlan, PaidMembership, Source
from plans.services import membership_buy
from tests.factories import MemberFactory
from tests.support import race

pytestmark = pytest.mark.pinned_at("2026-03-10T12:00+08:00")


@pytest.mark.django_db(transaction=True)
def test_two_desks_buying_for_one_member_make_one_membership():
    plan = MembershipPlan.objects.create(name="年卡", code="annual", price=Decimal("299.00"))
    member = MemberFactory()

    def sell(receipt):
        return lambda: membership_buy(member=member, plan=plan, source=Source.DESK, purchase_ref=f"desk:S1:{receipt}",
                                      price_paid=Decimal("299.00"), actor="command", expected_ends_on=None)

    results = race([sell("A"), sell("B"), sell("A")])
    assert PaidMembership.objects.filter(member=member).count() == 1
    assert MembershipEvent.objects.filter(member=member).count() == 1
    refused = [r for r in results if isinstance(r, MemberHubError)]
    sold = [r for r in results if not isinstance(r, MemberHubError)]
    assert sold and all(r.membership.pk == PaidMembership.objects.get().pk for r in sold)
    assert all(r.code == "membership_changed" for r in refused), results


@pytest.mark.django_db(transaction=True)
def test_a_till_retry_racing_itself_buys_once():
    plan = MembershipPlan.objects.create(name="年卡", code="annual", price=Decimal("299.00"))
    member = MemberFactory()

    def sell():
        return membership_buy(member=member, plan=plan, source=Source.TILL, purchase_ref="till:S1:O1:0",
                              price_paid=Decimal("299.00"), actor="till:S1")

    results = race([sell, sell, sell])
    assert not [r for r in results if isinstance(r, MemberHubError)], results
    assert sum(r.created for r in results) == 1
    assert PaidMembership.objects.get(member=member).price_paid == Decimal("299.00")
