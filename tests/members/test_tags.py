"""Tags (MEM-7): manual tags by staff, rule tags maintained by the nightly job."""
import pytest

from core.errors import NotFound, ValidationFailed
from core.jobs import run_job
from members.models import MemberTag, Tag
from members.selectors import rule_queryset
from members.services import tag_add, tag_remove
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


def test_staff_tags_members_of_their_store_only():
    store = StoreFactory()
    clerk = make_staff(store=store)
    tag = Tag.objects.create(name="母婴")
    mine, other = MemberFactory(home_store=store), MemberFactory()
    tag_add(member=mine, tag=tag, staff=clerk)
    tag_add(member=mine, tag=tag, staff=clerk)  # idempotent
    assert MemberTag.objects.filter(tag=tag).count() == 1
    with pytest.raises(NotFound):
        tag_add(member=other, tag=tag, staff=clerk)
    tag_remove(member=mine, tag=tag, staff=clerk)
    assert not MemberTag.objects.exists()


def test_rule_tag_cannot_be_attached_by_hand():
    clerk = make_staff(chain_wide=True)
    tag = Tag.objects.create(name="女性", kind=Tag.Kind.RULE, rule={"gender": "F"})
    with pytest.raises(ValidationFailed):
        tag_add(member=MemberFactory(), tag=tag, staff=clerk)


def test_rule_tags_job_adds_and_removes_and_is_idempotent():
    """MEM-7 + SPEC 9: set-wise, a re-run changes nothing."""
    tag = Tag.objects.create(name="女性", kind=Tag.Kind.RULE, rule={"gender": "F"})
    women = [MemberFactory(gender="F") for _ in range(3)]
    man = MemberFactory(gender="M")
    MemberTag.objects.create(member=man, tag=tag)  # stale membership the rule no longer matches
    first = run_job("refresh_rule_tags")
    assert first.counts == {"tags": 1, "added": 3, "removed": 1}
    assert set(MemberTag.objects.filter(tag=tag).values_list("member_id", flat=True)) == {m.pk for m in women}
    second = run_job("refresh_rule_tags")
    assert second.counts == {"tags": 1, "added": 0, "removed": 0}


def test_rule_with_unknown_key_is_refused():
    with pytest.raises(ValueError):
        rule_queryset({"salary": 1})


def test_removing_a_tag_marks_the_member_changed_for_the_nightly_refreshes():
    """A removed MemberTag leaves no row behind: tag_remove and the rule-tag job bump the member's
    updated_at (by which the consumption cube and the purchase summary find members who moved),
    and only for the members who lost a tag."""
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from members.models import Member

    store = StoreFactory()
    clerk = make_staff(store=store)
    manual = Tag.objects.create(name="母婴")
    rule = Tag.objects.create(name="女性", kind=Tag.Kind.RULE, rule={"gender": "F"})
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), tick=False):
        kept, loses_manual, loses_rule = (MemberFactory(home_store=store, gender=g) for g in ("F", "M", "M"))
        tag_add(member=loses_manual, tag=manual, staff=clerk)
        MemberTag.objects.create(member=loses_rule, tag=rule)
        MemberTag.objects.create(member=kept, tag=rule)
    before = dict(Member.objects.values_list("pk", "updated_at"))
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), tick=False):
        tag_remove(member=loses_manual, tag=manual, staff=clerk)
        tag_remove(member=kept, tag=manual, staff=clerk)  # had no such tag: nothing changes
        assert run_job("refresh_rule_tags").counts["removed"] == 1
        now = timezone.now()
    after = dict(Member.objects.values_list("pk", "updated_at"))
    assert after[loses_manual.pk] == now and after[loses_rule.pk] == now
    assert after[kept.pk] == before[kept.pk]
