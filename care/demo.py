"""Demo data of member care for seed_demo: this year's visits (some with outcomes), a satisfaction
survey with answers from a share of the given members, and one improvement action. Idempotent:
re-running with the same seed adds nothing twice."""
from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.utils import timezone

from members.models import Member

from .errors import AlreadyAnswered
from .models import Choice, Dimension, ImprovementAction, Question, Survey, Visit
from .services.surveys import survey_submit
from .services.visits import visits_schedule

DEMO_SURVEY = "2025 会员满意度测评"
QUESTIONS = [
    ("您对本店购物环境（整洁、导视、休息区）的满意程度", Dimension.ENVIRONMENT),
    ("您对服务方式（线上线下渠道、便捷程度）的满意程度", Dimension.SERVICE_MANNER),
    ("您对员工服务态度的满意程度", Dimension.ATTITUDE),
    ("您对会员政策（积分、等级、权益）的满意程度", Dimension.POLICY),
    ("您对会员活动与促销的满意程度", Dimension.EVENTS),
]


def _demo_survey() -> Survey:
    survey = Survey.objects.filter(title=DEMO_SURVEY).first()
    if survey:
        return survey
    now = timezone.now()
    survey = Survey.objects.create(title=DEMO_SURVEY, intro="感谢您抽出两分钟时间，帮助我们改进服务。",
                                   opens_at=now - dt.timedelta(days=30), closes_at=now + dt.timedelta(days=30))
    for order, (text, dimension) in enumerate(QUESTIONS, start=1):
        Question.objects.create(survey=survey, order=order, text=text, kind=Question.Kind.RATING, dimension=dimension)
    pref = Question.objects.create(survey=survey, order=10, text="您最常购买的品类（可多选）",
                                   kind=Question.Kind.MULTIPLE, dimension=Dimension.PREFERENCES, required=False)
    for order, text in enumerate(["服饰", "化妆品", "珠宝首饰", "家居", "餐饮"]):
        Choice.objects.create(question=pref, order=order, text=text)
    Question.objects.create(survey=survey, order=20, text="总体而言，您对我们的满意程度", kind=Question.Kind.RATING,
                            is_overall=True)
    Question.objects.create(survey=survey, order=30, text="您还有什么建议？", kind=Question.Kind.TEXT, required=False)
    return survey


def seed_care(member_ids: list[int], *, seed: int) -> dict:
    today = timezone.localdate()
    scheduled = visits_schedule(day=today)
    # Outcomes for about a third of the open visits of the given members (done by their assignee).
    recorded = 0
    open_visits = list(Visit.objects.filter(member_id__in=member_ids, status=Visit.Status.OPEN,
                                            assignee__isnull=False).order_by("pk")[:2000])
    now = timezone.now()
    done = []
    for visit in open_visits:
        rng = random.Random(f"{seed}:visit:{visit.pk}")  # per row, so a re-run decides the same way
        if rng.random() < 0.35:
            reached = rng.random() < 0.8
            # A member not reached after the calls is "not reachable", never a visit done.
            visit.status = Visit.Status.DONE if reached else Visit.Status.UNREACHABLE
            visit.done_at, visit.done_by_id = now, visit.assignee_id
            visit.outcome = Visit.Outcome.REACHED if reached else Visit.Outcome.NOT_REACHED
            visit.attempts = 1 if reached else 3
            visit.satisfaction = rng.choice([3, 4, 4, 5, 5]) if reached else None
            visit.follow_up_needed = reached and rng.random() < 0.1
            visit.feedback = rng.choice(["希望增加停车位", "对导购服务满意", "积分规则希望更清楚", ""]) if reached else ""
            done.append(visit)
    # Demo data is written in bulk (a seeded past, not a staff action); live outcomes go through
    # visit_record_outcome.
    Visit.objects.bulk_update(done, ["status", "done_at", "done_by", "outcome", "satisfaction",
                                     "follow_up_needed", "feedback", "attempts"], batch_size=500)
    recorded = len(done)

    survey = _demo_survey()
    questions = list(survey.questions.prefetch_related("choices"))
    answered = 0
    members = Member.objects.filter(pk__in=member_ids, status=Member.Status.ACTIVE).order_by("pk")
    for member in members:
        rng = random.Random(f"{seed}:survey:{member.pk}")
        if rng.random() >= 0.3:
            continue
        base = rng.choice([3, 4, 4, 5])
        answers = {}
        for q in questions:
            if q.kind == Question.Kind.RATING:
                answers[q.pk] = max(1, min(5, base + rng.choice([-1, 0, 0, 1])))
            elif q.kind == Question.Kind.MULTIPLE:
                choices = [c.pk for c in q.choices.all()]
                answers[q.pk] = rng.sample(choices, rng.randint(1, 2))
        try:
            survey_submit(survey_id=survey.pk, member=member, answers=answers)
            answered += 1
        except AlreadyAnswered:
            pass
    owner = get_user_model().objects.filter(is_active=True, is_staff=True, staff_profile__isnull=False).first()
    if owner and not ImprovementAction.objects.filter(source_survey=survey).exists():
        ImprovementAction.objects.create(
            source_survey=survey, dimension=Dimension.ENVIRONMENT, title="增加休息区座椅与导视标识",
            plan="各门店在一楼增设休息区，并更新楼层导视。", owner=owner, due_on=today + dt.timedelta(days=60),
            created_by=owner)
    return {"visits_created": scheduled["created"], "visit_outcomes": recorded, "survey_answers": answered}
