"""Satisfaction surveys (满意度测评, SD-6): readiness, distribution through the messaging service,
and the member's one answer.

One answer per member is the UNIQUE (survey, member) of ResponseReceipt, written first in the same
transaction as the response: a second submission, even a concurrent one, fails on that key. For an
anonymous survey the Response carries no member and only the day it was submitted, so the receipt
(member, day) cannot be joined to it by time."""
from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import MD5, Cast, Concat
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import NotFound
from core.models import AuditLog
from evaluation.selectors import audience_members
from members import scope
from members.models import Member
from messaging.models import Notice
from messaging.services import notify_members_bulk

from ..errors import AlreadyAnswered, CareError
from ..models import Answer, Question, Response, ResponseReceipt, Survey, SurveySample, SurveySampleMember

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


MAX_SAMPLE = 100_000
SEED_MAX = 32


def _sample_draw(targets: QuerySet[Member], *, seed: str, size: int | None, percent: Decimal | None,
                 population: int) -> list[int]:
    """Reproducible random sample: members ordered by md5(seed:id), the first n taken, so the same seed
    over the same audience draws the same members, and another seed another sample."""
    n = size if size is not None else math.ceil(population * percent / 100)
    n = min(n, population, MAX_SAMPLE)
    key = MD5(Concat(Value(f"{seed}:"), Cast("pk", output_field=CharField())))
    return list(targets.annotate(draw_key=key).order_by("draw_key", "pk").values_list("pk", flat=True)[:n])


def _clean_sample(sample_size, sample_percent, seed) -> tuple[int | None, Decimal | None, str]:
    errors: dict[str, list[str]] = {}
    if sample_size is not None and sample_percent is not None:
        errors["sample_size"] = [_("Give a sample size or a percentage, not both.")]
    if sample_size is not None and not 1 <= sample_size <= MAX_SAMPLE:
        errors["sample_size"] = [_("A sample is 1 to %(n)d members.") % {"n": MAX_SAMPLE}]
    if sample_percent is not None:
        try:
            sample_percent = Decimal(sample_percent).quantize(Decimal("0.01"))
        except (InvalidOperation, TypeError, ValueError):
            sample_percent = Decimal("-1")
        if not Decimal("0") < sample_percent <= Decimal("100"):
            errors["sample_percent"] = [_("A percentage is more than 0 and at most 100.")]
    seed = (seed or "").strip() or secrets.token_hex(8)
    if len(seed) > SEED_MAX:
        errors["seed"] = [_("Keep the seed under %(n)d characters.") % {"n": SEED_MAX}]
    if errors:
        raise CareError(_("The sample could not be drawn; check the fields."), fields=errors, code="bad_sample")
    return sample_size, sample_percent, seed


def survey_distribute(*, survey_id: int, staff, sms: bool = True, sample_size: int | None = None,
                      sample_percent: Decimal | None = None, seed: str | None = None,
                      notify: bool = True) -> dict:
    """Send the survey link to every targeted member who has not answered yet, through
    messaging.services.notify_members_bulk (kind "survey", ref = survey id): a repeat send reaches
    only members added to the segment since. Staff who are not chain-wide reach their store only.

    With a sample size or percentage (seed 000 测评方式: 随机电话访谈, random sampling of the audience) only
    a random sample of those members is drawn, reproducibly from `seed` (generated when not given), and
    recorded as a SurveySample with its members: the call list for phone interviews. `notify=False`
    draws the call list without sending invitations."""
    scope.require_perm(staff, "care.distribute_survey")
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("No such survey."))
    survey_check_ready(survey)
    if survey.closes_at <= timezone.now():
        raise CareError(_("This survey has closed; it cannot be sent any more."), code="survey_closed")
    sampled = sample_size is not None or sample_percent is not None
    if sampled:
        sample_size, sample_percent, seed = _clean_sample(sample_size, sample_percent, seed)
    targets = (survey_targets(survey, store_ids=scope.store_ids(staff))
               .exclude(survey_receipts__survey=survey).order_by("pk"))
    sample = None
    if sampled:
        population = targets.count()
        drawn = _sample_draw(targets, seed=seed, size=sample_size, percent=sample_percent, population=population)
        with transaction.atomic():
            sample = SurveySample.objects.create(
                survey=survey, sample_size=sample_size, sample_percent=sample_percent, seed=seed,
                population=population, drawn=len(drawn), created_by=staff, created_at=timezone.now())
            SurveySampleMember.objects.bulk_create([SurveySampleMember(sample=sample, member_id=pk) for pk in drawn],
                                                   batch_size=DISTRIBUTE_BATCH)
        batches = (sorted(drawn)[i:i + DISTRIBUTE_BATCH] for i in range(0, len(drawn), DISTRIBUTE_BATCH))
    else:
        batches = _keyset_batches(targets.values_list("pk", flat=True))
    link = survey_link(survey)
    title = _("Satisfaction survey: %(t)s") % {"t": survey.title}
    body = _("Please tell us how we are doing: %(link)s (open until %(until)s)") % {
        "link": link, "until": timezone.localtime(survey.closes_at).strftime("%Y-%m-%d %H:%M")}
    targeted = sent = 0
    for batch in batches:
        targeted += len(batch)
        if not notify:
            continue
        with transaction.atomic():
            sent += notify_members_bulk(
                [Notice(member_id=pk, kind=NOTICE_KIND, ref=str(survey.pk), title=title, body=body) for pk in batch],
                sms=sms,
            )
    if notify:
        Survey.objects.filter(pk=survey.pk).update(distributed_at=timezone.now())
    if sample is not None:
        SurveySample.objects.filter(pk=sample.pk).update(sent=sent)
    result = {"targeted": targeted, "sent": sent}
    if sample is not None:
        result.update(sample=sample.pk, seed=seed, population=sample.population)
    return result


def _keyset_batches(pks: QuerySet) -> Iterator[list[int]]:
    last = 0
    while True:
        batch = list(pks.filter(pk__gt=last)[:DISTRIBUTE_BATCH])
        if not batch:
            return
        last = batch[-1]
        yield batch


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
    return _response_create(survey=survey, member=member, answers=answers, channel=Response.Channel.PORTAL)


STAFF_CHANNELS = [c for c in Response.Channel.values if c != Response.Channel.PORTAL]


@transaction.atomic
def survey_enter_for_member(*, survey_id: int, member: Member, staff, channel: str, answers: dict) -> Response:
    """Answers a member gave in a phone interview, an in-store intercept, a member forum or an
    experience event (seed 000 测评方式), typed in by staff on the member's behalf: same questions,
    same one-answer rule and the same CSI as a portal answer, with the channel and who entered it on
    the response and an audit row (the survey and channel; never the answers). For an anonymous survey
    the response keeps the channel only."""
    scope.require_perm(staff, "care.enter_survey_response")
    scope.require_member(staff, member)
    if channel not in STAFF_CHANNELS:
        raise CareError(_("Choose how the answers were collected."),
                        fields={"channel": [_("Choose how the answers were collected.")]}, code="bad_channel")
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("No such survey."))
    if not survey.is_open():
        raise CareError(_("This survey is not open; answers cannot be entered."), code="survey_closed")
    if not survey_targets(survey, store_ids=scope.store_ids(staff)).filter(pk=member.pk).exists():
        raise CareError(_("This member is not in the survey's audience."), code="not_in_audience")
    # An anonymous answer keeps nobody on it who could lead back to the member: no staff name on the
    # response and no channel in the audit row (which names the member), so the two cannot be joined.
    response = _response_create(survey=survey, member=member, answers=answers, channel=channel,
                                entered_by=None if survey.anonymous else staff,
                                already=_("This member has already answered this survey."))
    audit_record(actor=staff, action=AuditLog.Action.SURVEY_ENTRY, member=member, field="survey",
                 detail=f"survey {survey.pk} (anonymous)" if survey.anonymous else f"survey {survey.pk} via {channel}")
    return response


def _response_create(*, survey: Survey, member: Member, answers: dict, channel: str, entered_by=None,
                     already: str | None = None) -> Response:
    questions = survey_check_ready(survey)
    already = already or _("You have already answered this survey. Thank you!")
    if ResponseReceipt.objects.filter(survey=survey, member=member).exists():
        raise AlreadyAnswered(already)
    cleaned, errors = _clean_answers(questions, answers)
    if errors:
        raise CareError(_("Some answers are missing or not valid."), fields=errors)
    now = timezone.now()
    today = timezone.localdate(now)
    try:
        with transaction.atomic():
            ResponseReceipt.objects.create(survey=survey, member=member, answered_on=today)
    except IntegrityError:
        raise AlreadyAnswered(already) from None
    if survey.anonymous:
        # Only the day, so the time cannot single out the member behind the receipt.
        submitted_at = timezone.make_aware(dt.datetime.combine(today, dt.time(12)))
        response = Response.objects.create(survey=survey, member=None, store_id=member.home_store_id,
                                           submitted_at=submitted_at, channel=channel, entered_by=entered_by)
    else:
        response = Response.objects.create(survey=survey, member=member, store_id=member.home_store_id,
                                           submitted_at=now, channel=channel, entered_by=entered_by)
    rows = Answer.objects.bulk_create(
        [Answer(response=response, question=q, rating=rating, text=text) for q, rating, text, _c in cleaned])
    Through = Answer.choices.through
    Through.objects.bulk_create([Through(answer_id=a.pk, choice_id=cid)
                                 for a, (_q, _r, _t, picked) in zip(rows, cleaned, strict=True) for cid in picked])
    return response
