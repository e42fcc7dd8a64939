"""The segment builder (issue 16, 运营经理): chips and ranges instead of a JSON textarea, writing the
definition the engine (evaluation.selectors.segment_members) evaluates, with a live count and
Chinese errors; the admin edits the same conditions as a form."""
from decimal import Decimal

import pytest
from django.utils import translation

from evaluation.forms import SegmentRulesForm, describe
from evaluation.lifecycle import lifecycle_compute
from evaluation.models import RfmSnapshot, Segment
from evaluation.rfm import rfm_compute
from evaluation.selectors import segment_definition_errors, segment_members
from evaluation.services import segment_save
from members import roles
from members.models import Member, MemberTag, Tag
from tests.factories import MemberFactory, StoreFactory, make_staff

from .conftest import AS_OF, at, days_before, purchase

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.evaluation.urls")]


@pytest.fixture
def shop(tiers):
    store = StoreFactory(code="S01")
    big, small, idle = (MemberFactory(home_store=store) for _i in range(3))
    Member.objects.filter(pk__in=[big.pk, small.pk, idle.pk]).update(created_at=at(days_before(700)))
    purchase(big, days_before(5), 900)
    purchase(big, days_before(50), 900)
    purchase(small, days_before(200), 50)
    rfm_compute(as_of=AS_OF)
    lifecycle_compute(as_of=AS_OF)
    vip = Tag.objects.create(name="VIP")
    MemberTag.objects.create(member=big, tag=vip)
    manager = make_staff(roles.OPERATIONS_MANAGER, store=store)
    return store, big, small, idle, manager


def _definition(data, user=None) -> dict:
    form = SegmentRulesForm(data, user=user)
    assert form.is_valid(), form.errors
    return form.definition()


def test_builder_writes_the_definition_the_engine_evaluates(shop):
    store, big, small, idle, manager = shop
    big_class = RfmSnapshot.objects.get(member=big, as_of=AS_OF).rfm_class
    definition = _definition({"rfm_classes": [big_class], "tags": ["VIP"], "stores": [store.code],
                              "spend_min": "1000", "marketing_consent": ""}, user=manager)
    assert definition == {"rfm_classes": [big_class], "tags": ["VIP"], "stores": ["S01"], "spend_min": "1000.00"}
    assert segment_definition_errors(definition) == []
    assert list(segment_members(definition)) == [big]
    # the form shows a stored definition again as the same chips
    again = SegmentRulesForm(SegmentRulesForm.initial_from(definition), user=manager)
    assert again.is_valid() and again.definition() == definition


def test_spend_range_counts_members_without_purchases_as_zero(shop):
    store, big, small, idle, manager = shop
    assert set(segment_members({"spend_max": "100"})) == {small, idle}
    assert set(segment_members({"spend_min": "10", "spend_max": "100"})) == {small}
    assert set(segment_members({"spend_min": "1000"})) == {big}


def test_builder_refuses_bad_ranges_in_chinese(shop):
    *_rest, manager = shop
    with translation.override("zh-hans"):
        form = SegmentRulesForm({"spend_min": "500", "spend_max": "100", "min_age": "-3"}, user=manager)
        assert not form.is_valid()
        assert "消费" in " ".join(form.errors["spend_max"])
        assert form.errors["min_age"]
        errors = segment_definition_errors({"nope": 1, "rfm_classes": ["x"], "spend_min": "abc"})
    assert len(errors) == 3
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e) for e in errors), errors


def test_desk_builder_live_count_and_save(shop, client):
    store, big, small, idle, manager = shop
    client.force_login(manager)
    page = client.get("/desk/evaluation/segments/new/?rfm_classes=" + RfmSnapshot.objects.get(
        member=big, as_of=AS_OF).rfm_class)
    assert page.status_code == 200 and page.context["count"] == 1
    body = page.content.decode()
    assert 'class="chips"' in body and "textarea" not in body and 'hx-post="/desk/evaluation/segments/preview/"' in body
    live = client.post("/desk/evaluation/segments/preview/", {"tags": ["VIP"]})
    assert live.context["count"] == 1 and live.context["summary"]
    bad = client.post("/desk/evaluation/segments/preview/", {"spend_min": "9", "spend_max": "1"})
    assert bad.context["count"] is None and bad.context["error"]
    saved = client.post("/desk/evaluation/segments/new/", {"name": "大客户", "tags": ["VIP"], "spend_min": "100",
                                                           "then": "campaign"})
    segment = Segment.objects.get(name="大客户")
    assert segment.definition == {"tags": ["VIP"], "spend_min": "100.00"}
    assert saved.status_code == 302 and saved["Location"] == f"/desk/campaigns/new/?segment={segment.pk}"
    listing = client.get("/desk/evaluation/segments/")
    assert "标签：VIP" in listing.content.decode() or "VIP" in listing.content.decode()


def test_segment_list_reads_names_once(shop, client, django_assert_max_num_queries):
    *_rest, manager = shop
    for i in range(5):
        segment_save(name=f"s{i}", definition={"tiers": ["normal"], "stores": ["S01"]})
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        page = client.get("/desk/evaluation/segments/")
    assert page.status_code == 200 and len(page.context["segments"]) == 5


def test_describe_says_conditions_in_words(tiers):
    with translation.override("zh-hans"):
        words = describe({"rfm_classes": ["important_value"], "marketing_consent": True, "spend_min": "10.00"})
    assert words[0].endswith("重要价值") and len(words) == 3


def test_admin_segment_form_has_no_json(shop, admin_client):
    store, big, *_rest = shop
    page = admin_client.get("/admin/evaluation/segment/add/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="definition"' not in body and 'name="rfm_classes"' in body
    r = admin_client.post("/admin/evaluation/segment/add/", {"name": "后台", "description": "", "tags": ["VIP"],
                                                              "spend_min": "5"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Segment.objects.get(name="后台").definition == {"tags": ["VIP"], "spend_min": "5.00"}
    assert Decimal(Segment.objects.get(name="后台").definition["spend_min"]) == 5
