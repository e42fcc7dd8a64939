"""Service desk depth in member care (issue 15): event visits (large purchase, closed complaint), retries of
members not reached, follow-up tasks, interview answers entered by staff with their channel, random
samples with a seed, and dedicated account managers with their "my members" list."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from care.errors import AlreadyAnswered, CareConflict, CareError
from care.models import (
    AccountManagerAssignment,
    CareConfig,
    Response,
    SurveySample,
    SurveySampleMember,
    Visit,
    VisitAttempt,
)
from care.services.account_managers import AUDIT_ACTION, account_manager_assign, account_manager_end
from care.services.surveys import survey_distribute, survey_enter_for_member, survey_submit
from care.services.visits import event_visits_schedule, visit_record_outcome, visits_schedule
from core.errors import NotFound, PermissionDenied
from core.jobs import run_job
from core.models import AuditLog
from members import roles
from members.models import Tier
from points.models import Purchase
from points.services.ledger import Source, credit
from service_desk.models import Complaint, ComplaintStatus
from tests.care.conftest import answers_for, make_survey
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.care.urls"),
              pytest.mark.pinned_at("2026-11-25T12:00+08:00")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def config():
    config = CareConfig.get()
    config.large_purchase_amount = Decimal("5000.00")
    config.save()
    config.account_manager_tiers.set(Tier.objects.filter(code__in=["gold", "platinum"]))
    return config


def _at(day: dt.date, hour: int = 15) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


_ORDER_NOS = itertools.count(1)


def _purchase(member, *, paid: str, at: dt.datetime, refunded: str = "0") -> Purchase:
    return Purchase.objects.create(store=member.home_store, order_no=f"T{next(_ORDER_NOS):06d}", member=member,
                                   occurred_at=at,
                                   amount_total=Decimal(paid), amount_paid=Decimal(paid),
                                   amount_refunded=Decimal(refunded), request_hash="x")


def _closed_complaint(member, *, closed_at: dt.datetime) -> Complaint:
    received = closed_at - dt.timedelta(days=1)
    return Complaint.objects.create(
        channel="desk", category="quality", store=member.home_store, member=member, description="拉链坏了",
        received_at=received, accept_due=received, reply_due=received, close_due=received,
        status=ComplaintStatus.CLOSED, closed_at=closed_at)


# ---------------------------------------------------------------- event visits


def test_large_purchase_creates_one_event_visit_due_after_the_event(config):
    """seed 003 3.2 主动回访: a purchase from the configured net amount paid gets a visit; smaller, refunded
    or member-less ones do not; two large purchases on one day make one visit."""
    today = timezone.localdate()
    store = StoreFactory()
    desk = make_staff(roles.FRONT_DESK, store=store)
    big = MemberFactory(home_store=store)
    _purchase(big, paid="6000.00", at=_at(today - dt.timedelta(days=1)))
    _purchase(big, paid="8000.00", at=_at(today - dt.timedelta(days=1), 17))
    small = MemberFactory(home_store=store)
    _purchase(small, paid="4999.99", at=_at(today - dt.timedelta(days=1)))
    refunded = MemberFactory(home_store=store)
    _purchase(refunded, paid="9000.00", refunded="9000.00", at=_at(today - dt.timedelta(days=1)))
    Purchase.objects.create(store=store, order_no="NOMEMBER", member=None, occurred_at=_at(today),
                            amount_total=Decimal("9999"), amount_paid=Decimal("9999"), request_hash="x")

    result = event_visits_schedule(day=today)

    assert result["large_purchase"] == 1
    visit = Visit.objects.get()
    assert (visit.member, visit.reason, visit.assignee) == (big, Visit.Reason.LARGE_PURCHASE, desk)
    assert visit.period_start == today - dt.timedelta(days=1)
    assert visit.due_on == visit.period_start + dt.timedelta(days=config.event_visit_due_days)
    assert visit.source_ref.startswith("purchase:") and "8000.00" in visit.note


def test_event_visits_rerun_and_overlapping_windows_create_nothing_twice(config):
    today = timezone.localdate()
    store = StoreFactory()
    make_staff(roles.FRONT_DESK, store=store)
    member = MemberFactory(home_store=store)
    _purchase(member, paid="7000.00", at=_at(today - dt.timedelta(days=2)))
    _closed_complaint(member, closed_at=_at(today - dt.timedelta(days=1)))
    first = event_visits_schedule(day=today)
    again = event_visits_schedule(day=today)
    next_day = event_visits_schedule(day=today + dt.timedelta(days=1))
    assert first["created"] == 2 and again["created"] == 0 and next_day["created"] == 0
    assert sorted(Visit.objects.values_list("reason", flat=True)) == ["complaint", "large_purchase"]


def test_closed_complaint_creates_a_visit_through_the_registered_case_source(config):
    """seed 003 3.5 回访跟进: service_desk tells care about closed complaints through core.service_cases."""
    today = timezone.localdate()
    store = StoreFactory()
    cs = make_staff(roles.CUSTOMER_SERVICE, store=store)
    member = MemberFactory(home_store=store)
    complaint = _closed_complaint(member, closed_at=_at(today - dt.timedelta(days=1), 9))
    walk_in_store = StoreFactory()
    Complaint.objects.create(channel="desk", category="other", store=walk_in_store, member=None, description="x",
                             received_at=_at(today - dt.timedelta(days=2)), accept_due=_at(today - dt.timedelta(days=2)),
                             reply_due=_at(today - dt.timedelta(days=2)), close_due=_at(today - dt.timedelta(days=2)),
                             status=ComplaintStatus.CLOSED, closed_at=_at(today - dt.timedelta(days=1)))
    run_job("schedule_event_visits", date=today)
    visit = Visit.objects.get()
    assert (visit.reason, visit.source_ref, visit.assignee) == (Visit.Reason.COMPLAINT, f"complaint:{complaint.pk}", cs)


def test_tier_and_event_visits_of_one_member_coexist(config, tiers):
    today = timezone.localdate()
    store = StoreFactory()
    make_staff(roles.FRONT_DESK, store=store)
    member = MemberFactory(home_store=store, tier=tiers["gold"])
    _purchase(member, paid="50000.00", at=_at(today - dt.timedelta(days=1)))
    visits_schedule(day=today)
    event_visits_schedule(day=today)
    visits_schedule(day=today)
    assert sorted(Visit.objects.filter(member=member).values_list("reason", flat=True)) == ["large_purchase", "tier"]


# ---------------------------------------------------------------- retries and follow-ups


def _visit(store, staff, member=None) -> Visit:
    today = timezone.localdate()
    return Visit.objects.create(member=member or MemberFactory(home_store=store), store=store, period_start=today,
                                due_on=today, assignee=staff)


def test_not_reached_is_called_again_and_closes_unreachable_after_the_limit(config):
    """A member not reached is not a visit done: the visit stays open for another call, and after the
    configured number of calls it closes as not reachable (never status done)."""
    config.visit_attempts, config.retry_after_days = 2, 2
    config.save()
    store = StoreFactory()
    desk = make_staff(roles.FRONT_DESK, store=store)
    visit = _visit(store, desk)
    today = timezone.localdate()

    visit = visit_record_outcome(visit_id=visit.pk, staff=desk, reached=False, feedback="无人接听")
    assert (visit.status, visit.attempts, visit.retry_on) == (Visit.Status.OPEN, 1, today + dt.timedelta(days=2))
    assert visit.due_on == visit.retry_on  # the next call lies within the visit's time
    visit = visit_record_outcome(visit_id=visit.pk, staff=desk, reached=False)
    assert (visit.status, visit.outcome, visit.attempts, visit.retry_on) == (
        Visit.Status.UNREACHABLE, Visit.Outcome.NOT_REACHED, 2, None)
    assert VisitAttempt.objects.filter(visit=visit, reached=False).count() == 2
    assert AuditLog.objects.filter(action="visit_outcome", member=visit.member).count() == 2
    with pytest.raises(CareConflict):
        visit_record_outcome(visit_id=visit.pk, staff=desk, reached=True, satisfaction=5)
    assert not Visit.objects.filter(status=Visit.Status.DONE).exists()


def test_follow_up_needed_creates_a_follow_up_visit_for_the_caller(config):
    store = StoreFactory()
    desk = make_staff(roles.FRONT_DESK, store=store)
    visit = _visit(store, desk)
    visit_record_outcome(visit_id=visit.pk, staff=desk, reached=True, satisfaction=3, feedback="想了解以旧换新",
                         follow_up_needed=True)
    follow_up = Visit.objects.get(reason=Visit.Reason.FOLLOW_UP)
    assert (follow_up.member_id, follow_up.assignee, follow_up.status) == (visit.member_id, desk, Visit.Status.OPEN)
    assert follow_up.source_ref == f"visit:{visit.pk}" and follow_up.note == "想了解以旧换新"
    assert follow_up.due_on == timezone.localdate() + dt.timedelta(days=config.follow_up_due_days)
    with pytest.raises(CareError) as exc:
        visit_record_outcome(visit_id=follow_up.pk, staff=desk, reached=False, follow_up_needed=True)
    assert "follow_up_needed" in exc.value.fields


def test_desk_visit_page_records_a_call_not_reached_and_keeps_it_open(client, config):
    store = StoreFactory()
    desk = make_staff(roles.FRONT_DESK, store=store)
    visit = _visit(store, desk)
    client.force_login(desk)
    response = client.post(reverse("care_desk:visit", args=[visit.pk]), {"reached": "0", "feedback": "关机"},
                           follow=True)
    assert response.status_code == 200
    visit.refresh_from_db()
    assert visit.status == Visit.Status.OPEN and visit.attempts == 1
    page = client.get(reverse("care_desk:visit", args=[visit.pk])).content.decode()
    assert 'id="attempts"' in page and "关机" in page and 'id="retry"' in page
    listing = client.get(reverse("care_desk:visits")).content.decode()
    assert "data-retry" in listing


# ---------------------------------------------------------------- interview answers (seed 000 测评方式)


def _survey_setup():
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    return store, member, make_survey()


def test_staff_enter_phone_answers_with_channel_and_audit():
    store, member, survey = _survey_setup()
    cs = make_staff(roles.CUSTOMER_SERVICE, store=store)
    response = survey_enter_for_member(survey_id=survey.pk, member=member, staff=cs, channel="phone",
                                       answers=answers_for(survey, overall=5, environment=4, attitude=5))
    assert (response.channel, response.entered_by, response.member) == (Response.Channel.PHONE, cs, member)
    log = AuditLog.objects.get(action="survey_entry", member=member)
    assert log.actor == cs and f"survey {survey.pk} via phone" == log.detail
    with pytest.raises(AlreadyAnswered):
        survey_submit(survey_id=survey.pk, member=member, answers=answers_for(survey, overall=1))
    portal = survey_submit(survey_id=survey.pk, member=MemberFactory(home_store=store),
                           answers=answers_for(survey, overall=4, environment=4, attitude=4))
    assert portal.channel == Response.Channel.PORTAL and portal.entered_by is None


def test_staff_entry_of_an_anonymous_survey_keeps_nobody_on_the_response():
    store = StoreFactory()
    member = MemberFactory(home_store=store)
    survey = make_survey(anonymous=True)
    cs = make_staff(roles.CUSTOMER_SERVICE, store=store)
    response = survey_enter_for_member(survey_id=survey.pk, member=member, staff=cs, channel="phone",
                                       answers=answers_for(survey, overall=3, environment=3, attitude=3))
    assert (response.member, response.entered_by, response.channel) == (None, None, "phone")
    assert AuditLog.objects.get(action="survey_entry").detail == f"survey {survey.pk} (anonymous)"


def test_staff_entry_refuses_bad_channel_other_store_and_outsiders():
    store, member, survey = _survey_setup()
    cs = make_staff(roles.CUSTOMER_SERVICE, store=store)
    answers = answers_for(survey, overall=4, environment=4, attitude=4)
    with pytest.raises(CareError) as exc:
        survey_enter_for_member(survey_id=survey.pk, member=member, staff=cs, channel="portal", answers=answers)
    assert exc.value.code == "bad_channel"
    with pytest.raises(NotFound):
        survey_enter_for_member(survey_id=survey.pk, member=member, staff=make_staff(roles.CUSTOMER_SERVICE),
                                channel="phone", answers=answers)
    with pytest.raises(PermissionDenied):
        survey_enter_for_member(survey_id=survey.pk, member=member, staff=make_staff(roles.AUDITOR, store=store),
                                channel="phone", answers=answers)
    gold_only = make_survey(segment_rule={"tier": ["gold"]})
    with pytest.raises(CareError) as exc:
        survey_enter_for_member(survey_id=gold_only.pk, member=member, staff=cs, channel="in_store",
                                answers=answers_for(gold_only, overall=4, environment=4, attitude=4))
    assert exc.value.code == "not_in_audience"
    assert not Response.objects.exists()


def test_desk_page_enters_intercept_answers_on_the_members_behalf(client):
    store, member, survey = _survey_setup()
    desk = make_staff(roles.FRONT_DESK, store=store)
    client.force_login(desk)
    member_page = client.get(reverse("care_desk:member_panel", args=[member.member_no])).content.decode()
    assert reverse("care_desk:member_surveys", args=[member.member_no]) in member_page
    listing = client.get(reverse("care_desk:member_surveys", args=[member.member_no])).content.decode()
    url = reverse("care_desk:member_survey_enter", args=[member.member_no, survey.pk])
    assert url in listing
    answers = answers_for(survey, overall=2, environment=3, attitude=2)
    post = {f"q{k}": v for k, v in answers.items()}
    missing = client.post(url, post)  # no channel
    assert missing.status_code == 400 and "Choose how the answers were collected." in missing.content.decode()
    response = client.post(url, {**post, "channel": "in_store"}, follow=True)
    assert response.status_code == 200
    saved = Response.objects.get(member=member)
    assert saved.channel == "in_store" and saved.entered_by == desk
    again = client.post(url, {**post, "channel": "phone"})
    assert again.status_code == 409 and Response.objects.count() == 1


# ---------------------------------------------------------------- random samples


def test_sample_is_reproducible_with_its_seed_and_recorded(django_capture_on_commit_callbacks):
    store = StoreFactory()
    members = [MemberFactory(home_store=store, marketing_consent=True) for _ in range(20)]
    survey = make_survey()
    manager = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    first = survey_distribute(survey_id=survey.pk, staff=manager, sample_size=5, seed="2026Q4", notify=False)
    second = survey_distribute(survey_id=survey.pk, staff=manager, sample_size=5, seed="2026Q4", notify=False)
    other = survey_distribute(survey_id=survey.pk, staff=manager, sample_size=5, seed="other", notify=False)
    drawn = [set(SurveySampleMember.objects.filter(sample_id=r["sample"]).values_list("member_id", flat=True))
             for r in (first, second, other)]
    assert len(drawn[0]) == 5 and drawn[0] == drawn[1] and drawn[0] != drawn[2]
    assert drawn[0] <= {m.pk for m in members}
    sample = SurveySample.objects.get(pk=first["sample"])
    assert (sample.seed, sample.population, sample.drawn, sample.sent, sample.created_by) == ("2026Q4", 20, 5, 0,
                                                                                              manager)
    with django_capture_on_commit_callbacks(execute=True):
        sent = survey_distribute(survey_id=survey.pk, staff=manager, sample_percent=Decimal("25"))
    assert sent["targeted"] == 5 and sent["sent"] == 5 and len(sent["seed"]) == 16
    assert SurveySample.objects.get(pk=sent["sample"]).sample_percent == Decimal("25.00")


def test_sample_refuses_both_or_out_of_range_sizes():
    survey = make_survey()
    manager = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    for kwargs in ({"sample_size": 3, "sample_percent": Decimal("10")}, {"sample_size": 0},
                   {"sample_percent": Decimal("120")}, {"sample_size": 3, "seed": "x" * 40}):
        with pytest.raises(CareError) as exc:
            survey_distribute(survey_id=survey.pk, staff=manager, **kwargs)
        assert exc.value.code == "bad_sample"
    assert not SurveySample.objects.exists()


def test_desk_draws_a_sample_and_shows_the_call_list(client):
    store = StoreFactory()
    for _ in range(6):
        MemberFactory(home_store=store)
    survey = make_survey()
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, chain_wide=True))
    response = client.post(reverse("care_desk:survey_send", args=[survey.pk]),
                           {"sample_size": "3", "seed": "abc", "call_list_only": "on"}, follow=True)
    sample = SurveySample.objects.get()
    assert response.redirect_chain[-1][0] == reverse("care_desk:sample", args=[survey.pk, sample.pk])
    page = response.content.decode()
    assert "abc" in page and page.count('id="sampled-') == 3
    bad = client.post(reverse("care_desk:survey_send", args=[survey.pk]), {"sample_size": "3", "sample_percent": "5"})
    assert bad.status_code == 400 and SurveySample.objects.count() == 1


# ---------------------------------------------------------------- account managers (SD-11)


def test_assigning_an_account_manager_hands_over_visits_and_keeps_history(config, tiers):
    store = StoreFactory()
    ops = make_staff(roles.OPERATIONS_MANAGER, store=store)
    first, second = make_staff(roles.CUSTOMER_SERVICE, store=store), make_staff(roles.FRONT_DESK, store=store)
    member = MemberFactory(home_store=store, tier=tiers["platinum"])
    open_visit = _visit(store, second, member=member)
    account_manager_assign(member=member, manager_id=first.pk, staff=ops, note="白金卡")
    open_visit.refresh_from_db()
    assert open_visit.assignee == first
    with pytest.raises(CareConflict):
        account_manager_assign(member=member, manager_id=first.pk, staff=ops)
    account_manager_assign(member=member, manager_id=second.pk, staff=ops)
    history = list(AccountManagerAssignment.objects.filter(member=member).order_by("starts_at", "id"))
    assert [a.manager for a in history] == [first, second]
    assert history[0].ends_at is not None and history[0].ended_by == ops and history[1].ends_at is None
    account_manager_end(member=member, staff=ops)
    assert not AccountManagerAssignment.objects.filter(member=member, ends_at__isnull=True).exists()
    assert AuditLog.objects.filter(action=AUDIT_ACTION, member=member).count() == 3


def test_account_manager_only_for_qualifying_tiers_and_store_staff(config, tiers):
    store = StoreFactory()
    ops = make_staff(roles.OPERATIONS_MANAGER, store=store)
    cs = make_staff(roles.CUSTOMER_SERVICE, store=store)
    normal = MemberFactory(home_store=store)
    with pytest.raises(CareError) as exc:
        account_manager_assign(member=normal, manager_id=cs.pk, staff=ops)
    assert exc.value.code == "tier_not_eligible"
    gold = MemberFactory(home_store=store, tier=tiers["gold"])
    for manager in (make_staff(roles.CUSTOMER_SERVICE), make_staff(roles.AUDITOR, store=store)):
        with pytest.raises(CareError) as exc:
            account_manager_assign(member=gold, manager_id=manager.pk, staff=ops)
        assert exc.value.code == "bad_manager"
    with pytest.raises(PermissionDenied):
        account_manager_assign(member=gold, manager_id=cs.pk, staff=cs)
    assert not AccountManagerAssignment.objects.exists()


def test_visits_of_managed_members_are_scheduled_to_their_manager(config, tiers):
    today = timezone.localdate()
    store = StoreFactory()
    ops = make_staff(roles.OPERATIONS_MANAGER, store=store)
    pool = make_staff(roles.FRONT_DESK, store=store)
    manager = make_staff(roles.CUSTOMER_SERVICE, store=store)
    managed = MemberFactory(home_store=store, tier=tiers["gold"])
    other = MemberFactory(home_store=store, tier=tiers["gold"])
    account_manager_assign(member=managed, manager_id=manager.pk, staff=ops)
    _purchase(managed, paid="20000.00", at=_at(today - dt.timedelta(days=1)))
    visits_schedule(day=today)
    event_visits_schedule(day=today)
    assert set(Visit.objects.filter(member=managed).values_list("assignee", flat=True)) == {manager.pk}
    assert Visit.objects.filter(member=managed).count() == 2
    # Everyone else is water-filled over the store's staff, the manager included.
    assert Visit.objects.get(member=other).assignee in (pool, manager)


def test_my_members_lists_birthdays_expiring_points_and_open_cases(client, config, tiers,
                                                                 django_assert_max_num_queries):
    today = timezone.localdate()
    store = StoreFactory()
    ops = make_staff(roles.OPERATIONS_MANAGER, store=store)
    manager = make_staff(roles.CUSTOMER_SERVICE, store=store)
    soon = MemberFactory(home_store=store, tier=tiers["gold"],
                         birthday=(today + dt.timedelta(days=5)).replace(year=1980))
    later = MemberFactory(home_store=store, tier=tiers["platinum"],
                          birthday=(today + dt.timedelta(days=100)).replace(year=1975))
    for member in (soon, later):
        account_manager_assign(member=member, manager_id=manager.pk, staff=ops)
    with transaction.atomic():
        credit(member=later, points=800, idem_key="t:expiring", source=Source(),
               expires_on=today + dt.timedelta(days=20), earned_on=today - dt.timedelta(days=300))
    Complaint.objects.create(channel="desk", category="quality", store=store, member=later, description="未处理",
                             received_at=timezone.now(), accept_due=timezone.now(), reply_due=timezone.now(),
                             close_due=timezone.now())
    client.force_login(manager)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("care_desk:my_members"))
    rows = {r["member"].pk: r for r in response.context["rows"]}
    assert rows[soon.pk]["birthday_in"] == 5 and rows[later.pk]["birthday"] is None
    assert rows[later.pk]["expiring"]["points"] == 800 and rows[later.pk]["open_cases"] == 1
    assert rows[soon.pk]["expiring"] is None and rows[soon.pk]["open_cases"] == 0
    assert response.context["rows"][0]["member"] == soon  # nearest birthday first
    page = response.content.decode()
    assert f'id="managed-{later.member_no}"' in page and later.mobile_masked in page


def test_desk_account_manager_page_assigns_and_is_refused_without_permission(client, config, tiers):
    store = StoreFactory()
    member = MemberFactory(home_store=store, tier=tiers["gold"])
    cs = make_staff(roles.CUSTOMER_SERVICE, store=store)
    url = reverse("care_desk:member_account_manager", args=[member.member_no])
    client.force_login(cs)
    assert client.get(url).status_code == 200
    assert client.post(url, {"manager": cs.pk}).status_code == 403
    client.force_login(make_staff(roles.OPERATIONS_MANAGER, store=store))
    page = client.get(url).content.decode()
    assert 'id="assign-form"' in page and cs.username in page
    response = client.post(url, {"manager": cs.pk, "note": "金卡"}, follow=True)
    assert AccountManagerAssignment.objects.get(member=member, ends_at__isnull=True).manager == cs
    assert f"{cs.username} now looks after this member." in " ".join(str(m) for m in response.context["messages"])
    refused = client.post(url, {"manager": "999999"})
    assert refused.status_code == 400
    client.force_login(make_staff(roles.OPERATIONS_MANAGER))  # another store
    assert client.get(url).status_code == 404


def test_the_new_desk_pages_speak_chinese(client, config, tiers, settings):
    """The default UI language is zh-hans: the pages of this wave carry their Chinese texts."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "zh-hans"
    store = StoreFactory()
    member = MemberFactory(home_store=store, tier=tiers["gold"])
    survey = make_survey()
    ops = make_staff(roles.OPERATIONS_MANAGER, store=store)
    client.force_login(ops)
    with translation.override("zh-hans"):
        pages = {
            reverse("care_desk:my_members"): "我的会员",
            reverse("care_desk:member_account_manager", args=[member.member_no]): "专属客户经理",
            reverse("care_desk:member_survey_enter", args=[member.member_no, survey.pk]): "答案是如何收集的？",
            reverse("care_desk:surveys"): "随机抽样…",
        }
        for url, text in pages.items():
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
            assert response.status_code == 200, url
            assert text in response.content.decode(), url


def test_closed_cases_are_inserted_in_bounded_batches(config, monkeypatch):
    """Many closed cases in the window go in several statements, each bounded, and all get their visit."""
    import care.services.visits as visits

    monkeypatch.setattr(visits, "CASE_BATCH", 2)
    today = timezone.localdate()
    store = StoreFactory()
    make_staff(roles.CUSTOMER_SERVICE, store=store)
    members = [MemberFactory(home_store=store) for _ in range(5)]
    for member in members:
        _closed_complaint(member, closed_at=_at(today - dt.timedelta(days=1)))
    assert event_visits_schedule(day=today)["cases"] == 5
    assert Visit.objects.filter(reason=Visit.Reason.COMPLAINT).count() == 5
