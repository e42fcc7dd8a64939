"""Service desk's sections of the member's data download (SEC-4; PIPL art. 45), registered in
core.member_data by ServiceDeskConfig.ready(): complaints, consultations (with the decision on a
suggestion) and after-sales cases (with the satisfaction given)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.member_data import MemberDataSection, member_data_register

from .models import AfterSalesCase, Complaint, Consultation


def _complaints(member) -> list[dict]:
    return [
        {"received_at": c.received_at, "category": c.get_category_display(), "status": c.get_status_display(),
         "description": c.description, "reply": c.reply, "closed_at": c.closed_at}
        for c in Complaint.objects.filter(member=member).order_by("received_at", "id")
    ]


def _consultations(member) -> list[dict]:
    return [
        {"received_at": c.received_at, "kind": c.get_kind_display(), "question": c.question, "answer": c.answer,
         "status": c.get_status_display()}
        for c in Consultation.objects.filter(member=member).order_by("received_at", "id")
    ]


def _after_sales(member) -> list[dict]:
    return [
        {"received_at": c.received_at, "kind": c.get_kind_display(), "product": c.product,
         "description": c.description, "status": c.get_status_display(), "resolution": c.resolution,
         "closed_at": c.closed_at, "satisfaction": c.satisfaction_score}
        for c in AfterSalesCase.objects.filter(member=member).order_by("received_at", "id")
    ]


def register() -> None:
    member_data_register(MemberDataSection(
        key="complaints", title=_("Complaints"), order=40, rows=_complaints,
        columns=(("received_at", _("Received at")), ("category", _("Category")), ("status", _("Status")),
                 ("description", _("Description")), ("reply", _("Reply")), ("closed_at", _("Closed at")))))
    member_data_register(MemberDataSection(
        key="consultations", title=_("Consultations and suggestions"), order=41, rows=_consultations,
        columns=(("received_at", _("Received at")), ("kind", _("Kind")), ("question", _("Question")),
                 ("answer", _("Answer")), ("status", _("Status")))))
    member_data_register(MemberDataSection(
        key="after_sales", title=_("After-sales cases"), order=42, rows=_after_sales,
        columns=(("received_at", _("Received at")), ("kind", _("Kind")), ("product", _("Product")),
                 ("description", _("Problem")), ("status", _("Status")), ("resolution", _("Resolution")),
                 ("closed_at", _("Closed at")), ("satisfaction", _("Satisfaction")))))
