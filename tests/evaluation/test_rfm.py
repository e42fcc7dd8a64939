"""EVAL-1 RFM on a small hand-checked data set (ties, refunds, window edges, time zone)."""
import pytest

from evaluation.models import RfmClass, RfmRun, RfmSnapshot
from evaluation.rfm import rfm_compute
from tests.factories import MemberFactory, StoreFactory

from .conftest import AS_OF, days_before, purchase, refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def population():
    """Five members in the population, two outside it. Expected figures worked out by hand:

    member  purchases in (D−365, D]                                  R    F   M
    a       D 23:30 local 100; D−10 200 (refund of 50 on D+2 ignored)  0    2   300
    b       D−10 300; D−5 100 refunded in full (not a purchase)        10   1   300
    c       D−100 50; D−50 50; D−20 50 with 20 refunded                20   3   130
    d       D−200 1000                                                 200  1   1000
    e       D−10 40                                                    10   1   40
    g       D+1 00:30 local and D−365 (both outside the window)        —
    h       D−3 80 refunded in full                                    —
    """
    store = StoreFactory()
    m = {k: MemberFactory(home_store=store) for k in "abcdegh"}
    purchase(m["a"], AS_OF, 100, hour=23, minute=30)
    late = purchase(m["a"], days_before(10), 200)
    refund(late, 50, days_before(-2))
    purchase(m["b"], days_before(10), 300)
    refund(purchase(m["b"], days_before(5), 100), 100, days_before(4))
    purchase(m["c"], days_before(100), 50)
    purchase(m["c"], days_before(50), 50)
    refund(purchase(m["c"], days_before(20), 50), 20, days_before(19))
    purchase(m["d"], days_before(200), 1000)
    purchase(m["e"], days_before(10), 40)
    purchase(m["g"], days_before(-1), 500, hour=0, minute=30)
    purchase(m["g"], days_before(365), 500)
    refund(purchase(m["h"], days_before(3), 80), 80, days_before(3))
    return m


def rows(as_of=AS_OF):
    return {s.member_id: s for s in RfmSnapshot.objects.filter(as_of=as_of)}


def test_rfm_figures_scores_and_classes_hand_checked(population):
    """EVAL-1. Scores = ceil(5 × cume_dist), n = 5:
    R by days descending: d 200 → 1/5 → 1; c 20 → 2/5 → 2; b, e 10 (tie) → 4/5 → 4; a 0 → 5.
    F ascending: b, d, e 1 (tie) → 3/5 → 3; a 2 → 4/5 → 4; c 3 → 5.
    M ascending: e 40 → 1; c 130 → 2; a, b 300 (tie) → 4/5 → 4; d 1000 → 5.
    Means: R 240/5 = 48 (high below), F 8/5 = 1.6, M 1770/5 = 354 (high above).
    a R+F+ → 一般价值; b R+ → 一般发展; c R+F+ → 一般价值; d M+ → 重要挽留; e R+ → 一般发展."""
    result = rfm_compute(as_of=AS_OF, window_days=365)
    assert result.population == 5
    got = rows()
    m = population
    assert set(got) == {m[k].pk for k in "abcde"}
    expected = {  # R, F, M, r, f, m, class
        "a": (0, 2, "300.00", 5, 4, 4, RfmClass.GENERAL_VALUE),
        "b": (10, 1, "300.00", 4, 3, 4, RfmClass.GENERAL_DEVELOP),
        "c": (20, 3, "130.00", 2, 5, 2, RfmClass.GENERAL_VALUE),
        "d": (200, 1, "1000.00", 1, 3, 5, RfmClass.IMPORTANT_WIN_BACK),
        "e": (10, 1, "40.00", 4, 3, 1, RfmClass.GENERAL_DEVELOP),
    }
    for key, (r, f, money, rs, fs, ms, cls) in expected.items():
        s = got[m[key].pk]
        assert (s.recency_days, s.frequency, str(s.monetary), s.r_score, s.f_score, s.m_score, s.rfm_class) == (
            r, f, money, rs, fs, ms, cls), key
        assert s.store_id == m[key].home_store_id and s.tier_id == m[key].tier_id
    run = RfmRun.objects.get(as_of=AS_OF)
    assert (run.population, str(run.mean_recency_days), str(run.mean_frequency), str(run.mean_monetary)) == (
        5, "48.0000", "1.6000", "354.0000")
    assert got[m["d"].pk].rfm_class_name == "重要挽留"


def test_value_equal_to_the_mean_counts_as_low(db):
    """EVAL-1: R 0/10/20 (mean 10), F 1/2/3 (mean 2), M 100/200/300 (mean 200): the middle member
    equals every mean, so it is low on all three: 一般挽留; the others are 重要价值 and 一般挽留."""
    store = StoreFactory()
    lo, mid, hi = (MemberFactory(home_store=store) for _ in range(3))
    purchase(hi, AS_OF, 100)
    purchase(hi, days_before(1), 100)
    purchase(hi, days_before(2), 100)
    purchase(mid, days_before(10), 100)
    purchase(mid, days_before(11), 100)
    purchase(lo, days_before(20), 100)
    rfm_compute(as_of=AS_OF)
    got = rows()
    assert got[mid.pk].rfm_class == RfmClass.GENERAL_WIN_BACK
    assert (got[mid.pk].r_score, got[mid.pk].f_score, got[mid.pk].m_score) == (4, 4, 4)  # ceil(5 × 2/3)
    assert got[hi.pk].rfm_class == RfmClass.IMPORTANT_VALUE
    assert got[lo.pk].rfm_class == RfmClass.GENERAL_WIN_BACK
    assert (got[lo.pk].r_score, got[lo.pk].f_score, got[lo.pk].m_score) == (2, 2, 2)  # ceil(5 × 1/3)


def test_rerun_replaces_the_snapshot_with_the_same_rows(population):
    """Idempotent: a re-run of the same date gives the same rows, once; other dates stay."""
    rfm_compute(as_of=AS_OF)
    rfm_compute(as_of=days_before(1))
    first = sorted(RfmSnapshot.objects.filter(as_of=AS_OF).values_list(
        "member_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_class"))
    other = RfmSnapshot.objects.filter(as_of=days_before(1)).count()
    rfm_compute(as_of=AS_OF)
    again = sorted(RfmSnapshot.objects.filter(as_of=AS_OF).values_list(
        "member_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_class"))
    assert again == first and len(first) == 5
    assert RfmSnapshot.objects.filter(as_of=days_before(1)).count() == other
    assert RfmRun.objects.filter(as_of=AS_OF).count() == 1


def test_window_option_narrows_the_population(population):
    rfm_compute(as_of=AS_OF, window_days=30)
    assert set(rows()) == {population[k].pk for k in "abce"}  # d bought 200 days ago
