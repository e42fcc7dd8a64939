"""EVAL-1 export, job and movement; EVAL-2 closeness; EVAL-4 lifecycle; EVAL-6 segments."""
import csv
import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from core.jobs import run_job
from core.models import JobRun
from evaluation import selectors
from evaluation.closeness import closeness_compute
from evaluation.lifecycle import lifecycle_compute
from evaluation.models import (
    ClosenessSnapshot,
    ClosenessWeights,
    LifecycleRule,
    LifecycleSnapshot,
    LifecycleStage,
    RfmClass,
    RfmSnapshot,
    Segment,
)
from evaluation.rfm import rfm_compute
from evaluation.services import referral_record, segment_save
from members.models import Member, MemberTag, Tag
from tests.factories import MemberFactory, StoreFactory

from .conftest import AS_OF, at, days_before, purchase, refund

pytestmark = pytest.mark.django_db


def test_export_writes_the_issue_columns_and_chinese_classes(tmp_path):
    store = StoreFactory()
    a, b = MemberFactory(home_store=store), MemberFactory(home_store=store)
    purchase(a, AS_OF, "100.50")
    purchase(a, days_before(1), 100)
    refund(purchase(b, days_before(30), 80), "30.25", days_before(29))
    call_command("compute_rfm", "--as-of", AS_OF.isoformat(), "--window", "365", stdout=open("/dev/null", "w"))
    out = tmp_path / "rfm.csv"
    call_command("export_rfm", "--as-of", AS_OF.isoformat(), "--out", str(out), stdout=open("/dev/null", "w"))
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["member_ref", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
                       "rfm_class"]
    got = {r[0]: r[1:] for r in rows[1:]}
    # a: R 0, F 2, M 200.50 -> 5 5 5; b: R 30, F 1, M 80 - 30.25 -> ceil(5 × 1/2) = 3 each.
    # Means R 15, F 1.5, M 125.125: a is high on all three, b on none.
    assert got[a.member_no] == ["0", "2", "200.50", "5", "5", "5", "重要价值"]
    assert got[b.member_no] == ["30", "1", "49.75", "3", "3", "3", "一般挽留"]


def test_nightly_job_computes_yesterday_and_reruns_idempotently():
    store = StoreFactory()
    m = MemberFactory(home_store=store)
    purchase(m, AS_OF, 10)
    run = run_job("compute_rfm", date=AS_OF + dt.timedelta(days=1))
    assert run.status == JobRun.Status.SUCCEEDED and run.counts["members"] == 1
    run_job("compute_rfm", date=AS_OF + dt.timedelta(days=1))
    assert RfmSnapshot.objects.filter(as_of=AS_OF).count() == 1


def test_movement_matrix_between_two_dates_by_store_and_tier(tiers):
    """EVAL-1 movement: classes on D1 × classes on D2; 'out' for members in one population only."""
    s1, s2 = StoreFactory(), StoreFactory()
    d1, d2 = days_before(30), AS_OF
    loyal, gone, fresh, other = (MemberFactory(home_store=s1), MemberFactory(home_store=s1),
                                 MemberFactory(home_store=s1), MemberFactory(home_store=s2, tier=tiers["gold"]))
    for day in (days_before(31), d1, days_before(1), d2):
        purchase(loyal, day, 500)
    purchase(gone, days_before(400), 10)  # in the D1 window only (365 days)
    purchase(gone, days_before(380), 10)
    purchase(fresh, d2, 5)
    purchase(other, d1, 50)
    rfm_compute(as_of=d1)
    rfm_compute(as_of=d2)
    all_stores = selectors.rfm_movement(from_as_of=d1, to_as_of=d2)
    c1 = {s.member_id: s.rfm_class for s in RfmSnapshot.objects.filter(as_of=d1)}
    c2 = {s.member_id: s.rfm_class for s in RfmSnapshot.objects.filter(as_of=d2)}
    assert all_stores.counts[(c1[gone.pk], selectors.OUT)] >= 1
    assert all_stores.counts[(selectors.OUT, c2[fresh.pk])] >= 1
    assert all_stores.total == 4
    only_s1 = selectors.rfm_movement(from_as_of=d1, to_as_of=d2, store_ids=[s1.pk])
    assert only_s1.total == 3
    gold = selectors.rfm_movement(from_as_of=d1, to_as_of=d2, tier_ids=[tiers["gold"].pk])
    assert gold.counts == {(c1[other.pk], c2[other.pk]): 1}
    assert len(gold.matrix()) == 9 and sum(map(sum, gold.matrix())) == 1


def test_closeness_weights_change_the_ranking():
    """EVAL-2: a big spender ranks first on amount weights, a referrer on referral weights."""
    store = StoreFactory()
    spender, referrer, other = (MemberFactory(home_store=store) for _ in range(3))
    purchase(spender, days_before(5), 5000)
    purchase(referrer, days_before(5), 100)
    purchase(other, days_before(6), 200)
    new_one, new_two = MemberFactory(home_store=store), MemberFactory(home_store=store)
    referral_record(referrer=referrer, referred=new_one)
    referral_record(referrer=referrer, referred=new_two)
    from evaluation.models import Referral

    Referral.objects.update(created_at=at(days_before(3)))

    def ranking(**weights):
        w = ClosenessWeights.get()
        for k, v in weights.items():
            setattr(w, k, Decimal(v))
        w.save()
        closeness_compute(as_of=AS_OF)
        return [s.member_id for s in selectors.closeness_ranked(as_of=AS_OF)]

    by_amount = ranking(amount="1", amount_change="0", frequency="0", response="0", events="0", referrals="0")
    assert by_amount[0] == spender.pk
    by_referrals = ranking(amount="0", amount_change="0", frequency="0", response="0", events="0", referrals="1")
    assert by_referrals[0] == referrer.pk
    snap = ClosenessSnapshot.objects.get(as_of=AS_OF, member=referrer)
    assert (snap.referrals, snap.score) == (2, Decimal("100.00"))
    assert ClosenessSnapshot.objects.filter(as_of=AS_OF).count() == 3  # re-run replaced, referred members idle
    histogram = selectors.closeness_histogram(as_of=AS_OF)
    assert sum(n for _lo, _hi, n in histogram) == 3 and histogram[-1][2] == 1


def test_campaign_purchases_and_redemptions_count_as_responses():
    from points.models import Campaign

    store = StoreFactory()
    m, n = MemberFactory(home_store=store), MemberFactory(home_store=store)
    Campaign.objects.create(name="Double", starts_at=at(days_before(12)), ends_at=at(days_before(8)), multiplier=2)
    purchase(m, days_before(10), 50)
    purchase(n, days_before(20), 50)
    closeness_compute(as_of=AS_OF)
    got = dict(ClosenessSnapshot.objects.filter(as_of=AS_OF).values_list("member_id", "responses"))
    assert got == {m.pk: 1, n.pk: 0}


def _joined(member, day):
    Member.objects.filter(pk=member.pk).update(created_at=at(day))


def test_lifecycle_rules_in_order():
    """EVAL-4: new, high value, active, at risk, lapsed (defaults 30 / 重要价值 or top 10% / 90 / 180)."""
    store = StoreFactory()
    m = {k: MemberFactory(home_store=store) for k in ("new", "vip", "active", "risk", "lapsed", "never")}
    for k, member in m.items():
        _joined(member, days_before(10 if k == "new" else 700))
    purchase(m["new"], days_before(2), 10)
    for i in range(6):
        purchase(m["vip"], days_before(i * 10), 900)
    purchase(m["active"], days_before(89), 20)
    purchase(m["risk"], days_before(90), 20)
    purchase(m["risk"], days_before(400), 20)
    purchase(m["lapsed"], days_before(180), 20)
    LifecycleRule.objects.filter(pk=1).update(high_value_top_percent=0)
    lifecycle_compute(as_of=AS_OF)
    got = dict(LifecycleSnapshot.objects.filter(as_of=AS_OF).values_list("member_id", "stage"))
    assert got == {m["new"].pk: LifecycleStage.NEW, m["vip"].pk: LifecycleStage.HIGH_VALUE,
                   m["active"].pk: LifecycleStage.ACTIVE, m["risk"].pk: LifecycleStage.AT_RISK,
                   m["lapsed"].pk: LifecycleStage.LAPSED, m["never"].pk: LifecycleStage.LAPSED}
    assert RfmSnapshot.objects.get(as_of=AS_OF, member=m["vip"]).rfm_class == RfmClass.IMPORTANT_VALUE
    # Rules are configuration: a longer active period makes the at-risk member active.
    LifecycleRule.objects.filter(pk=1).update(active_days=91)
    lifecycle_compute(as_of=AS_OF)
    assert LifecycleSnapshot.objects.get(as_of=AS_OF, member=m["risk"]).stage == LifecycleStage.ACTIVE
    assert LifecycleSnapshot.objects.filter(as_of=AS_OF).count() == 6
    counts = selectors.lifecycle_counts()
    assert counts[0][0] == AS_OF and counts[0][1][LifecycleStage.LAPSED] == 2


def test_lifecycle_high_value_by_top_share_of_amount():
    store = StoreFactory()
    members = [MemberFactory(home_store=store) for _ in range(10)]
    for i, member in enumerate(members):
        _joined(member, days_before(700))
        purchase(member, days_before(100), 100 * (i + 1))
    LifecycleRule.objects.filter(pk=1).update(high_value_by_class=False, high_value_top_percent=20)
    lifecycle_compute(as_of=AS_OF)
    high = set(LifecycleSnapshot.objects.filter(as_of=AS_OF, stage=LifecycleStage.HIGH_VALUE)
               .values_list("member_id", flat=True))
    assert high == {members[8].pk, members[9].pk}


def test_segment_selects_by_snapshots_tags_and_rules(tiers):
    """EVAL-6: segment_members combines RFM class, lifecycle stage, closeness percentile, tags, tiers,
    stores and rule-tag keys; it is the audience other apps take."""
    s1, s2 = StoreFactory(), StoreFactory()
    big = MemberFactory(home_store=s1, tier=tiers["gold"], gender="F")
    small = MemberFactory(home_store=s1, gender="F")
    far = MemberFactory(home_store=s2, tier=tiers["gold"], gender="M")
    for member, amount in ((big, 5000), (small, 10), (far, 5000)):
        _joined(member, days_before(700))
        for i in range(3 if amount > 100 else 1):
            purchase(member, days_before(i + 1 if amount > 100 else 20), amount)
    rfm_compute(as_of=AS_OF)
    lifecycle_compute(as_of=AS_OF)
    closeness_compute(as_of=AS_OF)
    vip = Tag.objects.create(name="VIP")
    MemberTag.objects.create(member=big, tag=vip)

    def ids(definition):
        return set(selectors.segment_members(definition).values_list("pk", flat=True))

    assert ids({"rfm_classes": ["important_value"]}) == {big.pk, far.pk}
    assert ids({"rfm_classes": ["important_value"], "stores": [s1.code]}) == {big.pk}
    assert ids({"lifecycle_stages": ["high_value"], "gender": "M"}) == {far.pk}
    assert ids({"tags": ["VIP"]}) == {big.pk}
    assert ids({"tiers": ["gold"], "closeness_min_percentile": 50}) == {big.pk, far.pk}
    assert ids({"closeness_max_percentile": 40}) == {small.pk}
    seg = segment_save(name="Gold women", definition={"tiers": ["gold"], "gender": "F"})
    assert set(selectors.segment_members(seg).values_list("pk", flat=True)) == {big.pk}
    assert selectors.segment_count_for_staff(segment=seg, store_ids=[s2.pk]) == 0
    with pytest.raises(ValueError):
        selectors.segment_members({"rfm_class": "x"})
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        segment_save(name="Bad", definition={"lifecycle_stages": ["sleeping"]})
    assert Segment.objects.count() == 1
