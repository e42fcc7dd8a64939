"""Survey audiences are evaluation segments (EVAL-6 feeding SD-6)."""
import datetime as dt
from decimal import Decimal

import pytest

from care.services.surveys import survey_targets
from evaluation.models import RfmSnapshot
from tests.care.conftest import make_survey
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _rfm(member, rfm_class):
    return RfmSnapshot.objects.create(
        member=member, as_of=dt.date(2026, 11, 22), window_days=365, recency_days=3, frequency=4,
        monetary=Decimal("900.00"), r_score=5, f_score=4, m_score=4, rfm_class=rfm_class,
        store=member.home_store, tier=member.tier)


def test_survey_targets_an_rfm_segment():
    """SD-6 + EVAL-6: a survey sent to the 重要价值 members of the latest RFM snapshot."""
    valuable, ordinary, unscored = MemberFactory(), MemberFactory(), MemberFactory()
    _rfm(valuable, "important_value")
    _rfm(ordinary, "general_recall")
    survey = make_survey(segment_rule={"rfm_classes": ["important_value"]})
    assert list(survey_targets(survey)) == [valuable]
    survey.segment_rule = {"gender": unscored.gender}  # plain saved-filter keys still work
    assert unscored in set(survey_targets(survey))
