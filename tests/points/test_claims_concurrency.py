"""Two concurrent points claims of one member-less till sale credit it once (PTS-11), on PostgreSQL with threads."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import MemberHubError
from points.models import Entry, PointsAccount, PointsClaim, Purchase
from points.reconcile import reconcile
from points.services.claims import claim_submit
from tests.factories import MemberFactory, StoreFactory
from tests.points.helpers import buy
from tests.support import race

pytestmark = pytest.mark.pinned_at("2026-11-25T12:00+08:00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_sale_credit_it_once():
    store = StoreFactory()
    buy(None, store, "680.00", order_no="POS-9", at=timezone.now() - dt.timedelta(days=1))
    member, rival = MemberFactory(home_store=store), MemberFactory(home_store=store)
    day = timezone.localdate() - dt.timedelta(days=1)

    def claim(who):
        return lambda: claim_submit(member=who, store=store, receipt_no="POS-9", purchased_on=day,
                                    amount=Decimal("680.00"), channel="portal")

    results = race([claim(member), claim(member), claim(rival), claim(member)])
    assert PointsClaim.objects.count() == 1
    winner = PointsClaim.objects.get()
    assert winner.status == "credited" and Purchase.objects.get().member == winner.member
    assert Entry.objects.filter(kind="credit").count() == 1
    assert sum(PointsAccount.objects.values_list("balance", flat=True)) == 680
    losers = [r for r in results if isinstance(r, MemberHubError)]
    assert all(r.code == "claim_duplicate" for r in losers), results
    assert not reconcile()
