"""Alliance partner codes (BEN-6) and member events (BEN-7) through their services."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from engagement import services
from engagement.models import CheckIn, Invitation, Partner, RedemptionCode, Registration
from engagement.selectors import event_outcome
from members.models import MemberTag, Tag
from messaging.models import Notice
from points.models import Purchase
from tests.factories import MemberFactory, StoreFactory

from .conftest import make_event, make_offer

pytestmark = pytest.mark.django_db


def test_code_issued_only_to_eligible_tiers_and_within_limit(tiers):
    """BEN-6: offers by tier, per-member limit."""
    offer = make_offer(tiers=[tiers["gold"]], limit=2)
    gold = MemberFactory(tier=tiers["gold"])
    normal = MemberFactory()
    with pytest.raises(PermissionDenied):
        services.redemption_code_issue(member=normal, offer=offer)
    a = services.redemption_code_issue(member=gold, offer=offer)
    b = services.redemption_code_issue(member=gold, offer=offer)
    assert a.code != b.code and len(a.code) >= 10
    with pytest.raises(Conflict):
        services.redemption_code_issue(member=gold, offer=offer)


def test_code_not_issued_outside_validity(tiers):
    offer = make_offer(tiers=[tiers["normal"]], valid_from=timezone.now() + dt.timedelta(days=1),
                       valid_until=timezone.now() + dt.timedelta(days=2))
    with pytest.raises(ValidationFailed):
        services.redemption_code_issue(member=MemberFactory(), offer=offer)


def test_partner_verifies_own_code_once_and_not_others(tiers):
    offer = make_offer(tiers=[tiers["normal"]])
    other = Partner.objects.create(name="万达影城", kind="cinema")
    rc = services.redemption_code_issue(member=MemberFactory(), offer=offer)
    with pytest.raises(NotFound):
        services.redemption_code_verify(partner=other, code=rc.code)
    used = services.redemption_code_verify(partner=offer.partner, code=rc.code.lower())
    assert used.status == RedemptionCode.Status.USED and used.used_at
    with pytest.raises(Conflict):
        services.redemption_code_verify(partner=offer.partner, code=rc.code)


def test_expired_codes_refused_and_marked(tiers):
    offer = make_offer(tiers=[tiers["normal"]])
    rc = services.redemption_code_issue(member=MemberFactory(), offer=offer)
    later = offer.valid_until + dt.timedelta(minutes=1)
    with pytest.raises(Conflict):
        services.redemption_code_verify(partner=offer.partner, code=rc.code, now=later)
    assert services.redemption_codes_expire(now=later) == 1
    rc.refresh_from_db()
    assert rc.status == RedemptionCode.Status.EXPIRED


def test_invite_by_tier_and_tag_is_set_wise_idempotent_and_notifies(tiers):
    store = StoreFactory()
    gold = [MemberFactory(tier=tiers["gold"]) for _ in range(3)]
    MemberFactory()  # normal: not invited
    event = make_event(store=store, tiers=[tiers["gold"]])
    assert services.event_invite(event=event) == 3
    assert services.event_invite(event=event) == 0
    assert set(Invitation.objects.filter(event=event).values_list("member_id", flat=True)) == {m.pk for m in gold}
    assert Notice.objects.filter(kind="event_invitation", ref=f"event:{event.pk}").count() == 3

    vip = Tag.objects.create(name="VIP沙龙")
    MemberTag.objects.create(member=gold[0], tag=vip)
    tagged = make_event(store=store, tiers=[tiers["gold"]])
    tagged.audience_tags.set([vip])
    assert services.event_invite(event=tagged) == 1


def test_event_without_audience_invites_nobody():
    MemberFactory()
    assert services.event_invite(event=make_event(store=StoreFactory())) == 0


def _invited(event, n=1, **kw):
    members = [MemberFactory(**kw) for _ in range(n)]
    Invitation.objects.bulk_create([Invitation(event=event, member=m) for m in members])
    return members


def test_sign_up_counts_guests_against_capacity_and_allowance():
    event = make_event(store=StoreFactory(), capacity=4, guests=2)
    a, b, c = _invited(event, 3)
    with pytest.raises(ValidationFailed):
        services.event_sign_up(event=event, member=a, guests=3)
    services.event_sign_up(event=event, member=a, guests=2)  # 3 people
    with pytest.raises(Conflict):
        services.event_sign_up(event=event, member=b, guests=1)  # would be 5
    services.event_sign_up(event=event, member=b, guests=0)  # 4
    with pytest.raises(Conflict):
        services.event_sign_up(event=event, member=c)
    reg = Registration.objects.get(event=event, member=a)
    services.event_sign_up_cancel(registration=reg)
    services.event_sign_up(event=event, member=c, guests=2)


def test_sign_up_needs_an_invitation():
    event = make_event(store=StoreFactory())
    with pytest.raises(NotFound):
        services.event_sign_up(event=event, member=MemberFactory())


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_never_exceed_capacity_with_guests():
    """BEN-7: 8 members with one guest each race for 5 places: at most 2 get in (4 people)."""
    event = make_event(store=StoreFactory(), capacity=5, guests=1)
    members = _invited(event, 8)
    barrier = threading.Barrier(len(members))
    results = []

    def run(m):
        try:
            barrier.wait()
            services.event_sign_up(event=event, member=m, guests=1)
            results.append("ok")
        except Conflict:
            results.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 2 and results.count("full") == 6
    people = sum(r.people for r in Registration.objects.filter(event=event, status="registered"))
    assert people == 4


def test_check_in_by_signed_qr_once():
    event = make_event(store=StoreFactory(), starts_in=dt.timedelta(minutes=30))
    (m,) = _invited(event)
    reg = services.event_sign_up(event=event, member=m)
    payload = services.check_in_payload(reg)
    with pytest.raises(ValidationFailed):
        services.event_check_in(payload=payload[:-2] + "xx", event=event)
    other = make_event(store=event.store, starts_in=dt.timedelta(minutes=30))
    with pytest.raises(NotFound):
        services.event_check_in(payload=payload, event=other)
    services.event_check_in(payload=payload, event=event)
    with pytest.raises(Conflict):
        services.event_check_in(payload=payload, event=event)
    assert CheckIn.objects.filter(registration=reg).count() == 1


def test_feedback_only_from_attendees_once():
    event = make_event(store=StoreFactory(), starts_in=dt.timedelta(minutes=30))
    a, b = _invited(event, 2)
    ra = services.event_sign_up(event=event, member=a)
    rb = services.event_sign_up(event=event, member=b)
    services.event_check_in(payload=services.check_in_payload(ra), event=event)
    after = event.ends_at + dt.timedelta(hours=1)
    with pytest.raises(PermissionDenied):
        services.event_feedback_submit(registration=rb, rating=5, now=after)
    with pytest.raises(ValidationFailed):
        services.event_feedback_submit(registration=ra, rating=6, now=after)
    services.event_feedback_submit(registration=ra, rating=4, comment="很好", now=after)
    with pytest.raises(Conflict):
        services.event_feedback_submit(registration=ra, rating=5, now=after)


def test_outcome_report_figures_hand_checked():
    """Invited 4, signed up 3 (5 people), attended 2, ratings 5 and 3 -> 4.0; sales of attendees
    inside the window only: 100 + 50.50 (not the 999 before, nor the non-attendee's 70)."""
    store = StoreFactory()
    event = make_event(store=store, capacity=10, guests=2, starts_in=dt.timedelta(minutes=30))
    a, b, c, _d = _invited(event, 4)
    ra = services.event_sign_up(event=event, member=a, guests=2)
    rb = services.event_sign_up(event=event, member=b)
    services.event_sign_up(event=event, member=c)
    for r in (ra, rb):
        services.event_check_in(payload=services.check_in_payload(r), event=event)
    after = event.ends_at
    services.event_feedback_submit(registration=ra, rating=5, now=after)
    services.event_feedback_submit(registration=rb, rating=3, now=after)
    inside = event.starts_at + dt.timedelta(minutes=30)

    def buy(member, at, paid, no):
        Purchase.objects.create(store=store, order_no=no, member=member, occurred_at=at, amount_total=paid,
                                amount_paid=paid, request_hash="x")

    buy(a, inside, Decimal("100.00"), "1")
    buy(b, inside, Decimal("50.50"), "2")
    buy(a, event.starts_at - dt.timedelta(hours=1), Decimal("999.00"), "3")
    buy(c, inside, Decimal("70.00"), "4")
    report = event_outcome(event)
    keys = ("invited", "signed_up", "signed_up_people", "attended", "feedback_count", "satisfaction",
            "sales_amount", "sales_orders")
    assert {k: report[k] for k in keys} == {
        "invited": 4, "signed_up": 3, "signed_up_people": 5, "attended": 2, "feedback_count": 2,
        "satisfaction": Decimal("4.00") if isinstance(report["satisfaction"], Decimal) else 4.0,
        "sales_amount": Decimal("150.50"), "sales_orders": 2}


def test_nightly_job_expires_codes_of_ended_offers_and_is_scheduled(tiers):
    """BEN-6: the expiry runs as the nightly job `expire_partner_codes` (seeded beat schedule); re-runs do nothing."""
    import time_machine
    from django_celery_beat.models import PeriodicTask

    from core.jobs import run_job

    offer = make_offer(tiers=[tiers["normal"]])
    rc = services.redemption_code_issue(member=MemberFactory(), offer=offer)
    with time_machine.travel(offer.valid_until + dt.timedelta(hours=1)):
        first = run_job("expire_partner_codes")
        again = run_job("expire_partner_codes")
    rc.refresh_from_db()
    assert rc.status == RedemptionCode.Status.EXPIRED and first.counts == {"codes": 1}
    assert again.counts == {"codes": 0}
    assert PeriodicTask.objects.filter(name="nightly: expire_partner_codes", args='["expire_partner_codes"]').exists()
