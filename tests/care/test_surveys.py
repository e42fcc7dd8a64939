"""Satisfaction surveys (SD-6): one overall question, one answer per member, anonymity,
distribution through messaging, CSI per survey / store / period / dimension, export."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from care.errors import AlreadyAnswered, CareError
from care.models import Question, Response, ResponseReceipt, Survey
from care.selectors import dimension_csi, report_rows, survey_report
from care.services.surveys import survey_check_ready, survey_distribute, survey_submit
from core.errors import NotFound, PermissionDenied
from members import roles
from messaging.models import Notice
from tests.care.conftest import answers_for, make_survey
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


def test_exactly_one_overall_question_enforced():
    """SD-6: a second overall question is refused by the database; none at all blocks sending/answering."""
    survey = make_survey()
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.create(survey=survey, order=5, text="again", kind="rating", is_overall=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.create(survey=make_survey(overall=False), text="text overall", kind="text", is_overall=True)
    without = make_survey(title="no overall", overall=False)
    with pytest.raises(CareError, match="exactly one overall"):
        survey_check_ready(without)
    with pytest.raises(CareError):
        survey_submit(survey_id=without.pk, member=MemberFactory(), answers={})


def test_admin_builder_requires_exactly_one_overall_question(admin_client):
    """SD-6: the admin's question inline refuses a survey without (or with two) overall questions."""
    data = {"title": "T", "intro": "", "opens_at_0": "2025-01-01", "opens_at_1": "00:00",
            "closes_at_0": "2025-02-01", "closes_at_1": "00:00", "satisfied_threshold": "4", "segment_rule": "{}",
            "questions-TOTAL_FORMS": "1", "questions-INITIAL_FORMS": "0", "questions-MIN_NUM_FORMS": "0",
            "questions-MAX_NUM_FORMS": "1000", "questions-0-order": "1", "questions-0-text": "Q",
            "questions-0-kind": "rating", "questions-0-dimension": "", "questions-0-required": "on"}
    response = admin_client.post("/admin/care/survey/add/", data)
    assert response.status_code == 200 and not Survey.objects.exists()
    data["questions-0-is_overall"] = "on"
    response = admin_client.post("/admin/care/survey/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Survey.objects.get().questions.get().is_overall


def test_one_answer_per_member():
    """SD-6: the second attempt is refused with a clear message and stores nothing."""
    survey, member = make_survey(), MemberFactory()
    survey_submit(survey_id=survey.pk, member=member, answers=answers_for(survey, overall=5, environment=4,
                                                                          attitude=3))
    with pytest.raises(AlreadyAnswered, match="already answered"):
        survey_submit(survey_id=survey.pk, member=member, answers=answers_for(survey, overall=1, environment=1,
                                                                              attitude=1))
    assert Response.objects.count() == 1 and ResponseReceipt.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_answer_per_member_under_concurrent_submissions():
    """SD-6: two submissions at once from one member: exactly one response, the other AlreadyAnswered."""
    survey, member = make_survey(), MemberFactory()
    answers = answers_for(survey, overall=4, environment=4, attitude=4)
    barrier = threading.Barrier(2)
    results = []

    def submit():
        try:
            barrier.wait()
            survey_submit(survey_id=survey.pk, member=member, answers=dict(answers))
            results.append("ok")
        except AlreadyAnswered:
            results.append("again")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["again", "ok"]
    assert Response.objects.count() == 1


def test_anonymous_response_stores_no_member():
    """SD-6: an anonymous survey keeps who answered (receipt) apart from what (response, day only)."""
    survey, member = make_survey(anonymous=True), MemberFactory()
    response = survey_submit(survey_id=survey.pk, member=member,
                             answers=answers_for(survey, overall=2, environment=3, attitude=3))
    response.refresh_from_db()
    assert response.member_id is None and response.store_id == member.home_store_id
    assert timezone.localtime(response.submitted_at).time() == dt.time(12)
    assert ResponseReceipt.objects.filter(survey=survey, member=member).exists()
    with pytest.raises(AlreadyAnswered):
        survey_submit(survey_id=survey.pk, member=member,
                      answers=answers_for(survey, overall=2, environment=3, attitude=3))


def test_submit_rejects_bad_answers_and_foreign_choices():
    """SD-6: ratings 1-5, choices of the question only, required questions answered."""
    survey, member = make_survey(), MemberFactory()
    other_choice = make_survey(title="other").questions.get(kind="single").choices.first()
    single = survey.questions.get(kind="single")
    answers = answers_for(survey, overall=6, environment=4, attitude=None)
    answers[single.pk] = other_choice.pk
    with pytest.raises(CareError) as err:
        survey_submit(survey_id=survey.pk, member=member, answers=answers)
    overall = survey.questions.get(is_overall=True)
    attitude = survey.questions.get(dimension="attitude")
    assert set(err.value.fields) == {str(overall.pk), str(single.pk), str(attitude.pk)}
    assert not ResponseReceipt.objects.exists()


def test_survey_outside_segment_or_window_is_not_found():
    """SD-6: only targeted members answer, only while the survey is open."""
    gold_store = StoreFactory()
    survey = make_survey(segment_rule={"tier": ["gold"]})
    with pytest.raises(NotFound):
        survey_submit(survey_id=survey.pk, member=MemberFactory(home_store=gold_store), answers={})
    closed = make_survey(title="closed", opens_at=timezone.now() - dt.timedelta(days=9),
                         closes_at=timezone.now() - dt.timedelta(days=1))
    with pytest.raises(NotFound):
        survey_submit(survey_id=closed.pk, member=MemberFactory(), answers={})


@pytest.mark.pinned_at("2026-11-25T12:00+08:00")
def test_distribution_sends_the_link_once_through_messaging(tiers, sms_outbox, django_capture_on_commit_callbacks):
    """SD-6: the segment gets a 'survey' notice with the portal link; a repeat reaches nobody twice,
    members who answered are skipped, store staff reach their store only. A general survey is
    marketing (issue 15): a member without marketing consent is targeted but gets nothing."""
    s1, s2 = StoreFactory(), StoreFactory()
    gold1 = MemberFactory(home_store=s1, tier=tiers["gold"], marketing_consent=True)
    gold2 = MemberFactory(home_store=s2, tier=tiers["gold"], marketing_consent=True)
    MemberFactory(home_store=s2, tier=tiers["gold"], marketing_consent=False)
    answered = MemberFactory(home_store=s1, tier=tiers["gold"])
    MemberFactory(home_store=s1)  # not gold
    survey = make_survey(segment_rule={"tier": ["gold"]})
    survey_submit(survey_id=survey.pk, member=answered, answers=answers_for(survey, overall=4, environment=4,
                                                                            attitude=4))
    manager = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    with django_capture_on_commit_callbacks(execute=True):
        result = survey_distribute(survey_id=survey.pk, staff=manager)
    assert result == {"targeted": 3, "sent": 2}
    notices = Notice.objects.filter(kind="survey", ref=str(survey.pk))
    assert set(notices.values_list("member_id", flat=True)) == {gold1.pk, gold2.pk}
    assert f"?id={survey.pk}" in notices.first().body and "/care/survey/" in notices.first().body
    assert len(sms_outbox) == 2
    assert survey_distribute(survey_id=survey.pk, staff=manager) == {"targeted": 3, "sent": 0}

    with pytest.raises(PermissionDenied):
        survey_distribute(survey_id=survey.pk, staff=make_staff(roles.FRONT_DESK, store=s1))


# ---------------------------------------------------------------- CSI


def _answer(survey, store, overall, **dims):
    member = MemberFactory(home_store=store)
    survey_submit(survey_id=survey.pk, member=member, answers=answers_for(survey, overall=overall, **dims))


@pytest.fixture
def csi_set():
    """Hand-checked: threshold 4.
    Store A: overall 5, 4, 2 → 2/3 = 66.7 %; store B: overall 3, 4 → 1/2 = 50 %; all 3/5 = 60 %.
    Environment (two questions, the respondent's mean counts): A (5,3)=4 ✓, (4,4) ✓, (2,2) ✗;
    B (4,3)=3.5 ✗, (5,5) ✓ → 3/5 = 60 % (per answer it would be 6/10).
    Attitude: A 4,4,1 → 2/3; B 2,5 → 1/2 → 3/5 = 60 %."""
    a, b = StoreFactory(name="A"), StoreFactory(name="B")
    survey = make_survey(questions_per_dimension=2,
                         opens_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), closes_at=dt.datetime(2025, 6, 1,
                                                                                              tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2025, 2, 10, 4, tzinfo=dt.UTC)):
        _answer(survey, a, 5, environment=[5, 3], attitude=[4, 4])
        _answer(survey, a, 4, environment=[4, 4], attitude=[4, 4])
        _answer(survey, b, 3, environment=[4, 3], attitude=[2, 2])
    with time_machine.travel(dt.datetime(2025, 3, 31, 17, tzinfo=dt.UTC)):  # 1 April in Shanghai
        _answer(survey, a, 2, environment=[2, 2], attitude=[1, 1])
        _answer(survey, b, 4, environment=[5, 5], attitude=[5, 5])
    return survey, a, b


def test_csi_on_a_hand_checked_set_per_survey_store_period_and_dimension(csi_set):
    """SD-6: CSI = satisfied ÷ answered × 100 %, per survey, store, period and dimension."""
    survey, a, b = csi_set
    report = survey_report(survey)
    assert report["overall"] == {"answered": 5, "satisfied": 3, "csi": 60.0}
    by_store = {r["store_id"]: (r["answered"], r["satisfied"], r["csi"]) for r in report["by_store"]}
    assert by_store == {a.pk: (3, 2, 66.7), b.pk: (2, 1, 50.0)}
    assert {r["period"]: r["csi"] for r in report["by_period"]} == {"2025-02": 66.7, "2025-04": 50.0}
    assert {r["dimension"]: (r["answered"], r["satisfied"]) for r in report["by_dimension"]} == {
        "environment": (5, 3), "attitude": (5, 3)}
    store_dim = {(r["store_id"], r["dimension"]): r["csi"] for r in report["by_store_dimension"]}
    assert store_dim[(a.pk, "environment")] == 66.7 and store_dim[(b.pk, "environment")] == 50.0
    assert dimension_csi(survey, "environment", store_ids=[b.pk])["csi"] == 50.0


def test_csi_threshold_is_configurable_per_survey(csi_set):
    """SD-6: with 'satisfied from 3' the same answers give 4/5 overall."""
    survey, _, _ = csi_set
    Survey.objects.filter(pk=survey.pk).update(satisfied_threshold=3)
    survey.refresh_from_db()
    assert survey_report(survey)["overall"]["csi"] == 80.0


def test_csi_report_of_store_staff_covers_their_store_only(csi_set):
    """SD-6 / SEC-3: a store's staff see their store's responses only."""
    survey, a, _ = csi_set
    report = survey_report(survey, store_ids=[a.pk])
    assert report["overall"] == {"answered": 3, "satisfied": 2, "csi": 66.7}
    assert [r["store_id"] for r in report["by_store"]] == [a.pk]


def test_report_rows_flatten_every_section(csi_set):
    survey, a, b = csi_set
    rows = report_rows(survey_report(survey))
    assert rows[0] == ["overall", "", survey.title, 5, 3, 60.0]
    assert {r[0] for r in rows} == {"overall", "store", "period", "dimension", "store_dimension"}
