"""EVAL-2 closeness: event attendance (check-ins at the door) is the "response to events" component
with its own weight (seed 000 会员关系紧密度 对活动的响应; 002 六 会员活动)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engagement.models import CheckIn, Event, Registration
from evaluation.closeness import closeness_compute
from evaluation.models import ClosenessSnapshot, ClosenessWeights
from tests.factories import MemberFactory, StoreFactory

from .conftest import AS_OF, at, days_before, purchase

pytestmark = pytest.mark.django_db


def _attend(member, day: dt.date, *, checked_in: bool = True) -> Registration:
    event = Event.objects.create(title=f"沙龙 {day}", store=member.home_store, starts_at=at(day, 14),
                                 ends_at=at(day, 16), capacity=50)
    reg = Registration.objects.create(event=event, member=member)
    if checked_in:
        CheckIn.objects.create(registration=reg, at=at(day, 14, 5))
    return reg


def _weights(**values):
    w = ClosenessWeights.get()
    for name in ("amount", "amount_change", "frequency", "response", "events", "referrals"):
        setattr(w, name, Decimal(values.get(name, "0")))
    w.save()
    return w


def test_check_ins_in_the_year_are_counted_and_weighted():
    """goer: 2 check-ins in the year (one on D itself, one 364 days back), 1 a year and a day ago (out);
    signed: signed up but never checked in (0); buyer: no event. With only the events weight the goer
    scores 100 and is in the population even without a purchase."""
    store = StoreFactory()
    goer, signed, buyer = (MemberFactory(home_store=store) for _ in range(3))
    _attend(goer, AS_OF)
    _attend(goer, days_before(364))
    _attend(goer, days_before(365))
    _attend(signed, days_before(10), checked_in=False)
    purchase(signed, days_before(3), 10)
    purchase(buyer, days_before(3), 500)
    closeness_compute(as_of=AS_OF, weights=_weights(events="1"))
    snaps = {s.member_id: s for s in ClosenessSnapshot.objects.filter(as_of=AS_OF)}
    assert {pk: s.events for pk, s in snaps.items()} == {goer.pk: 2, signed.pk: 0, buyer.pk: 0}
    assert snaps[goer.pk].score == Decimal("100.00")
    assert snaps[signed.pk].score == snaps[buyer.pk].score == Decimal("0.00")


def test_events_weight_mixes_with_the_other_components():
    """Weights amount 1, events 1: PERCENT_RANK (0–1) in a population of three, ties share the lower rank.
    buyer: amount 1, events 0 → 50; goer: amount 0 (no purchase), events 0.5 (tied with both) → 25;
    both: amount 0.5, events 0.5 → 50.
    With the events weight at 0 attendance changes nothing (the component is ignored, as before)."""
    store = StoreFactory()
    buyer, goer, both = (MemberFactory(home_store=store) for _ in range(3))
    purchase(buyer, days_before(2), 900)
    purchase(both, days_before(2), 100)
    _attend(goer, days_before(20))
    _attend(both, days_before(20))
    closeness_compute(as_of=AS_OF, weights=_weights(amount="1", events="1"))
    got = dict(ClosenessSnapshot.objects.filter(as_of=AS_OF).values_list("member_id", "score"))
    assert got == {buyer.pk: Decimal("50.00"), goer.pk: Decimal("25.00"), both.pk: Decimal("50.00")}
    closeness_compute(as_of=AS_OF, weights=_weights(amount="1"))
    got = dict(ClosenessSnapshot.objects.filter(as_of=AS_OF).values_list("member_id", "score"))
    assert got == {buyer.pk: Decimal("100.00"), goer.pk: Decimal("0.00"), both.pk: Decimal("50.00")}


def test_default_weights_include_events():
    w = ClosenessWeights.get()
    assert w.events == Decimal("0.10")
