"""Service figures per staff member and per store (seed 001 1.4 服务考核: 服务效率 响应时间/问题解决速度,
服务效果 顾客满意度; 001 8.1 / 8.4 监督与考核, 服务绩效的评估与反馈; 002 六 会员活动 / 七 会员关系维护), read for the
desk page dashboards:staff and its CSV / Excel export.

For the local dates [date_from, date_to] of the chosen stores, each figure grouped by (staff, store) in SQL
(GROUP BY, one query per source whatever the number of rows), the store rows summed from those:
- members recruited: members whose sign-up a staff member recorded (Member.created_by) in the period,
  by their home store; sign-ups still pending or rejected are not members and do not count;
- complaints handled: complaints received in the period, by their store and their assignee (who accepted
  the case, or to whom it was transferred). Time limits as the SD-2 compliance report
  (service_desk.selectors.compliance_rates) counts them: a step counts once it is done or its deadline has
  passed, on time = done by the deadline stored on the complaint (accept_due, reply_due, close_due); the
  average times are from receipt to acceptance and to closing, in hours, of the steps done;
- CSI of the cases handled: the members' ratings of those complaints (ComplaintRating, 1–5), satisfied
  from COMPLAINT_SATISFIED_FROM (the default threshold of the care surveys), CSI = satisfied ÷ rated;
- visits done on time: follow-up visits due in the period, by their store and assignee; on time = done
  (the member reached) on or before the due date (as dashboards.jobs counts visits_done_on_time).

No member's personal data is read or shown: staff are named by their display name or username.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from care.models import Visit
from members.models import Member, Store
from service_desk.models import Complaint
from service_desk.selectors import on_time_aggregates

from .selectors import Table, _chart, _rate

COMPLAINT_SATISFIED_FROM = 4
TOP_STAFF_IN_CHART = 20
# Members recorded by staff who are members now (a sign-up pending review or rejected is not one).
_NOT_RECRUITED = (Member.Status.PENDING, Member.Status.REJECTED)

_FIGURES = ["recruited", "complaints", "accept_counted", "accept_on_time", "reply_counted", "reply_on_time",
            "close_counted", "close_on_time", "accept_seconds", "accepted", "close_seconds", "closed", "rated",
            "satisfied", "rating_sum", "visits_due", "visits_on_time"]


@dataclass
class Figures:
    staff_id: int | None
    store_id: int
    values: dict = field(default_factory=lambda: dict.fromkeys(_FIGURES, 0))

    def add(self, other: dict) -> None:
        for name in _FIGURES:
            self.values[name] += other.get(name) or 0


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    return (timezone.make_aware(dt.datetime.combine(date_from, dt.time.min), tz),
            timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min), tz))


def _in_stores(store_ids: list[int] | None, name: str) -> Q:
    return Q() if store_ids is None else Q(**{f"{name}__in": store_ids})


def _seconds(value) -> float:
    return value.total_seconds() if value else 0.0


def figures_by_staff(*, store_ids: list[int] | None, date_from: dt.date, date_to: dt.date,
                     now: dt.datetime | None = None) -> dict[tuple[int | None, int], Figures]:
    """{(staff id or None, store id): Figures}, three grouped queries."""
    now = now or timezone.now()
    lo, hi = _bounds(date_from, date_to)
    out: dict[tuple[int | None, int], Figures] = {}

    def put(staff_id, store_id, values):
        out.setdefault((staff_id, store_id), Figures(staff_id, store_id)).add(values)

    recruited = (Member.objects.filter(_in_stores(store_ids, "home_store_id"), created_by__isnull=False,
                                       created_at__gte=lo, created_at__lt=hi)
                 .exclude(status__in=_NOT_RECRUITED).order_by()
                 .values("created_by_id", "home_store_id").annotate(n=Count("pk")))
    for row in recruited:
        put(row["created_by_id"], row["home_store_id"], {"recruited": row["n"]})

    steps = on_time_aggregates(now)  # the compliance report's rule (service_desk.selectors)
    duration = DurationField()
    complaints = (Complaint.objects.filter(_in_stores(store_ids, "store_id"), received_at__gte=lo, received_at__lt=hi)
                  .order_by().values("assignee_id", "store_id").annotate(
                      complaints=Count("pk"), **steps,
                      accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
                      accept_time=Sum(ExpressionWrapper(F("accepted_at") - F("received_at"), output_field=duration)),
                      closed=Count("pk", filter=Q(closed_at__isnull=False)),
                      close_time=Sum(ExpressionWrapper(F("closed_at") - F("received_at"), output_field=duration)),
                      rated=Count("rating"),
                      satisfied=Count("rating", filter=Q(rating__score__gte=COMPLAINT_SATISFIED_FROM)),
                      rating_sum=Sum("rating__score")))
    for row in complaints:
        row["accept_seconds"], row["close_seconds"] = _seconds(row.pop("accept_time")), _seconds(row.pop("close_time"))
        put(row.pop("assignee_id"), row.pop("store_id"), row)

    visits = (Visit.objects.filter(_in_stores(store_ids, "store_id"), due_on__gte=date_from, due_on__lte=date_to)
              .order_by().values("assignee_id", "store_id").annotate(
                  visits_due=Count("pk"),
                  visits_on_time=Count("pk", filter=Q(status=Visit.Status.DONE, done_at__date__lte=F("due_on")))))
    for row in visits:
        put(row.pop("assignee_id"), row.pop("store_id"), row)
    return out


def _hours(seconds: float, n: int) -> Decimal | None:
    return (Decimal(seconds) / n / 3600).quantize(Decimal("0.1")) if n else None


def _cells(v: dict) -> list:
    return [v["recruited"], v["complaints"], _rate(v["accept_on_time"], v["accept_counted"]),
            _hours(v["accept_seconds"], v["accepted"]), _rate(v["reply_on_time"], v["reply_counted"]),
            _rate(v["close_on_time"], v["close_counted"]), _hours(v["close_seconds"], v["closed"]), v["rated"],
            _rate(v["satisfied"], v["rated"]),
            (Decimal(v["rating_sum"]) / v["rated"]).quantize(Decimal("0.01")) if v["rated"] else None,
            v["visits_due"], _rate(v["visits_on_time"], v["visits_due"])]


def _columns() -> list[str]:
    return [_("Members recruited"), _("Complaints handled"), _("Accepted on time (%)"),
            _("Average time to accept (hours)"), _("First reply on time (%)"), _("Closed on time (%)"),
            _("Average time to close (hours)"), _("Cases rated"), _("CSI of the cases (%)"),
            _("Average rating (of 5)"), _("Visits due"), _("Visits done on time (%)")]


def _staff_names(ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=ids).select_related("staff_profile")
    names = {}
    for user in users:
        profile = getattr(user, "staff_profile", None)
        names[user.pk] = (profile.display_name if profile and profile.display_name else user.get_username())
    return names


def staff_service_figures(*, store_ids: list[int] | None, date_from: dt.date, date_to: dt.date,
                          now: dt.datetime | None = None) -> dict:
    """The page's tables (by_staff, by_store) and charts, for stores `store_ids` (None: the chain)."""
    figures = figures_by_staff(store_ids=store_ids, date_from=date_from, date_to=date_to, now=now)
    stores = {s.pk: s for s in Store.objects.filter(pk__in={k[1] for k in figures}).only("pk", "code", "name")}
    names = _staff_names({k[0] for k in figures if k[0] is not None})

    def store_label(store_id):
        store = stores.get(store_id)
        return f"{store.code} {store.name}" if store else str(store_id)

    unassigned = _("(not assigned)")
    staff_rows = sorted(figures.values(), key=lambda f: (stores[f.store_id].code if f.store_id in stores else "",
                                                         f.staff_id is None, names.get(f.staff_id, "")))
    by_store: dict[int, Figures] = {}
    total = Figures(None, 0)
    for f in staff_rows:
        by_store.setdefault(f.store_id, Figures(None, f.store_id)).add(f.values)
        total.add(f.values)
    note = _("Complaints received in the period, by their assignee; a time limit counts once it is met or has "
             "passed. CSI: members' ratings of %(n)s or more out of 5. Visits due in the period, done on time "
             "= member reached by the due date. Members recruited: sign-ups recorded by the staff member that "
             "became members.") % {"n": COMPLAINT_SATISFIED_FROM}
    tables = {
        "by_staff": Table("by_staff", _("Service figures by staff member"), [_("Staff"), _("Store"), *_columns()],
                          [[names.get(f.staff_id, unassigned) if f.staff_id else unassigned,
                            store_label(f.store_id), *_cells(f.values)] for f in staff_rows], note=note),
        "by_store": Table("by_store", _("Service figures by store"), [_("Store"), *_columns()],
                          [[store_label(pk), *_cells(f.values)] for pk, f in by_store.items()]
                          + ([[_("All"), *_cells(total.values)]] if len(by_store) > 1 else []), note=note),
    }
    store_rows = tables["by_store"].rows
    recruiters = sorted((f for f in staff_rows if f.staff_id and f.values["recruited"]),
                        key=lambda f: -f.values["recruited"])[:TOP_STAFF_IN_CHART]
    charts = {
        "stores": _chart("bar", [r[0] for r in store_rows], [
            {"name": _("Accepted on time (%)"), "data": [r[3] for r in store_rows]},
            {"name": _("Closed on time (%)"), "data": [r[6] for r in store_rows]},
            {"name": _("CSI of the cases (%)"), "data": [r[9] for r in store_rows]},
            {"name": _("Visits done on time (%)"), "data": [r[12] for r in store_rows]}]),
        "recruited": _chart("bar", [f"{names.get(f.staff_id, '')} · {stores[f.store_id].code}" for f in recruiters],
                            [{"name": _("Members recruited"), "data": [f.values["recruited"] for f in recruiters]}],
                            horizontal=True),
    }
    return {"tables": tables, "charts": charts, "total": _cells(total.values)}
