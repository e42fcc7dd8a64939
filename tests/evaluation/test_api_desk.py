"""Store scoping of the evaluation API and desk pages: a store manager sees only their store."""
import pytest
from rest_framework.test import APIClient

from evaluation.closeness import closeness_compute
from evaluation.lifecycle import lifecycle_compute
from evaluation.rfm import rfm_compute
from evaluation.services import segment_save
from members import roles
from members.models import Member
from tests.factories import MemberFactory, StoreFactory, make_staff

from .conftest import AS_OF, at, days_before, purchase

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.evaluation.urls")]


@pytest.fixture
def two_stores():
    s1, s2 = StoreFactory(), StoreFactory()
    mine, theirs = MemberFactory(home_store=s1), MemberFactory(home_store=s2)
    Member.objects.filter(pk__in=[mine.pk, theirs.pk]).update(created_at=at(days_before(700)))
    for m in (mine, theirs):
        purchase(m, days_before(40), 100)
        purchase(m, days_before(3), 100)
    for day in (days_before(30), AS_OF):
        rfm_compute(as_of=day)
    closeness_compute(as_of=AS_OF)
    lifecycle_compute(as_of=AS_OF)
    manager = make_staff(roles.OPERATIONS_MANAGER, store=s1)
    return s1, s2, mine, theirs, manager


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_member_rfm_api_is_store_scoped(two_stores):
    s1, s2, mine, theirs, manager = two_stores
    r = api(manager).get(f"/api/v1/members/{mine.member_no}/rfm/")
    assert r.status_code == 200, r.content
    assert r.json()["as_of"] == AS_OF.isoformat() and r.json()["rfm_class_name"]
    assert api(manager).get(f"/api/v1/members/{theirs.member_no}/rfm/").status_code == 404
    front_desk = make_staff(roles.FRONT_DESK, store=s1)
    assert api(front_desk).get(f"/api/v1/members/{mine.member_no}/rfm/").status_code == 403


def test_movement_api_counts_only_own_store(two_stores):
    s1, s2, mine, theirs, manager = two_stores
    url = f"/api/v1/rfm/movement/?from={days_before(30).isoformat()}&to={AS_OF.isoformat()}"
    r = api(manager).get(url)
    assert r.status_code == 200 and r.json()["total"] == 1
    assert len(r.json()["matrix"]) == 9
    boss = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    assert api(boss).get(url).json()["total"] == 2
    assert api(manager).get(url + f"&store={s2.code}").status_code == 404
    assert api(manager).get("/api/v1/rfm/movement/?from=x&to=y").status_code == 400


def test_segment_count_api_is_store_scoped(two_stores):
    s1, s2, mine, theirs, manager = two_stores
    seg = segment_save(name="Everyone who bought", definition={"lifecycle_stages": ["active", "high_value"]})
    assert api(manager).get(f"/api/v1/segments/{seg.pk}/count/").json()["members"] == 1
    boss = make_staff(roles.OPERATIONS_MANAGER, chain_wide=True)
    assert api(boss).get(f"/api/v1/segments/{seg.pk}/count/").json()["members"] == 2


def test_desk_pages_show_only_own_store(two_stores, client):
    s1, s2, mine, theirs, manager = two_stores
    client.force_login(manager)
    page = client.get("/desk/evaluation/closeness/")
    assert page.status_code == 200
    assert mine.member_no in page.content.decode() and theirs.member_no not in page.content.decode()
    assert client.get(f"/desk/evaluation/closeness/?store={s2.code}").status_code == 404
    rfm_page = client.get("/desk/evaluation/rfm/")
    assert rfm_page.status_code == 200 and rfm_page.context["movement"].total == 1
    life = client.get("/desk/evaluation/lifecycle/")
    assert life.status_code == 200 and life.context["table"][0][2] == 1
    assert client.get("/desk/evaluation/segments/").status_code == 200


def test_desk_segment_save_and_preview(two_stores, client):
    s1, s2, mine, theirs, manager = two_stores
    client.force_login(manager)
    preview = client.post("/desk/evaluation/segments/preview/", {"stores": [s1.code]})
    assert preview.status_code == 200 and preview.context["count"] == 1
    bad = client.post("/desk/evaluation/segments/preview/", {"stores": [s2.code]})  # not in the caller's scope
    assert bad.context["count"] is None and bad.context["error"]
    saved = client.post("/desk/evaluation/segments/new/", {"name": "Mine"})
    assert saved.status_code == 302
    front_desk = make_staff(roles.FRONT_DESK, store=s1)
    client.force_login(front_desk)
    assert client.get("/desk/evaluation/rfm/").status_code == 403
