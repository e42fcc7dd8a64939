"""Reads of the service desk: scoped lists sorted by the nearest open deadline, the clocks shown on
every list and page, the member's own complaints, FAQ search and the compliance report (SD-2)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, F, Q, QuerySet, When
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from members import scope
from members.models import Member

from . import search
from .clocks import deadline_text, duration_text
from .models import (
    AfterSalesCase,
    AfterSalesStatus,
    Complaint,
    ComplaintStatus,
    Consultation,
    FaqArticle,
    StaffNotice,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

NEXT_DUE = Case(
    When(accepted_at__isnull=True, then=F("accept_due")),
    When(first_replied_at__isnull=True, then=F("reply_due")),
    When(closed_at__isnull=True, then=F("close_due")),
    default=None,
)


def complaint_list_for_staff(user) -> QuerySet[Complaint]:
    qs = Complaint.objects.select_related("store", "member", "member__tier", "department", "assignee")
    return scope.filter_by_store(user, qs, field="store")


def complaint_queue(user, *, status: str = "", store_id: int | None = None, category: str = "",
                    open_only: bool = True, mine: bool = False) -> QuerySet[Complaint]:
    """The desk queue: nearest open deadline first, closed complaints last; `mine`: assigned to `user`."""
    qs = complaint_list_for_staff(user).annotate(next_due=NEXT_DUE)
    if mine:
        qs = qs.filter(assignee=user)
    if status:
        qs = qs.filter(status=status)
    elif open_only:
        qs = qs.exclude(status=ComplaintStatus.CLOSED)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if category:
        qs = qs.filter(category=category)
    return qs.order_by(F("next_due").asc(nulls_last=True), "pk")


def complaint_get_for_staff(user, complaint_id) -> Complaint:
    complaint = complaint_list_for_staff(user).filter(pk=complaint_id).first()
    if complaint is None:
        raise NotFound(_("No such complaint."))
    return complaint


def complaints_for_member(member: Member) -> QuerySet[Complaint]:
    return Complaint.objects.filter(member=member).select_related("store", "rating").order_by("-received_at", "-pk")


def complaint_get_for_member(member: Member, complaint_id) -> Complaint:
    """Another member's complaint looks like a missing one (SEC-3)."""
    try:
        complaint_id = int(complaint_id)
    except (TypeError, ValueError):
        raise NotFound(_("No such complaint.")) from None
    complaint = complaints_for_member(member).filter(pk=complaint_id).first()
    if complaint is None:
        raise NotFound(_("No such complaint."))
    return complaint


def unread_notices(user) -> QuerySet[StaffNotice]:
    return StaffNotice.objects.filter(user=user, read_at__isnull=True).select_related("complaint", "after_sales")


def consultation_list_for_staff(user) -> QuerySet[Consultation]:
    qs = Consultation.objects.select_related("store", "member", "department")
    return scope.filter_by_store(user, qs, field="store")


def consultation_queue(user, *, status: str = "") -> QuerySet[Consultation]:
    """SD-8: unanswered items first, the nearest answer deadline first; then the rest, newest first."""
    qs = consultation_list_for_staff(user)
    if status:
        qs = qs.filter(status=status)
    open_due = Case(When(status=Consultation.Status.RECEIVED, then=F("reply_due")), default=None)
    return qs.annotate(open_due=open_due).order_by(F("open_due").asc(nulls_last=True), "-received_at", "-pk")


def consultation_clock(item: Consultation, *, now: dt.datetime | None = None) -> Clock | None:
    """SD-8: the answer clock (None for items logged before consultations had one)."""
    if item.reply_due is None:
        return None
    return _clock(_("Answer"), item.reply_due, item.answered_at, now or timezone.now())


def consultations_for_member(member: Member) -> QuerySet[Consultation]:
    return Consultation.objects.filter(member=member).select_related("store").order_by("-received_at", "-pk")


# ---------------------------------------------------------------- after-sales (SD-7)

AFTER_SALES_NEXT_DUE = Case(
    When(responded_at__isnull=True, then=F("respond_due")),
    When(closed_at__isnull=True, then=F("resolve_due")),
    default=None,
)


def after_sales_list_for_staff(user) -> QuerySet[AfterSalesCase]:
    qs = AfterSalesCase.objects.select_related("store", "member", "member__tier", "assignee")
    return scope.filter_by_store(user, qs, field="store")


def after_sales_queue(user, *, status: str = "", kind: str = "", store_id: int | None = None,
                      satisfaction_due: bool = False) -> QuerySet[AfterSalesCase]:
    """Open cases nearest deadline first; or (`satisfaction_due`) closed cases whose satisfaction
    check is not recorded yet, the earliest due first (the staff's call list, 001 3.4)."""
    qs = after_sales_list_for_staff(user)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if kind:
        qs = qs.filter(kind=kind)
    if satisfaction_due:
        return qs.filter(status=AfterSalesStatus.CLOSED, satisfaction_at__isnull=True).order_by("satisfaction_due", "pk")
    qs = qs.annotate(next_due=AFTER_SALES_NEXT_DUE)
    qs = qs.filter(status=status) if status else qs.exclude(status=AfterSalesStatus.CLOSED)
    return qs.order_by(F("next_due").asc(nulls_last=True), "pk")


def after_sales_get_for_staff(user, case_id) -> AfterSalesCase:
    try:
        case_id = int(case_id)
    except (TypeError, ValueError):
        raise NotFound(_("No such after-sales case.")) from None
    case = after_sales_list_for_staff(user).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("No such after-sales case."))
    return case


def after_sales_for_member(member: Member) -> QuerySet[AfterSalesCase]:
    return AfterSalesCase.objects.filter(member=member).select_related("store").order_by("-received_at", "-pk")


def after_sales_get_for_member(member: Member, case_id) -> AfterSalesCase:
    """Another member's case looks like a missing one (SEC-3)."""
    try:
        case_id = int(case_id)
    except (TypeError, ValueError):
        raise NotFound(_("No such after-sales case.")) from None
    case = after_sales_for_member(member).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("No such after-sales case."))
    return case


def after_sales_clocks(case: AfterSalesCase, *, now: dt.datetime | None = None) -> list[Clock]:
    now = now or timezone.now()
    clocks = [
        _clock(_("Respond"), case.respond_due, case.responded_at, now),
        _clock(_("Resolve"), case.resolve_due, case.closed_at, now),
    ]
    if case.satisfaction_due is not None:
        clocks.append(_clock(_("Satisfaction check"), case.satisfaction_due, case.satisfaction_at, now))
    return clocks


def after_sales_current_clock(case: AfterSalesCase, *, now: dt.datetime | None = None) -> Clock | None:
    for clock in after_sales_clocks(case, now=now):
        if clock.done_at is None:
            return clock
    return None


def faq_search(query: str, *, published_only: bool = True) -> QuerySet[FaqArticle]:
    qs = FaqArticle.objects.all()
    if published_only:
        qs = qs.filter(published=True)
    return search.rank(qs, query)


# ---------------------------------------------------------------- clocks


@dataclass(frozen=True)
class Clock:
    """One time limit as shown: `state` is met / late (done after the limit) / open / overdue."""

    label: str
    due: dt.datetime
    done_at: dt.datetime | None
    state: str
    minutes: int  # left (open), over (overdue / late), 0 when met

    @property
    def text(self) -> str:
        return {
            "met": _("met"),
            "late": _("late by %(t)s") % {"t": duration_text(self.minutes)},
            "open": _("%(t)s left") % {"t": duration_text(self.minutes)},
            "overdue": _("overdue by %(t)s") % {"t": duration_text(self.minutes)},
        }[self.state]

    @property
    def due_local(self) -> dt.datetime:
        return self.due.astimezone(SHANGHAI)

    @property
    def due_text(self) -> str:
        """The deadline as the customer is told it (003 3.5): Chinese, Shanghai time."""
        return deadline_text(self.due)


def _clock(label: str, due: dt.datetime, done_at: dt.datetime | None, now: dt.datetime) -> Clock:
    if done_at is not None:
        late = int((done_at - due).total_seconds() // 60)
        return Clock(label, due, done_at, "late" if late > 0 else "met", max(late, 0))
    left = (due - now).total_seconds()
    if left >= 0:
        return Clock(label, due, None, "open", int(left // 60))
    return Clock(label, due, None, "overdue", int(-left // 60) or 1)


def complaint_clocks(complaint: Complaint, *, now: dt.datetime | None = None) -> list[Clock]:
    now = now or timezone.now()
    return [
        _clock(_("Accept"), complaint.accept_due, complaint.accepted_at, now),
        _clock(_("Reply"), complaint.reply_due, complaint.first_replied_at, now),
        _clock(_("Close"), complaint.close_due, complaint.closed_at, now),
    ]


def complaint_current_clock(complaint: Complaint, *, now: dt.datetime | None = None) -> Clock | None:
    """The clock of the next step still to do (None when closed)."""
    for clock in complaint_clocks(complaint, now=now):
        if clock.done_at is None:
            return clock
    return None


# ---------------------------------------------------------------- compliance (SD-2 report)


COMPLAINT_STEPS = (("accept", "accept_due", "accepted_at"), ("reply", "reply_due", "first_replied_at"),
                   ("close", "close_due", "closed_at"))


def on_time_aggregates(now: dt.datetime) -> dict:
    """The one rule of "on time" for complaint steps, as aggregates over a Complaint queryset: a step is
    counted once it is done or its limit has passed (`<step>_counted`), on time when done by the limit
    stored on the complaint (`<step>_on_time`). The compliance report and the staff figures both use it."""
    aggregates = {}
    for step, due, done in COMPLAINT_STEPS:
        aggregates[f"{step}_counted"] = Count("pk", filter=Q(**{f"{done}__isnull": False}) | Q(**{f"{due}__lt": now}))
        aggregates[f"{step}_on_time"] = Count("pk", filter=Q(**{f"{done}__lte": F(due)}))
    return aggregates


def compliance_rates(user, *, start: dt.date, end: dt.date, now: dt.datetime | None = None,
                     by_month: bool = False) -> list[dict]:
    """Accepted / replied / closed on time per store (and month) for complaints received from `start`
    to `end` inclusive (Shanghai dates). A step counts once it is done or its limit has passed: the
    rate is done-in-time ÷ (done + overdue); steps still within their limit are left out."""
    now = now or timezone.now()
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=SHANGHAI)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    qs = complaint_list_for_staff(user).filter(received_at__gte=lo, received_at__lt=hi)
    keys = ["store_id", "store__code", "store__name"]
    if by_month:
        qs = qs.annotate(month=TruncMonth("received_at", tzinfo=SHANGHAI))
        keys.append("month")
    aggregates = {"total": Count("pk"), **on_time_aggregates(now)}
    rows = list(qs.order_by().values(*keys).annotate(**aggregates).order_by("store__code", *keys[3:]))
    for row in rows:
        for step in ("accept", "reply", "close"):
            counted = row[f"{step}_counted"]
            row[f"{step}_rate"] = round(100 * row[f"{step}_on_time"] / counted, 1) if counted else None
    return rows
