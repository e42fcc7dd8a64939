"""Reads of member care: visit lists in the staff member's store scope, and the CSI report.

CSI (SD-6) = satisfied ÷ answered × 100 %, computed in SQL with COUNT(*) FILTER:
- overall, per store and per period (month, Asia/Shanghai): over responses that rated the overall
  question; satisfied = that rating ≥ the survey's threshold (default 4);
- per dimension (and store × dimension): over responses that rated at least one of that
  dimension's rating questions; satisfied = the respondent's mean rating over them ≥ threshold.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, models
from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

from core.errors import NotFound
from core.service_cases import open_case_counts
from members import scope
from members.models import Store
from points.selectors import EXPIRING_WITHIN_DAYS, expiring_points_for_members

from .models import (
    AccountManagerAssignment,
    Answer,
    Dimension,
    ImprovementAction,
    Question,
    Response,
    Survey,
    SurveySample,
    Visit,
)

# ---------------------------------------------------------------- visits


def visit_list_for_staff(user, *, mine: bool = False, overdue: bool | None = None, status: str | None = None,
                         today: dt.date | None = None) -> QuerySet[Visit]:
    today = today or timezone.localdate()
    qs = scope.filter_by_store(user, Visit.objects.all(), "store")
    if mine:
        qs = qs.filter(assignee=user)
    if status:
        qs = qs.filter(status=status)
    overdue_q = Q(status=Visit.Status.OPEN, due_on__lt=today)
    if overdue is True:
        qs = qs.filter(overdue_q)
    elif overdue is False:
        qs = qs.exclude(overdue_q)
    return (qs.select_related("member", "member__tier", "store", "assignee")
            .annotate(overdue=Case(When(overdue_q, then=Value(True)), default=Value(False),
                                   output_field=BooleanField()))
            .order_by("status", "due_on", "id"))


def visit_get_for_staff(user, pk: int) -> Visit:
    visit = visit_list_for_staff(user).filter(pk=pk).first()
    if visit is None:
        raise NotFound("No such visit.")
    return visit


def visit_attempts_for(visit: Visit) -> list:
    return list(visit.attempt_log.select_related("staff").order_by("at", "id"))


# ---------------------------------------------------------------- account managers (SD-11)

BIRTHDAY_WITHIN_DAYS = 30


def next_birthday(birthday: dt.date | None, today: dt.date) -> dt.date | None:
    """The member's next birthday on or after today (29 February falls on 1 March in other years)."""
    if birthday is None:
        return None
    for year in (today.year, today.year + 1):
        try:
            day = birthday.replace(year=year)
        except ValueError:
            day = dt.date(year, 3, 1)
        if day >= today:
            return day
    return None


def managed_members(manager, *, today: dt.date | None = None) -> tuple[list[dict], dict]:
    """The account manager's members ("my members", seed 000 专属客户经理) with what to act on: an upcoming
    birthday, points about to expire (points.selectors), open cases (the sources service_desk registers
    in core.service_cases) and open visits, with the windows used. A bounded number of queries, whatever the
    list's length."""
    today = today or timezone.localdate()
    assignments = list(
        AccountManagerAssignment.objects.filter(manager=manager, ends_at__isnull=True)
        .select_related("member", "member__tier", "member__home_store")
        .annotate(open_visits=Count("member__visits", filter=Q(member__visits__status=Visit.Status.OPEN)))
        .order_by("member__member_no"))
    ids = [a.member_id for a in assignments]
    expiring = expiring_points_for_members(ids, today=today)
    cases = open_case_counts(ids)
    rows = []
    for a in assignments:
        birthday = next_birthday(a.member.birthday, today)
        soon = birthday is not None and (birthday - today).days <= BIRTHDAY_WITHIN_DAYS
        rows.append({
            "member": a.member, "since": a.starts_at, "open_visits": a.open_visits,
            "birthday": birthday if soon else None, "birthday_in": (birthday - today).days if soon else None,
            "expiring": expiring.get(a.member_id), "cases": cases.get(a.member_id, {}),
            "open_cases": sum(cases.get(a.member_id, {}).values()),
        })
    rows.sort(key=lambda r: (r["birthday_in"] if r["birthday_in"] is not None else 999, r["member"].member_no))
    return rows, {"birthday_days": BIRTHDAY_WITHIN_DAYS, "expiring_days": EXPIRING_WITHIN_DAYS}


def account_manager_history(member) -> list[AccountManagerAssignment]:
    return list(AccountManagerAssignment.objects.filter(member=member)
                .select_related("manager", "assigned_by", "ended_by").order_by("-starts_at", "-id")[:20])


# ---------------------------------------------------------------- surveys


def survey_list_for_staff(user) -> QuerySet[Survey]:
    """Surveys are chain-wide questionnaires; what staff of one store see in them is scoped below."""
    return Survey.objects.order_by("-opens_at", "-id")


def survey_get(pk: int) -> Survey:
    survey = Survey.objects.filter(pk=pk).first()
    if survey is None:
        raise NotFound("No such survey.")
    return survey


def _csi(answered: int, satisfied: int) -> float | None:
    return round(100.0 * satisfied / answered, 1) if answered else None


def _row(answered: int, satisfied: int, **extra) -> dict:
    return {**extra, "answered": answered, "satisfied": satisfied, "csi": _csi(answered, satisfied)}


def _store_filter(store_ids: list[int] | None) -> tuple[str, list]:
    if store_ids is None:
        return "", []
    return " AND r.store_id = ANY(%s)", [list(store_ids)]


def _tables() -> dict:
    return {"answer": Answer._meta.db_table, "question": Question._meta.db_table,
            "response": Response._meta.db_table, "survey": Survey._meta.db_table}


_OVERALL_SQL = """
WITH rated AS (
    SELECT r.store_id, to_char(timezone(%s, r.submitted_at), 'YYYY-MM') AS period,
           a.rating >= s.satisfied_threshold AS satisfied
    FROM {answer} a
    JOIN {question} q ON q.id = a.question_id AND q.is_overall
    JOIN {response} r ON r.id = a.response_id
    JOIN {survey} s ON s.id = r.survey_id
    WHERE r.survey_id = %s AND a.rating IS NOT NULL{store_filter}
)
SELECT GROUPING(store_id, period) AS g, store_id, period,
       COUNT(*) AS answered, COUNT(*) FILTER (WHERE satisfied) AS satisfied
FROM rated
GROUP BY GROUPING SETS ((), (store_id), (period))
ORDER BY g, store_id, period
"""

_DIMENSION_SQL = """
WITH per_respondent AS (
    SELECT r.store_id, q.dimension, AVG(a.rating) >= MAX(s.satisfied_threshold) AS satisfied
    FROM {answer} a
    JOIN {question} q ON q.id = a.question_id AND q.kind = 'rating' AND NOT q.is_overall AND q.dimension <> ''
    JOIN {response} r ON r.id = a.response_id
    JOIN {survey} s ON s.id = r.survey_id
    WHERE r.survey_id = %s AND a.rating IS NOT NULL{store_filter}{dimension_filter}
    GROUP BY r.id, r.store_id, q.dimension
)
SELECT GROUPING(store_id) AS g, dimension, store_id,
       COUNT(*) AS answered, COUNT(*) FILTER (WHERE satisfied) AS satisfied
FROM per_respondent
GROUP BY GROUPING SETS ((dimension), (dimension, store_id))
ORDER BY g, dimension, store_id
"""


def dimension_csi(survey: Survey, dimension: str, *, store_ids: list[int] | None = None) -> dict:
    """CSI of one dimension of one survey (all of the given stores together)."""
    store_filter, store_params = _store_filter(store_ids)
    sql = _DIMENSION_SQL.format(**_tables(), store_filter=store_filter, dimension_filter=" AND q.dimension = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [survey.pk, *store_params, dimension])
        for g, _dim, _store, answered, satisfied in cursor.fetchall():
            if g == 1:
                return _row(answered, satisfied, dimension=dimension)
    return _row(0, 0, dimension=dimension)


def survey_report(survey: Survey, *, store_ids: list[int] | None = None) -> dict:
    """The CSI report of a survey, limited to responses of `store_ids` (None: every store)."""
    store_filter, store_params = _store_filter(store_ids)
    tables = _tables()
    with connection.cursor() as cursor:
        cursor.execute(_OVERALL_SQL.format(**tables, store_filter=store_filter),
                       [settings.TIME_ZONE, survey.pk, *store_params])
        overall_rows = cursor.fetchall()
        cursor.execute(_DIMENSION_SQL.format(**tables, store_filter=store_filter, dimension_filter=""),
                       [survey.pk, *store_params])
        dimension_rows = cursor.fetchall()
    store_ids_seen = {row[1] for row in overall_rows if row[1]} | {row[2] for row in dimension_rows if row[2]}
    stores = {s.pk: s for s in Store.objects.filter(pk__in=store_ids_seen)}
    labels = dict(Dimension.choices)
    report = {"survey": survey, "threshold": survey.satisfied_threshold, "overall": _row(0, 0),
              "by_store": [], "by_period": [], "by_dimension": [], "by_store_dimension": []}
    for g, store_id, period, answered, satisfied in overall_rows:
        if g == 3:
            report["overall"] = _row(answered, satisfied)
        elif g == 1:
            report["by_store"].append(_row(answered, satisfied, store_id=store_id,
                                           store=str(stores[store_id])))
        else:
            report["by_period"].append(_row(answered, satisfied, period=period))
    for g, dim, store_id, answered, satisfied in dimension_rows:
        if g == 1:
            report["by_dimension"].append(_row(answered, satisfied, dimension=dim, label=str(labels.get(dim, dim))))
        else:
            report["by_store_dimension"].append(_row(answered, satisfied, dimension=dim,
                                                     label=str(labels.get(dim, dim)), store_id=store_id,
                                                     store=str(stores[store_id])))
    return report


def report_rows(report: dict) -> list[list]:
    """The report flattened for CSV / Excel: section, key, label, answered, satisfied, CSI %."""
    rows = [["overall", "", report["survey"].title, report["overall"]["answered"], report["overall"]["satisfied"],
             report["overall"]["csi"]]]
    rows += [["store", r["store_id"], r["store"], r["answered"], r["satisfied"], r["csi"]] for r in report["by_store"]]
    rows += [["period", r["period"], r["period"], r["answered"], r["satisfied"], r["csi"]]
             for r in report["by_period"]]
    rows += [["dimension", r["dimension"], r["label"], r["answered"], r["satisfied"], r["csi"]]
             for r in report["by_dimension"]]
    rows += [["store_dimension", f"{r['store_id']}:{r['dimension']}", f"{r['store']} · {r['label']}", r["answered"],
              r["satisfied"], r["csi"]] for r in report["by_store_dimension"]]
    return rows


# ---------------------------------------------------------------- improvement actions


def action_list_for_staff(user) -> QuerySet[ImprovementAction]:
    qs = ImprovementAction.objects.select_related("source_survey", "remeasure_survey", "owner", "store")
    ids = scope.store_ids(user)
    if ids is not None:
        # Store staff see their store's actions and the ones they own (chain-wide ones included).
        qs = qs.filter(Q(store_id__in=ids) | Q(owner=user))
    return qs.order_by("status", "due_on", "id")


def action_get_for_staff(user, pk: int) -> ImprovementAction:
    action = action_list_for_staff(user).filter(pk=pk).first()
    if action is None:
        raise NotFound("No such improvement action.")
    return action


def action_before_after(action: ImprovementAction) -> dict:
    """Dimension CSI in the source survey (before) and in the re-measuring survey (after)."""
    store_ids = [action.store_id] if action.store_id else None
    before = dimension_csi(action.source_survey, action.dimension, store_ids=store_ids)
    after = (dimension_csi(action.remeasure_survey, action.dimension, store_ids=store_ids)
             if action.remeasure_survey_id else None)
    change = (round(after["csi"] - before["csi"], 1)
              if after and after["csi"] is not None and before["csi"] is not None else None)
    return {"before": before, "after": after, "change": change}


# ---------------------------------------------------------------- interviews and samples (seed 000 测评方式)


def surveys_open_for_member(member, *, store_ids: list[int] | None) -> list[Survey]:
    """Open surveys whose audience (in the staff member's store scope) holds the member, with whether the
    member has answered (one query per open survey; open surveys are few)."""
    from .services.surveys import survey_targets

    now = timezone.now()
    answered = set(member.survey_receipts.values_list("survey_id", flat=True))
    out = []
    for survey in Survey.objects.filter(opens_at__lte=now, closes_at__gt=now).order_by("closes_at"):
        if survey_targets(survey, store_ids=store_ids).filter(pk=member.pk).exists():
            survey.answered = survey.pk in answered
            out.append(survey)
    return out


def sample_get(survey: Survey, pk: int) -> SurveySample:
    sample = SurveySample.objects.filter(survey=survey, pk=pk).select_related("created_by").first()
    if sample is None:
        raise NotFound("No such sample.")
    return sample


def sample_call_list(sample: SurveySample, user) -> QuerySet:
    """The drawn members in the staff member's store scope, with whether they have answered."""
    from .models import ResponseReceipt, SurveySampleMember

    answered = ResponseReceipt.objects.filter(survey_id=sample.survey_id, member_id=models.OuterRef("member_id"))
    qs = SurveySampleMember.objects.filter(sample=sample)
    qs = scope.filter_by_store(user, qs, "member__home_store")
    return (qs.select_related("member", "member__tier", "member__home_store")
            .annotate(answered=models.Exists(answered)).order_by("member__member_no"))
