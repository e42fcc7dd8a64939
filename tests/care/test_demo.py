"""seed_care: demo visits, outcomes and survey answers, idempotent under a re-run."""
import pytest

from care.demo import seed_care
from care.models import ImprovementAction, Response, Visit
from members import roles
from tests.factories import MemberFactory, StoreFactory, make_staff

pytestmark = pytest.mark.django_db


def test_seed_care_creates_visits_answers_and_is_idempotent():
    store = StoreFactory()
    make_staff(roles.FRONT_DESK, store=store)
    ids = [m.pk for m in MemberFactory.create_batch(30, home_store=store)]
    first = seed_care(ids, seed=7)
    assert first["visits_created"] == 30 and first["survey_answers"] > 0
    assert Visit.objects.exclude(status="open").count() == first["visit_outcomes"] > 0
    # A member the demo did not reach is "not reachable", never a visit done.
    assert not Visit.objects.filter(status="done", outcome="not_reached").exists()
    again = seed_care(ids, seed=7)
    assert again["visits_created"] == 0 and again["survey_answers"] == 0
    assert Response.objects.count() == first["survey_answers"]
    assert ImprovementAction.objects.count() == 1
