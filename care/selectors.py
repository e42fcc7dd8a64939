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
from django.db import connection
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone

from core.errors import NotFound
from members import scope
from members.models import Store

from .models import Answer, Dimension, ImprovementAction, Question, Response, Survey, Visit

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
