"""Improvement actions (SD-6) and the desk, portal and API surfaces of member care."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from care.errors import CareConflict, CareError
from care.models import ImprovementAction, ResponseReceipt, Visit
from care.selectors import action_before_after
from care.services.actions import action_create, action_link_remeasure, action_update
from care.services.surveys import survey_submit
from care.services.visits import visits_schedule
from members import roles
from tests.care.conftest import answers_for, make_survey
from tests.factories import MemberFactory, StoreFactory, make_staff
from tests.members.test_portal import login_as

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.care.urls")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _answer(survey, store, overall, env):
    survey_submit(survey_id=survey.pk, member=MemberFactory(home_store=store),
                  answers=answers_for(survey, overall=overall, environment=env, attitude=4))


# ---------------------------------------------------------------- improvement actions


@pytest.fixture
def action_setup():
    store = StoreFactory()
    manager = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    owner = make_staff(roles.CUSTOMER_SERVICE, store=store)
    now = timezone.now()
    before = make_survey(title="Q1", opens_at=now - dt.timedelta(days=10))
    after = make_survey(title="Q2", opens_at=now - dt.timedelta(days=2))
    for env in (2, 3, 5, 4):  # environment 2/4 satisfied before
        _answer(before, store, 4, env)
    for env in (5, 4, 4, 2):  # 3/4 after
        _answer(after, store, 4, env)
    return store, manager, owner, before, after


def test_improvement_action_shows_csi_before_and_after(action_setup):
    """SD-6: an action from a report's dimension, re-measured by a later survey: before 50 %, after 75 %."""
    store, manager, owner, before, after = action_setup
    action = action_create(staff=manager, survey_id=before.pk, dimension="environment", store_id=store.pk,
                           title="增加休息区座椅", owner_id=owner.pk, due_on=timezone.localdate() + dt.timedelta(days=30))
    assert action_before_after(action)["after"] is None
    action_link_remeasure(staff=manager, action_id=action.pk, survey_id=after.pk)
    action.refresh_from_db()
    measure = action_before_after(action)
    assert (measure["before"]["csi"], measure["after"]["csi"], measure["change"]) == (50.0, 75.0, 25.0)
    with pytest.raises(CareError):
        action_link_remeasure(staff=manager, action_id=action.pk, survey_id=before.pk)


def test_improvement_action_status_moves_and_needs_evidence_to_be_done(action_setup):
    """SD-6: open → in progress → done (with evidence); done → open is an illegal move."""
    store, manager, owner, before, _ = action_setup
    action = action_create(staff=manager, survey_id=before.pk, dimension="environment", store_id=store.pk,
                           title="导视", owner_id=owner.pk, due_on=timezone.localdate())
    action_update(staff=owner, action_id=action.pk, status="in_progress")
    with pytest.raises(CareError):
        action_update(staff=owner, action_id=action.pk, status="done")
    done = action_update(staff=owner, action_id=action.pk, status="done", evidence="新增座椅 40 个",
                         evidence_file_note="照片存于共享盘/整改/2025")
    assert done.status == "done" and done.done_at is not None
    with pytest.raises(CareConflict):
        action_update(staff=owner, action_id=action.pk, status="open")


def test_improvement_action_bad_input_and_other_store(action_setup):
    """SD-6 / SEC-3: unknown dimension, past due date, owner of another store; other stores' staff get 404."""
    store, manager, owner, before, _ = action_setup
    with pytest.raises(CareError) as err:
        action_create(staff=manager, survey_id=before.pk, dimension="nope", store_id=store.pk, title="",
                      owner_id=owner.pk, due_on=dt.date(2000, 1, 1))
    assert {"dimension", "title", "due_on"} <= set(err.value.fields)
    stranger = make_staff(roles.CUSTOMER_SERVICE, store=StoreFactory())
    with pytest.raises(CareError):
        action_create(staff=manager, survey_id=before.pk, dimension="environment", store_id=store.pk, title="x",
                      owner_id=stranger.pk, due_on=timezone.localdate())
    action = action_create(staff=manager, survey_id=before.pk, dimension="environment", store_id=store.pk,
                           title="x", owner_id=owner.pk, due_on=timezone.localdate())
    from core.errors import NotFound

    with pytest.raises(NotFound):
        action_update(staff=stranger, action_id=action.pk, status="in_progress")


def test_action_desk_pages(client, action_setup):
    store, manager, owner, before, after = action_setup
    client.force_login(manager)
    response = client.get(f"/desk/care/surveys/{before.pk}/report/")
    assert response.status_code == 200 and b"echarts.min.js" in response.content
    response = client.post(f"/desk/care/surveys/{before.pk}/actions/new/", {
        "dimension": "environment", "store": store.pk, "title": "座椅", "plan": "", "owner": owner.pk,
        "due_on": (timezone.localdate() + dt.timedelta(days=9)).isoformat()})
    action = ImprovementAction.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/actions/{action.pk}/")
    client.post(f"/desk/care/actions/{action.pk}/", {"link": "1", "survey": after.pk})
    page = client.get(f"/desk/care/actions/{action.pk}/").content.decode()
    assert "50.0%" in page and "75.0%" in page


# ---------------------------------------------------------------- desk visits


@pytest.fixture
def visits():
    store = StoreFactory()
    desk = make_staff(roles.FRONT_DESK, store=store)
    MemberFactory.create_batch(2, home_store=store)
    visits_schedule(day=timezone.localdate())
    return store, desk, list(Visit.objects.order_by("pk"))


def test_desk_visit_list_and_outcome_form(client, visits, django_assert_max_num_queries):
    """SD-5: staff see their visits and record the outcome on the desk."""
    store, desk, (v1, v2) = visits
    client.force_login(desk)
    with django_assert_max_num_queries(12):
        page = client.get("/desk/care/visits/").content.decode()
    assert f'id="visit-{v1.pk}"' in page and f'id="visit-{v2.pk}"' in page
    bad = client.post(f"/desk/care/visits/{v1.pk}/", {"reached": "1", "satisfaction": "", "feedback": ""})
    assert bad.status_code == 200 and "satisfaction rating" in bad.content.decode()
    ok = client.post(f"/desk/care/visits/{v1.pk}/", {"reached": "1", "satisfaction": "5", "feedback": "很好",
                                                     "follow_up_needed": "on"})
    assert ok.status_code == 302
    v1.refresh_from_db()
    assert (v1.outcome, v1.satisfaction, v1.follow_up_needed) == ("reached", 5, True)


def test_desk_visits_of_another_store_are_404(client, visits):
    """SD-5 / SEC-3: store scope on visits."""
    _, _, (v1, _) = visits
    other = make_staff(roles.FRONT_DESK, store=StoreFactory())
    client.force_login(other)
    assert client.get(f"/desk/care/visits/{v1.pk}/").status_code == 404
    assert f'id="visit-{v1.pk}"' not in client.get("/desk/care/visits/?scope=store").content.decode()


def test_desk_overdue_flag_shows(client, visits):
    """SD-5: an open visit past its due date is flagged overdue on the list."""
    _, desk, (v1, _) = visits
    Visit.objects.filter(pk=v1.pk).update(period_start=dt.date(2020, 1, 1), due_on=dt.date(2020, 12, 31))
    client.force_login(desk)
    page = client.get("/desk/care/visits/?overdue=1").content.decode()
    assert f'id="visit-{v1.pk}" class="overdue"' in page and 'id="count-overdue">1<' in page


def test_survey_exports_csv_and_excel(client, action_setup):
    """SD-6: the report exports to CSV and Excel with the same rows."""
    _, manager, _, before, _ = action_setup
    client.force_login(manager)
    text = client.get(f"/desk/care/surveys/{before.pk}/export.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "label", "answered", "satisfied", "csi_percent"]
    assert rows[1] == ["overall", "", "Q1", "4", "4", "100.0"]
    assert {r[1] for r in rows if r[0] == "dimension"} == {"environment", "attitude"}
    book = load_workbook(io.BytesIO(client.get(f"/desk/care/surveys/{before.pk}/export.xlsx").content))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[1] == ("overall", None, "Q1", 4, 4, 100.0)
    assert len(sheet) == len(rows)


def test_report_needs_the_report_permission(client, action_setup):
    _, _, _, before, _ = action_setup
    client.force_login(make_staff(roles.FRONT_DESK))
    assert client.get(f"/desk/care/surveys/{before.pk}/report/").status_code == 403


# ---------------------------------------------------------------- portal


def test_portal_survey_answered_once_with_a_clear_message(client):
    """SD-6: the member answers on the portal; a second attempt says so instead of a form."""
    survey, member = make_survey(), MemberFactory()
    login_as(client, member)
    assert f"?id={survey.pk}" in client.get("/portal/care/surveys/").content.decode()
    page = client.get(f"/portal/care/survey/?id={survey.pk}")
    assert page.status_code == 200
    data = {"id": survey.pk, **{f"q{k}": v for k, v in answers_for(survey, overall=5, environment=4,
                                                                   attitude=4).items()}}
    assert client.post("/portal/care/survey/", data).status_code == 302
    again = client.get(f"/portal/care/survey/?id={survey.pk}", follow=True)
    assert "already answered" in again.content.decode()
    assert client.post("/portal/care/survey/", data, follow=True).status_code == 200
    assert ResponseReceipt.objects.filter(member=member).count() == 1


def test_portal_survey_cross_member_safety(client, tiers):
    """SEC-3: no member id in portal URLs; a survey not meant for the member is 404; another member's
    answer does not stop this one, and answers are recorded for the logged-in member only."""
    gold_only = make_survey(segment_rule={"tier": ["gold"]})
    survey = make_survey(title="all")
    me, other = MemberFactory(), MemberFactory(tier=tiers["gold"])
    survey_submit(survey_id=survey.pk, member=other, answers=answers_for(survey, overall=1, environment=1,
                                                                         attitude=1))
    login_as(client, me)
    assert client.get(f"/portal/care/survey/?id={gold_only.pk}").status_code == 404
    assert client.get("/portal/care/survey/?id=abc").status_code == 404
    page = client.get(f"/portal/care/survey/?id={survey.pk}")
    assert page.status_code == 200 and str(me.pk) not in page.request["PATH_INFO"]
    data = {"id": survey.pk, "member": other.pk,
            **{f"q{k}": v for k, v in answers_for(survey, overall=5, environment=5, attitude=5).items()}}
    assert client.post("/portal/care/survey/", data).status_code == 302
    assert set(ResponseReceipt.objects.values_list("member_id", flat=True)) == {me.pk, other.pk}
    assert survey.responses.get(member=me).answers.get(question__is_overall=True).rating == 5


def test_portal_requires_login(client):
    assert client.get("/portal/care/surveys/").status_code == 302


# ---------------------------------------------------------------- API


def test_api_visits_are_store_scoped_and_outcome_is_recorded_once(client, visits):
    """SD-5 API: list (mine / store), outcome 200, again 409, bad input 400, other store 404."""
    store, desk, (v1, v2) = visits
    client.force_login(desk)
    body = client.get("/api/v1/care/visits/?scope=store").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert {r["id"] for r in rows} == {v1.pk, v2.pk} and rows[0]["member_mobile"].count("*") == 4
    assert client.get("/api/v1/care/visits/?scope=all").status_code == 400
    url = f"/api/v1/care/visits/{v1.pk}/outcome/"
    assert client.post(url, {"reached": True}, content_type="application/json").status_code == 400
    ok = client.post(url, {"reached": True, "satisfaction": 4}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["outcome"] == "reached"
    again = client.post(url, {"reached": False}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "visit_done"
    client.force_login(make_staff(roles.FRONT_DESK, store=StoreFactory()))
    assert client.post(f"/api/v1/care/visits/{v2.pk}/outcome/", {"reached": False},
                       content_type="application/json").status_code == 404


def test_api_survey_list_and_report(client, action_setup):
    store, manager, _, before, _ = action_setup
    client.force_login(manager)
    body = client.get("/api/v1/care/surveys/").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert {r["title"] for r in rows} == {"Q1", "Q2"}
    report = client.get(f"/api/v1/care/surveys/{before.pk}/report/").json()
    assert report["overall"] == {"answered": 4, "satisfied": 4, "csi": 100.0}
    assert {r["dimension"]: r["csi"] for r in report["by_dimension"]}["environment"] == 50.0
    assert client.get("/api/v1/care/surveys/999999/report/").status_code == 404
    client.force_login(make_staff(roles.FRONT_DESK, store=store))
    assert client.get(f"/api/v1/care/surveys/{before.pk}/report/").status_code == 403


def test_openapi_documents_care_endpoints_with_errors(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/?format=json").json()
    outcome = schema["paths"]["/api/v1/care/visits/{id}/outcome/"]["post"]
    assert {"400", "403", "404", "409"} <= set(outcome["responses"])
    assert "/api/v1/care/surveys/{id}/report/" in schema["paths"]
