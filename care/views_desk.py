"""Desk pages of member care: visit lists with overdue flags and the outcome form (SD-5); survey
list, CSI report with charts and export, distribution (SD-6); improvement actions.

Reads go through care.selectors (store scope), writes through care.services."""
from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import replica
from core.errors import MemberHubError
from core.errors import PermissionDenied as DomainPermissionDenied
from core.exports import csv_writer, safe_row
from core.panels import DESK_MEMBER, DESK_MEMBER_SERVICE, DESK_MEMBER_SUMMARY, panels_for
from core.web import action_refused, client_ip, need, staff_required
from members import scope
from members.services import member_reveal

from . import selectors
from .errors import CareError
from .forms import ActionForm, ActionUpdateForm, RemeasureForm, SurveySendForm, VisitOutcomeForm, add_domain_error
from .models import Dimension, Survey, Visit
from .services.actions import action_create, action_link_remeasure, action_update
from .services.surveys import survey_distribute
from .services.visits import visit_record_outcome

PAGE_SIZE = 25


# ---------------------------------------------------------------- visits (SD-5)


@require_GET
@staff_required
def visit_list(request):
    need(request.user, "care.view_visit")
    mine = request.GET.get("scope", "mine") != "store"
    overdue = True if request.GET.get("overdue") == "1" else None
    status = request.GET.get("status", "open")
    status = status if status in Visit.Status.values else None
    reason = request.GET.get("reason", "")
    reason = reason if reason in Visit.Reason.values else None
    qs = selectors.visit_list_for_staff(request.user, mine=mine, overdue=overdue, status=status)
    if reason:
        qs = qs.filter(reason=reason)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.visit_list_for_staff(request.user, mine=mine).aggregate(
        open=Count("id", filter=Q(status=Visit.Status.OPEN)),
        overdue=Count("id", filter=Q(status=Visit.Status.OPEN, due_on__lt=timezone.localdate())),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "care/desk/visits.html", {
        "page": page, "mine": mine, "overdue_only": overdue, "status": status or "", "counts": counts,
        "reason": reason or "", "reasons": Visit.Reason.choices,
        "query": f"{query.urlencode()}&" if query else "",
    })


@require_http_methods(["GET", "POST"])
@staff_required
def visit_detail(request, pk: int):
    need(request.user, "care.view_visit")
    visit = selectors.visit_get_for_staff(request.user, pk)
    form = VisitOutcomeForm(request.POST or None)
    if request.method == "POST":
        need(request.user, "care.record_visit")
        if form.is_valid():
            try:
                visit_record_outcome(visit_id=visit.pk, staff=request.user, **form.cleaned_data)
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Outcome of the visit to %(name)s (%(no)s) recorded.") % {
                    "name": visit.member.name, "no": visit.member.member_no})
                return redirect("care_desk:visits")
    return render(request, "care/desk/visit_detail.html", {
        "visit": visit, "form": form, "attempts": selectors.visit_attempts_for(visit), **_visit_member_context(visit)})


# The member context of a follow-up call, from the panels the apps register for the member 360 page (core.panels;
# care names no app beside it): the summary figures, the latest purchases and the service history (open
# complaints, consultations, visits, surveys, reservations), each an htmx slot loading from its own app.
VISIT_CONTEXT_PANELS = {DESK_MEMBER: ("purchases",)}


def _visit_member_context(visit: Visit) -> dict:
    member_panels = [p for p in panels_for(DESK_MEMBER) if p.key in VISIT_CONTEXT_PANELS[DESK_MEMBER]]
    return {"member": visit.member, "summary_panels": panels_for(DESK_MEMBER_SUMMARY),
            "member_panels": member_panels, "service_panels": panels_for(DESK_MEMBER_SERVICE)}


@require_POST
@staff_required
def visit_dial(request, pk: int):
    """htmx: the member's full mobile in place on the visit page, to dial (a tel: link) without leaving it;
    revealed through members.services.member_reveal, so the reveal is audit-logged with what it was for."""
    need(request.user, "care.record_visit")
    visit = selectors.visit_get_for_staff(request.user, pk)
    try:
        mobile = member_reveal(member=visit.member, field="mobile", staff=request.user, ip=client_ip(request),
                               purpose=_("follow-up visit #%(id)s") % {"id": visit.pk})
    except DomainPermissionDenied as exc:
        return render(request, "desk/_reveal_refused.html", {"message": exc.message}, status=403)
    return render(request, "care/desk/_dial.html", {"mobile": mobile, "visit": visit})


# ---------------------------------------------------------------- surveys (SD-6)


@require_GET
@staff_required
def survey_list(request):
    need(request.user, "care.view_survey")
    surveys = selectors.survey_list_for_staff(request.user).annotate(
        n_questions=Count("questions", distinct=True), n_responses=Count("responses", distinct=True)
    ).prefetch_related("samples")
    page = Paginator(surveys, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "care/desk/surveys.html", {"page": page, "now": timezone.now(),
                                                      "send_form": SurveySendForm()})


@require_POST
@staff_required
def survey_send(request, pk: int):
    need(request.user, "care.distribute_survey")
    form = SurveySendForm(request.POST)
    if not form.is_valid():
        return action_refused(request, CareError(_("The sample could not be drawn; check the fields."),
                                                 fields=form.errors), survey_list)
    data = form.cleaned_data
    try:
        result = survey_distribute(survey_id=pk, staff=request.user, sample_size=data["sample_size"],
                                   sample_percent=data["sample_percent"], seed=data["seed"],
                                   notify=not data["call_list_only"])
    except MemberHubError as exc:
        return action_refused(request, exc, survey_list)
    if result.get("sample"):
        messages.success(request, _("%(drawn)d of %(population)d members drawn (seed %(seed)s); invitations sent to "
                                    "%(sent)d.") % {"drawn": result["targeted"], **result})
        return redirect("care_desk:sample", pk=pk, sample_pk=result["sample"])
    messages.success(request, _("Survey sent to %(sent)d members (%(targeted)d not yet answered).") % result)
    return redirect("care_desk:surveys")


def _report(request, pk: int) -> dict:
    need(request.user, "care.view_survey_report")
    survey = selectors.survey_get(pk)
    return selectors.survey_report(survey, store_ids=scope.store_ids(request.user))


@require_GET
@staff_required
@replica.reads()  # CSI over every response: the read replica when configured
def survey_report(request, pk: int):
    report = _report(request, pk)
    chart = {
        "threshold": report["threshold"],
        "overall": report["overall"]["csi"],
        "dimensions": [[r["label"], r["csi"]] for r in report["by_dimension"]],
        "stores": [[r["store"], r["csi"]] for r in report["by_store"]],
        "periods": [[r["period"], r["csi"]] for r in report["by_period"]],
    }
    actions = selectors.action_list_for_staff(request.user).filter(source_survey=report["survey"])
    return render(request, "care/desk/survey_report.html", {
        "report": report, "chart": chart, "actions": actions,
        "can_act": request.user.has_perm("care.add_improvementaction"),
    })


EXPORT_HEADER = ["section", "key", "label", "answered", "satisfied", "csi_percent"]


@require_GET
@staff_required
@replica.reads()
def survey_export_csv(request, pk: int):
    report = _report(request, pk)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text correctly only with a BOM
    writer = csv_writer(buffer)  # no live formula or control character in a cell (SEC-5)
    writer.writerow(EXPORT_HEADER)
    writer.writerows(selectors.report_rows(report))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{pk}-csi.csv"'
    return response


@require_GET
@staff_required
@replica.reads()
def survey_export_xlsx(request, pk: int):
    from openpyxl import Workbook

    report = _report(request, pk)
    book = Workbook()
    sheet = book.active
    sheet.title = "CSI"
    sheet.append(EXPORT_HEADER)
    for row in selectors.report_rows(report):
        sheet.append(safe_row(row))
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="survey-{pk}-csi.xlsx"'
    return response


# ---------------------------------------------------------------- improvement actions


def _owners(user):
    User = get_user_model()
    qs = User.objects.filter(is_active=True, is_staff=True, staff_profile__isnull=False).select_related(
        "staff_profile")
    ids = scope.store_ids(user)
    if ids is not None:
        qs = qs.filter(staff_profile__store_id__in=ids)
    return qs.order_by("username")


@require_GET
@staff_required
def action_list(request):
    need(request.user, "care.view_improvementaction")
    page = Paginator(selectors.action_list_for_staff(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "care/desk/actions.html", {"page": page})


@require_http_methods(["GET", "POST"])
@staff_required
def action_new(request, survey_pk: int):
    need(request.user, "care.add_improvementaction")
    survey = selectors.survey_get(survey_pk)
    stores = scope.stores_for(request.user)
    initial = {"dimension": request.GET.get("dimension") or Dimension.SERVICE_MANNER}
    form = ActionForm(request.POST or None, initial=initial, stores=stores, owners=_owners(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            action = action_create(staff=request.user, survey_id=survey.pk, dimension=data["dimension"],
                                   store_id=data["store"], title=data["title"], plan=data["plan"],
                                   owner_id=data["owner"], due_on=data["due_on"])
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Improvement action created."))
            return redirect("care_desk:action", pk=action.pk)
    return render(request, "care/desk/action_new.html", {"survey": survey, "form": form})


@require_http_methods(["GET", "POST"])
@staff_required
def action_detail(request, pk: int):
    need(request.user, "care.view_improvementaction")
    action = selectors.action_get_for_staff(request.user, pk)
    later = Survey.objects.filter(opens_at__gt=action.source_survey.opens_at).order_by("opens_at")
    update_form = ActionUpdateForm(initial={"status": action.status, "evidence": action.evidence,
                                            "evidence_file_note": action.evidence_file_note})
    remeasure_form = RemeasureForm(surveys=later, initial={"survey": action.remeasure_survey_id})
    if request.method == "POST":
        need(request.user, "care.change_improvementaction")
        if "link" in request.POST:
            remeasure_form = RemeasureForm(request.POST, surveys=later)
            form, call = remeasure_form, lambda d: action_link_remeasure(staff=request.user, action_id=pk,
                                                                         survey_id=d["survey"])
        else:
            update_form = ActionUpdateForm(request.POST)
            form, call = update_form, lambda d: action_update(staff=request.user, action_id=pk, **d)
        if form.is_valid():
            try:
                call(form.cleaned_data)
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Improvement action saved."))
                return redirect("care_desk:action", pk=pk)
    return render(request, "care/desk/action_detail.html", {
        "action": action, "measure": selectors.action_before_after(action), "update_form": update_form,
        "remeasure_form": remeasure_form, "can_change": request.user.has_perm("care.change_improvementaction"),
    })
