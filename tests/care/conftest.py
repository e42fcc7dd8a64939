import datetime as dt

import pytest
from django.utils import timezone

from care.models import Choice, Question, Survey, VisitPolicy
from members.models import Tier

DEFAULT_VISITS = {"normal": 1, "silver": 2, "gold": 4, "platinum": 12}


@pytest.fixture(autouse=True)
def _care_reference(request, _reference_data):
    """The SD-5 visit policies (seeded by care's migration; transactional tests flush them)."""
    marker = request.node.get_closest_marker("django_db")
    if not marker:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    for tier in Tier.objects.all():
        VisitPolicy.objects.get_or_create(tier=tier, defaults={"visits_per_year": DEFAULT_VISITS.get(tier.code, 1)})


@pytest.fixture
def tiers(db):
    return {t.code: t for t in Tier.objects.order_by("rank")}


def make_survey(*, title="满意度测评", threshold=4, anonymous=False, dimensions=("environment", "attitude"),
                questions_per_dimension=1, overall=True, **kw) -> Survey:
    now = timezone.now()
    survey = Survey.objects.create(title=title, satisfied_threshold=threshold, anonymous=anonymous,
                                   opens_at=kw.pop("opens_at", now - dt.timedelta(days=1)),
                                   closes_at=kw.pop("closes_at", now + dt.timedelta(days=30)), **kw)
    order = 0
    for dim in dimensions:
        for i in range(questions_per_dimension):
            order += 1
            Question.objects.create(survey=survey, order=order, text=f"{dim} {i}", kind="rating", dimension=dim)
    order += 1
    single = Question.objects.create(survey=survey, order=order, text="来店频率", kind="single",
                                     dimension="preferences", required=False)
    for n, text in enumerate(["每周", "每月"]):
        Choice.objects.create(question=single, order=n, text=text)
    if overall:
        Question.objects.create(survey=survey, order=99, text="总体满意度", kind="rating", is_overall=True)
    Question.objects.create(survey=survey, order=100, text="建议", kind="text", required=False)
    return survey


def answers_for(survey: Survey, *, overall: int, **by_dimension) -> dict:
    """Ratings by dimension (a list for several questions of one dimension) plus the overall rating."""
    out = {}
    for q in survey.questions.order_by("order", "id"):
        if q.is_overall:
            out[q.pk] = overall
        elif q.kind == "rating" and q.dimension in by_dimension:
            values = by_dimension[q.dimension]
            out[q.pk] = values.pop(0) if isinstance(values, list) else values
    return out


@pytest.fixture(autouse=True)
def _english_messages():
    """Tests read the English source messages; the default UI language is zh-hans."""
    from django.utils import translation

    with translation.override("en"):
        yield
