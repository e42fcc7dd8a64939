"""Satisfaction surveys (满意度测评, SD-6): readiness, distribution through the messaging service,
and the member's one answer.

One answer per member is the UNIQUE (survey, member) of ResponseReceipt, written first in the same
transaction as the response: a second submission, even a concurrent one, fails on that key. For an
anonymous survey the Response carries no member and only the day it was submitted, so the receipt
(member, day) cannot be joined to it by time."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from evaluation.selectors import audience_members
from members import scope
from members.models import Member
from messaging.models import Notice
from messaging.services import notify_members_bulk

from ..errors import AlreadyAnswered, CareError
from ..models import Answer, Question, Response, ResponseReceipt, Survey

NOTICE_KIND = "survey"
DISTRIBUTE_BATCH = 1000
TEXT_MAX = 2000


def survey_check_ready(survey: Survey) -> list[Question]:
    """A survey can be sent and answered only with exactly one overall rating question and
    choices on every choice question. Returns the questions (with choices prefetched)."""
    questions = list(survey.questions.prefetch_related("choices").order_by("order", "id"))
    overall = [q for q in questions if q.is_overall]
    if len(overall) != 1:
        raise CareError(_("A survey needs exactly one overall satisfaction question (it has %(n)d).")
                        % {"n": len(overall)}, code="overall_question")
    if overall[0].kind != Question.Kind.RATING:
        raise CareError(_("The overall satisfaction question must be a 1-5 rating."), code="overall_question")
    for q in questions:
        if q.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE) and len(q.choices.all()) < 2:
            raise CareError(_("The choice question “%(q)s” needs at least two choices.") % {"q": q.text},
                            code="choices_missing")
    return questions


def survey_targets(survey: Survey, *, store_ids: list[int] | None = None) -> QuerySet[Member]:
    """Active members of the survey's segment (EVAL-6: saved-filter keys plus RFM class, lifecycle
    stage, closeness and tag keys), narrowed to its stores and tiers."""
    stores = list(survey.stores.values_list("pk", flat=True)) or None
    if store_ids is not None:  # the survey's stores within the staff member's scope
        stores = [pk for pk in (stores if stores is not None else store_ids) if pk in store_ids]
    try:
        return audience_members(segment=survey.segment_rule or {}, store_ids=stores,
                                tier_ids=survey.tiers.values_list("pk", flat=True))
    except (ValueError, TypeError) as exc:
        raise CareError(_("The target segment is not a valid saved filter: %(e)s") % {"e": exc},
                        code="bad_segment") from None


def survey_link(survey: Survey) -> str:
    try:
        path = reverse("care_portal:survey")
    except NoReverseMatch:  # portal URLs not mounted (tests of the service alone)
        path = "/portal/care/survey/"
    return f"{getattr(settings, 'PORTAL_BASE_URL', '')}{path}?id={survey.pk}"


def survey_distribute(*, survey_id: int, staff, sms: bool = True) -> dict:
    """Send the survey link to every targeted member who has not answered yet, through
    messaging.services.notify_members_bulk (kind "survey", ref = survey id): a repeat send reaches
    only members added to the segment since. Staff who are not chain-wide reach their store only."""
    scope.require_perm(staff, "care.distribute_survey")
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("No such survey."))
    survey_check_ready(survey)
    if survey.closes_at <= timezone.now():
        raise CareError(_("This survey has closed; it cannot be sent any more."), code="survey_closed")
    targets = (survey_targets(survey, store_ids=scope.store_ids(staff))
               .exclude(survey_receipts__survey=survey).order_by("pk").values_list("pk", flat=True))
    link = survey_link(survey)
    title = _("Satisfaction survey: %(t)s") % {"t": survey.title}
    body = _("Please tell us how we are doing: %(link)s (open until %(until)s)") % {
        "link": link, "until": timezone.localtime(survey.closes_at).strftime("%Y-%m-%d %H:%M")}
    targeted = sent = 0
    last = 0
    while True:
        batch = list(targets.filter(pk__gt=last)[:DISTRIBUTE_BATCH])
        if not batch:
            break
        last = batch[-1]
        targeted += len(batch)
        with transaction.atomic():
            sent += notify_members_bulk(
                [Notice(member_id=pk, kind=NOTICE_KIND, ref=str(survey.pk), title=title, body=body) for pk in batch],
                sms=sms,
            )
    Survey.objects.filter(pk=survey.pk).update(distributed_at=timezone.now())
    return {"targeted": targeted, "sent": sent}


def survey_for_member(*, survey_id: int, member: Member) -> Survey:
    """The survey if it is open and meant for this member; otherwise it does not exist for them."""
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None or not survey.is_open() or not survey_targets(survey).filter(pk=member.pk).exists():
        raise NotFound(_("This survey is not open for you."))
    return survey


def _clean_answers(questions: list[Question], answers: dict) -> tuple[list[tuple], dict[str, list[str]]]:
    cleaned, errors = [], {}
    for q in questions:
        key = str(q.pk)
        raw = answers.get(q.pk, answers.get(key))
        empty = raw is None or raw == "" or raw == []
        if empty:
            if q.required:
                errors[key] = [_("Please answer this question.")]
            continue
        choice_ids = {c.pk for c in q.choices.all()}
        try:
            if q.kind == Question.Kind.RATING:
                rating = int(raw)
                if not 1 <= rating <= 5:
                    raise ValueError
                cleaned.append((q, rating, "", []))
            elif q.kind == Question.Kind.SINGLE:
                picked = int(raw[0] if isinstance(raw, list | tuple) and len(raw) == 1 else raw)
                if picked not in choice_ids:
                    raise ValueError
                cleaned.append((q, None, "", [picked]))
            elif q.kind == Question.Kind.MULTIPLE:
                picked = sorted({int(v) for v in (raw if isinstance(raw, list | tuple) else [raw])})
                if not set(picked) <= choice_ids:
                    raise ValueError
                cleaned.append((q, None, "", picked))
            else:
                text = str(raw).strip()
                if len(text) > TEXT_MAX:
                    errors[key] = [_("Please keep the answer under %(n)d characters.") % {"n": TEXT_MAX}]
                    continue
                if text:
                    cleaned.append((q, None, text, []))
                elif q.required:
                    errors[key] = [_("Please answer this question.")]
        except (TypeError, ValueError):
            errors[key] = [_("Pick one of the offered answers.") if q.kind != Question.Kind.RATING
                           else _("Rate from 1 to 5.")]
    return cleaned, errors


@transaction.atomic
def survey_submit(*, survey_id: int, member: Member, answers: dict) -> Response:
    """The member's answers. `answers` maps question id to a rating (1-5), a choice id, a list of
    choice ids or a text. Raises AlreadyAnswered on a second submission."""
    survey = survey_for_member(survey_id=survey_id, member=member)
    questions = survey_check_ready(survey)
    if ResponseReceipt.objects.filter(survey=survey, member=member).exists():
        raise AlreadyAnswered(_("You have already answered this survey. Thank you!"))
    cleaned, errors = _clean_answers(questions, answers)
    if errors:
        raise CareError(_("Some answers are missing or not valid."), fields=errors)
    now = timezone.now()
    today = timezone.localdate(now)
    try:
        with transaction.atomic():
            ResponseReceipt.objects.create(survey=survey, member=member, answered_on=today)
    except IntegrityError:
        raise AlreadyAnswered(_("You have already answered this survey. Thank you!")) from None
    if survey.anonymous:
        # Only the day, so the time cannot single out the member behind the receipt.
        submitted_at = timezone.make_aware(dt.datetime.combine(today, dt.time(12)))
        response = Response.objects.create(survey=survey, member=None, store_id=member.home_store_id,
                                           submitted_at=submitted_at)
    else:
        response = Response.objects.create(survey=survey, member=member, store_id=member.home_store_id,
                                           submitted_at=now)
    rows = Answer.objects.bulk_create(
        [Answer(response=response, question=q, rating=rating, text=text) for q, rating, text, _c in cleaned])
    Through = Answer.choices.through
    Through.objects.bulk_create([Through(answer_id=a.pk, choice_id=cid)
                                 for a, (_q, _r, _t, picked) in zip(rows, cleaned, strict=True) for cid in picked])
    return response


