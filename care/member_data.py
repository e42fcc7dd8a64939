"""Member care's sections of the member's data download (SEC-4; PIPL art. 45), registered in
core.member_data by CareConfig.ready(): follow-up visits and survey answers."""
from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from core.member_data import MemberDataSection, member_data_register

from .models import Answer, Response, Visit


def _visits(member) -> list[dict]:
    return [
        {"due_on": v.due_on, "status": v.get_status_display(), "outcome": v.outcome, "feedback": v.feedback,
         "satisfaction": v.satisfaction, "done_at": v.done_at}
        for v in Visit.objects.filter(member=member).order_by("due_on", "id")
    ]


def _survey_answers(member) -> list[dict]:
    answers = Answer.objects.select_related("question").prefetch_related("choices").order_by("question__id")
    rows = []
    for response in (Response.objects.filter(member=member).select_related("survey")
                     .prefetch_related(Prefetch("answers", queryset=answers)).order_by("submitted_at", "id")):
        for answer in response.answers.all():
            rows.append({
                "submitted_at": response.submitted_at, "survey": response.survey.title,
                "question": answer.question.text, "rating": answer.rating,
                "answer": "; ".join([c.text for c in answer.choices.all()] + ([answer.text] if answer.text else [])),
            })
    return rows


def register() -> None:
    member_data_register(MemberDataSection(
        key="visits", title=_("Follow-up visits"), order=50, rows=_visits,
        columns=(("due_on", _("Due on")), ("status", _("Status")), ("outcome", _("Outcome")),
                 ("feedback", _("Feedback")), ("satisfaction", _("Satisfaction")), ("done_at", _("Done at")))))
    member_data_register(MemberDataSection(
        key="survey_answers", title=_("Survey answers"), order=51, rows=_survey_answers,
        columns=(("submitted_at", _("Submitted at")), ("survey", _("Survey")), ("question", _("Question")),
                 ("rating", _("Rating")), ("answer", _("Answer")))))
