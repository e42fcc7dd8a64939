"""Row locks of the service desk, on core.locks (FOR UPDATE OF self)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import NotFound
from core.locks import lock_one, lock_one_or_none

from .models import AfterSalesCase, Complaint, Consultation


def complaint_lock(complaint_id: int, *, member_id: int | None = None) -> Complaint:
    """The complaint locked; NotFound if there is none (of member_id, when given: the portal)."""
    lookups = {"member_id": member_id} if member_id is not None else {}
    complaint = lock_one_or_none(Complaint, complaint_id, **lookups)
    if complaint is None:
        raise NotFound(_("No such complaint."))
    return complaint


def consultation_lock(consultation_id: int) -> Consultation:
    return lock_one(Consultation, consultation_id)


def after_sales_lock(case_id: int, *, member_id: int | None = None) -> AfterSalesCase:
    """The after-sales case locked; NotFound if there is none (of member_id, when given: the portal)."""
    lookups = {"member_id": member_id} if member_id is not None else {}
    case = lock_one_or_none(AfterSalesCase, case_id, **lookups)
    if case is None:
        raise NotFound(_("No such after-sales case."))
    return case
