"""What service_desk tells member care about its cases, through core.service_cases (care sits at this
app's layer and may not import it): complaints with a member closed in a window (care's nightly job
schedules a follow-up visit, seed 003 3.5 回访跟进) and the open complaints per member (the account
manager's list, seed 000 客服服务 专属客户经理). Registered in ServiceDeskConfig.ready(); one query each.

A new kind of case (after-sales, 售后) registers its own CaseSource the same way."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from core.service_cases import CaseSource, ClosedCase

from .models import AfterSalesCase, AfterSalesStatus, Complaint, ComplaintStatus


def complaints_closed_between(start: dt.datetime, end: dt.datetime) -> list[ClosedCase]:
    rows = (Complaint.objects.filter(status=ComplaintStatus.CLOSED, member__isnull=False,
                                     closed_at__gte=start, closed_at__lt=end)
            .values_list("pk", "member_id", "store_id", "closed_at").order_by("pk"))
    return [ClosedCase(member_id=m, store_id=s, ref=f"complaint:{pk}", closed_at=at) for pk, m, s, at in rows]


def complaint_open_counts(member_ids: list[int]) -> dict[int, int]:
    rows = (Complaint.objects.filter(member_id__in=member_ids).exclude(status=ComplaintStatus.CLOSED)
            .values("member_id").annotate(n=Count("pk")).values_list("member_id", "n"))
    return dict(rows)


COMPLAINTS = CaseSource(kind="complaint", label=_("Complaint"), closed_between=complaints_closed_between,
                        open_counts=complaint_open_counts)


# After-sales cases (售后, SD-7): a closed case with a member is followed up like a closed complaint (SD-10).
def after_sales_closed_between(start: dt.datetime, end: dt.datetime) -> list[ClosedCase]:
    rows = (AfterSalesCase.objects.filter(status=AfterSalesStatus.CLOSED, member__isnull=False,
                                          closed_at__gte=start, closed_at__lt=end)
            .values_list("pk", "member_id", "store_id", "closed_at").order_by("pk"))
    return [ClosedCase(member_id=m, store_id=s, ref=f"after_sales:{pk}", closed_at=at) for pk, m, s, at in rows]


def after_sales_open_counts(member_ids: list[int]) -> dict[int, int]:
    rows = (AfterSalesCase.objects.filter(member_id__in=member_ids).exclude(status=AfterSalesStatus.CLOSED)
            .values("member_id").annotate(n=Count("pk")).values_list("member_id", "n"))
    return dict(rows)


AFTER_SALES = CaseSource(kind="after_sales", label=_("After-sales case"), closed_between=after_sales_closed_between,
                         open_counts=after_sales_open_counts)
