"""Staff complaint API (SD-1..3): store scope, transitions, 409s and the OpenAPI document."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from rest_framework.test import APIClient

from members import roles
from service_desk import services
from service_desk.models import Complaint
from tests.factories import make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.service_desk.urls")]
SH = ZoneInfo("Asia/Shanghai")
BODY = {"channel": "hotline", "category": "returns", "severity": "normal", "contact_name": "李女士",
        "order_no": "S1-0042", "description": "退货被拒绝，店员态度不好"}


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_login(agent)
    return client


def test_create_and_read_a_complaint(api, store, member):
    """SD-1: staff record a hotline complaint in their store; deadlines and clocks come back."""
    r = api.post("/api/v1/complaints/", {**BODY, "member_no": member.member_no, "request_id": "abc"}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["store"]["code"] == store.code and body["member_no"] == member.member_no
    assert [c["state"] for c in body["clocks"]] == ["open", "open", "open"]
    assert body["events"][0]["action"] == "intake"
    again = api.post("/api/v1/complaints/", {**BODY, "member_no": member.member_no, "request_id": "abc"},
                     format="json")
    assert again.json()["id"] == body["id"] and Complaint.objects.count() == 1
    detail = api.get(f"/api/v1/complaints/{body['id']}/")
    assert detail.status_code == 200 and detail.json()["description"] == BODY["description"]


def test_create_bad_input_is_400(api):
    """SD-1: unknown category / portal channel from staff / unknown member are field errors."""
    r = api.post("/api/v1/complaints/", {**BODY, "category": "weather", "channel": "portal"}, format="json")
    assert r.status_code == 400 and {"category", "channel"} <= set(r.json()["fields"])
    r = api.post("/api/v1/complaints/", {**BODY, "member_no": "000"}, format="json")
    assert r.status_code == 400 and r.json()["fields"]["member_no"]


def test_list_is_store_scoped_and_sorted_by_nearest_deadline(api, store, other_store, agent):
    """SD-2, SEC-3: the queue shows the own store's complaints, nearest open deadline first."""
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH), tick=False):
        older = services.complaint_file(staff=agent, store=store, contact_name="甲", **{
            k: BODY[k] for k in ("channel", "category", "description")})
    newer = services.complaint_file(staff=agent, store=store, contact_name="乙", **{
        k: BODY[k] for k in ("channel", "category", "description")})
    foreign = services.complaint_file(staff=make_staff(roles.CUSTOMER_SERVICE, store=other_store), store=other_store,
                                      contact_name="丙", **{k: BODY[k] for k in ("channel", "category", "description")})
    r = api.get("/api/v1/complaints/")
    assert r.status_code == 200
    ids = [c["id"] for c in r.json()["results"]]
    assert ids == [older.pk, newer.pk]
    assert api.get(f"/api/v1/complaints/{foreign.pk}/").status_code == 404
    assert api.post(f"/api/v1/complaints/{foreign.pk}/transitions/", {"action": "accept"},
                    format="json").status_code == 404


def test_transitions_and_illegal_transition_409(api, store, agent):
    """SD-3: legal steps move the complaint and are logged; an illegal one answers 409."""
    c = services.complaint_file(staff=agent, store=store, contact_name="甲",
                                **{k: BODY[k] for k in ("channel", "category", "description")})
    url = f"/api/v1/complaints/{c.pk}/transitions/"
    r = api.post(url, {"action": "close"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    assert api.post(url, {"action": "accept"}, format="json").json()["status"] == "accepted"
    r = api.post(url, {"action": "transfer", "department": "财务收银", "note": "涉及退款"}, format="json")
    assert r.status_code == 200 and r.json()["department"] == "财务收银" and r.json()["status"] == "in_progress"
    r = api.post(url, {"action": "reply", "note": "已为您办理退款"}, format="json")
    assert r.json()["status"] == "replied"
    assert [e["action"] for e in r.json()["events"]] == ["intake", "accept", "transfer", "reply"]
    assert api.post(url, {"action": "fly"}, format="json").status_code == 400


def test_roles_without_permission_are_refused(store, agent):
    """SD-3: the front desk records complaints but does not handle them (403)."""
    c = services.complaint_file(staff=agent, store=store, contact_name="甲",
                                **{k: BODY[k] for k in ("channel", "category", "description")})
    clerk = APIClient()
    clerk.force_login(make_staff(roles.FRONT_DESK, store=store))
    assert clerk.post(f"/api/v1/complaints/{c.pk}/transitions/", {"action": "accept"},
                      format="json").status_code == 403
    assert clerk.post("/api/v1/complaints/", BODY, format="json").status_code == 201
    assert APIClient().get("/api/v1/complaints/").status_code in (401, 403)


def test_openapi_documents_complaints_with_error_responses(tmp_path, settings):
    """The complaint operations are in the OpenAPI document with their error shapes."""
    settings.ROOT_URLCONF = "tests.service_desk.urls"
    target = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target))
    paths = json.loads(target.read_text())["paths"]
    for path, method, codes in [("/api/v1/complaints/", "get", {"400", "403"}),
                                ("/api/v1/complaints/", "post", {"400", "403", "404"}),
                                ("/api/v1/complaints/{complaint_id}/", "get", {"404"}),
                                ("/api/v1/complaints/{complaint_id}/transitions/", "post", {"404", "409"})]:
        responses = paths[path][method]["responses"]
        assert codes <= set(responses), path
        assert responses["403"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
