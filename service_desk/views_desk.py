"""Desk pages of the service desk (SD-1..4): complaint queue with clocks and the manager's notices,
intake, the complaint page with its actions, consultations, FAQ search and the compliance report.

Reads go through service_desk.selectors (store scope); writes through service_desk.services. A
domain error re-renders the page with the message and its status (409 for an illegal step)."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core import replica
from core.errors import MemberHubError, NotFound
from core.exports import csv_writer
from core.web import action_refused, need, staff_required
from members.models import Member
from members.views_desk import member_for_desk

from . import after_sales, selectors, services
from .forms import (
    AfterSalesActionForm,
    AfterSalesFilterForm,
    AfterSalesIntakeForm,
    AfterSalesRatingForm,
    CompensationForm,
    ComplaintIntakeForm,
    ConsultationAnswerForm,
    ConsultationForm,
    FollowUpForm,
    QueueFilterForm,
    ReportForm,
    SuggestionDecisionForm,
    TransferForm,
    TransitionForm,
    add_domain_error,
)
from .models import ComplaintStatus, Consultation, StaffNotice

PAGE_SIZE = 50
S = ComplaintStatus

# Buttons the complaint page offers per status (the service enforces the same table).
ACTIONS_BY_STATUS = {
    S.RECEIVED: ["accept"],
    S.ACCEPTED: ["start", "transfer", "reply"],
    S.IN_PROGRESS: ["transfer", "reply"],
    S.REPLIED: ["close", "reopen"],
    S.CLOSED: ["reopen"],
}


def _member_by_no(member_no: str) -> Member | None:
    member_no = (member_no or "").strip()
    if not member_no:
        return None
    member = Member.objects.filter(member_no=member_no).select_related("tier").first()
    if member is None:
        raise MemberHubError(_("No such member."), fields={"member_no": [_("No such member.")]})
    return member


# ---------------------------------------------------------------- complaints


@staff_required
def complaint_queue(request):
    need(request.user, "service_desk.view_complaint")
    form = QueueFilterForm(request.GET or None, user=request.user)
    values = form.cleaned_data if form.is_valid() else {}
    store = values.get("store")
    qs = selectors.complaint_queue(request.user, status=values.get("status", ""),
                                   store_id=store.pk if store else None, category=values.get("category", ""),
                                   mine=bool(values.get("mine")))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(c, selectors.complaint_current_clock(c, now=now)) for c in page.object_list]
    return render(request, "service_desk/desk/queue.html", {
        "form": form, "page": page, "rows": rows,
        "notices": selectors.unread_notices(request.user)[:50],
        "can_add": request.user.has_perm("service_desk.add_complaint"),
    })


@staff_required
@require_POST
def notice_read(request):
    StaffNotice.objects.filter(user=request.user, pk=request.POST.get("id") or 0, read_at__isnull=True).update(
        read_at=timezone.now())
    return redirect("sd_desk:queue")


@staff_required
@require_http_methods(["GET", "POST"])
def complaint_new(request):
    need(request.user, "service_desk.add_complaint")
    form = ComplaintIntakeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_file(
                channel=data["channel"], category=data["category"], severity=data["severity"], store=data["store"],
                member=_member_by_no(data["member_no"]), contact_name=data["contact_name"],
                order_no=data["order_no"], description=data["description"], department=data["department"],
                assignee=data["assignee"], staff=request.user,
            )
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            # 003 3.5: the deadline to tell the customer, as the member's notice says it.
            messages.success(request, services.complaint_intake_notice(complaint))
            return redirect(f"{_url('complaint')}?id={complaint.pk}")
    return render(request, "service_desk/desk/complaint_new.html", {"form": form},
                  status=400 if form.errors else 200)


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(f"sd_desk:{name}")


def _detail_context(request, complaint, **extra) -> dict:
    user = request.user
    context = {
        "complaint": complaint,
        "clocks": selectors.complaint_clocks(complaint),
        "events": complaint.events.select_related("actor"),
        "compensations": complaint.compensations.select_related("coupon__type", "staff"),
        "follow_ups": complaint.follow_ups.select_related("staff"),
        "rating": getattr(complaint, "rating", None),
        "actions": ACTIONS_BY_STATUS.get(complaint.status, []) if user.has_perm("service_desk.handle_complaint")
        else [],
        "transition_form": TransitionForm(),
        "transfer_form": TransferForm(user=user),
        "can_compensate": user.has_perm("service_desk.compensate_complaint") and complaint.member_id
        and complaint.status != S.RECEIVED,
        "compensation_form": CompensationForm(),
        "can_follow_up": user.has_perm("service_desk.add_followupcall") and complaint.status == S.CLOSED
        and complaint.loop_closed_at is None,
        "follow_up_form": FollowUpForm(),
    }
    context.update(extra)
    return context


def _complaint(request, value):
    try:
        return selectors.complaint_get_for_staff(request.user, int(value))
    except (TypeError, ValueError):
        raise NotFound(_("No such complaint.")) from None


@staff_required
def complaint_detail(request):
    need(request.user, "service_desk.view_complaint")
    complaint = _complaint(request, request.GET.get("id"))
    return render(request, "service_desk/desk/complaint.html", _detail_context(request, complaint))


def _redisplay(request, complaint, exc: MemberHubError, **forms):
    complaint = selectors.complaint_get_for_staff(request.user, complaint.pk)
    return render(request, "service_desk/desk/complaint.html",
                  _detail_context(request, complaint, action_error=exc.message, **forms), status=exc.status)


@staff_required
@require_POST
def complaint_action(request):
    need(request.user, "service_desk.handle_complaint")
    complaint = _complaint(request, request.POST.get("id"))
    action = request.POST.get("action", "")
    transfer = TransferForm(request.POST, user=request.user) if action == "transfer" else None
    department = assignee = None
    if transfer is not None:
        if not transfer.is_valid():
            return _redisplay(request, complaint, MemberHubError(_("Choose a department or an assignee.")),
                              transfer_form=transfer)
        department, assignee = transfer.cleaned_data["department"], transfer.cleaned_data["assignee"]
    try:
        services.complaint_transition(complaint=complaint, action=action, staff=request.user,
                                      note=request.POST.get("note", ""), department=department, assignee=assignee)
    except MemberHubError as exc:
        return _redisplay(request, complaint, exc)
    messages.success(request, _("Done."))
    return redirect(f"{_url('complaint')}?id={complaint.pk}")


@staff_required
@require_POST
def complaint_compensate(request):
    need(request.user, "service_desk.compensate_complaint")
    complaint = _complaint(request, request.POST.get("id"))
    form = CompensationForm(request.POST)
    if not form.is_valid():
        return _redisplay(request, complaint, MemberHubError(_("Please correct the marked fields.")),
                          compensation_form=form)
    try:
        services.complaint_compensate(complaint=complaint, staff=request.user, reason=form.cleaned_data["reason"],
                                      points=form.cleaned_data["points"], coupon_type=form.cleaned_data["coupon_type"])
    except MemberHubError as exc:
        add_domain_error(form, exc)
        return _redisplay(request, complaint, exc, compensation_form=form)
    messages.success(request, _("Compensation granted."))
    return redirect(f"{_url('complaint')}?id={complaint.pk}")


@staff_required
@require_POST
def complaint_follow_up(request):
    need(request.user, "service_desk.add_followupcall")
    complaint = _complaint(request, request.POST.get("id"))
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return _redisplay(request, complaint, MemberHubError(_("Write the outcome of the call.")),
                          follow_up_form=form)
    try:
        services.complaint_follow_up(complaint=complaint, staff=request.user, reached=form.cleaned_data["reached"],
                                     outcome=form.cleaned_data["outcome"])
    except MemberHubError as exc:
        return _redisplay(request, complaint, exc, follow_up_form=form)
    messages.success(request, _("Follow-up call recorded."))
    return redirect(f"{_url('complaint')}?id={complaint.pk}")


# ---------------------------------------------------------------- consultations and FAQ


@staff_required
@require_http_methods(["GET", "POST"])
def consultations(request):
    need(request.user, "service_desk.view_consultation")
    form = ConsultationForm(request.POST or None, user=request.user)
    if request.method == "POST":
        need(request.user, "service_desk.add_consultation")
        if form.is_valid():
            data = form.cleaned_data
            try:
                item = services.consultation_log(
                    kind=data["kind"], category=data["category"], channel=data["channel"], store=data["store"],
                    member=_member_by_no(data["member_no"]), contact_name=data["contact_name"],
                    question=data["question"], staff=request.user)
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, services.consultation_intake_notice(item))
                return redirect("sd_desk:consultations")
    status = request.GET.get("status", "")
    if status not in Consultation.Status.values:
        status = ""
    qs = selectors.consultation_queue(request.user, status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(c, selectors.consultation_clock(c, now=now)) for c in page.object_list]
    return render(request, "service_desk/desk/consultations.html", {
        "form": form, "page": page, "rows": rows, "status": status, "statuses": Consultation.Status.choices,
        "answer_form": ConsultationAnswerForm(), "decision_form": SuggestionDecisionForm(),
    }, status=400 if form.errors else 200)


@staff_required
@require_POST
def consultation_action(request):
    need(request.user, "service_desk.change_consultation")
    item = selectors.consultation_list_for_staff(request.user).filter(pk=request.POST.get("id") or 0).first()
    if item is None:
        raise NotFound(_("No such consultation."))
    form = ConsultationAnswerForm(request.POST)
    if not form.is_valid():
        return action_refused(request, MemberHubError(_("Please correct the marked fields.")), consultations)
    try:
        services.consultation_transition(consultation=item, action=request.POST.get("action", ""), staff=request.user,
                                         answer=form.cleaned_data.get("answer", ""), faq=form.cleaned_data.get("faq"),
                                         department=form.cleaned_data.get("department"),
                                         note=form.cleaned_data.get("note", ""))
    except MemberHubError as exc:
        return action_refused(request, exc, consultations)
    messages.success(request, _("Done."))
    return redirect("sd_desk:consultations")


@staff_required
@require_POST
def suggestion_decide(request):
    """SD-8: a suggestion adopted or not, with the feedback the member is sent."""
    need(request.user, "service_desk.decide_suggestion")
    item = selectors.consultation_list_for_staff(request.user).filter(pk=request.POST.get("id") or 0).first()
    if item is None:
        raise NotFound(_("No such consultation."))
    form = SuggestionDecisionForm(request.POST)
    if not form.is_valid():
        return action_refused(request, MemberHubError(_("Write the feedback to the member.")), consultations)
    try:
        services.suggestion_decide(consultation=item, staff=request.user, adopted=form.cleaned_data["adopted"],
                                   feedback=form.cleaned_data["feedback"])
    except MemberHubError as exc:
        return action_refused(request, exc, consultations)
    messages.success(request, _("Decision recorded; the member has been told."))
    return redirect("sd_desk:consultations")


@staff_required
def faq(request):
    need(request.user, "service_desk.view_faqarticle")
    query = request.GET.get("q", "").strip()[:100]
    results = selectors.faq_search(query, published_only=False)[:30] if query else []
    return render(request, "service_desk/desk/faq.html", {"query": query, "results": results})


# ---------------------------------------------------------------- after-sales cases (SD-7)


@staff_required
def after_sales_queue(request):
    need(request.user, "service_desk.view_aftersalescase")
    form = AfterSalesFilterForm(request.GET or None, user=request.user)
    values = form.cleaned_data if form.is_valid() else {}
    store = values.get("store")
    qs = selectors.after_sales_queue(request.user, status=values.get("status", ""), kind=values.get("kind", ""),
                                     store_id=store.pk if store else None,
                                     satisfaction_due=bool(values.get("satisfaction")))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(c, selectors.after_sales_current_clock(c, now=now)) for c in page.object_list]
    return render(request, "service_desk/desk/after_sales_queue.html", {
        "form": form, "page": page, "rows": rows, "notices": selectors.unread_notices(request.user)
        .filter(after_sales__isnull=False)[:50],
    })


@staff_required
@require_http_methods(["GET", "POST"])
def after_sales_new(request):
    need(request.user, "service_desk.add_aftersalescase")
    form = AfterSalesIntakeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = after_sales.after_sales_open(
                kind=data["kind"], priority=data["priority"], channel=data["channel"], store=data["store"],
                member=_member_by_no(data["member_no"]), contact_name=data["contact_name"], order_no=data["order_no"],
                product=data["product"], description=data["description"], assignee=data["assignee"],
                staff=request.user)
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, after_sales.after_sales_intake_notice(case))  # 003 3.5
            return redirect(f"{_url('after_sales')}?id={case.pk}")
    return render(request, "service_desk/desk/after_sales_new.html", {"form": form},
                  status=400 if form.errors else 200)


def _after_sales_context(request, case, **extra) -> dict:
    user = request.user
    context = {
        "case": case, "clocks": selectors.after_sales_clocks(case),
        "events": case.events.select_related("actor"), "handoffs": case.handoffs.select_related("sent_by", "returned_by"),
        "actions": after_sales.ACTIONS_BY_STATUS.get(case.status, [])
        if user.has_perm("service_desk.handle_aftersalescase") else [],
        "action_form": AfterSalesActionForm(),
        "can_rate": user.has_perm("service_desk.handle_aftersalescase") and case.status == "closed"
        and case.satisfaction_at is None,
        "rating_form": AfterSalesRatingForm(),
    }
    context.update(extra)
    return context


@staff_required
def after_sales_detail(request):
    need(request.user, "service_desk.view_aftersalescase")
    case = selectors.after_sales_get_for_staff(request.user, request.GET.get("id"))
    return render(request, "service_desk/desk/after_sales.html", _after_sales_context(request, case))


def _after_sales_refused(request, case, exc: MemberHubError):
    case = selectors.after_sales_get_for_staff(request.user, case.pk)
    return render(request, "service_desk/desk/after_sales.html",
                  _after_sales_context(request, case, action_error=exc.message), status=exc.status)


@staff_required
@require_POST
def after_sales_action(request):
    need(request.user, "service_desk.handle_aftersalescase")
    case = selectors.after_sales_get_for_staff(request.user, request.POST.get("id"))
    form = AfterSalesActionForm(request.POST)
    if not form.is_valid():
        return _after_sales_refused(request, case, MemberHubError(_("Please correct the marked fields.")))
    data, action, staff = form.cleaned_data, request.POST.get("action", ""), request.user
    try:
        if action == "respond":
            after_sales.after_sales_respond(case=case, staff=staff, note=data["note"])
        elif action == "handoff":
            after_sales.after_sales_handoff(case=case, staff=staff, vendor=data["vendor"],
                                            reference=data["reference"], note=data["note"])
        elif action == "return":
            after_sales.after_sales_return(case=case, staff=staff, note=data["note"])
        elif action == "close":
            after_sales.after_sales_close(case=case, staff=staff, resolution=data["note"])
        else:
            raise MemberHubError(_("Unknown action."))
    except MemberHubError as exc:
        return _after_sales_refused(request, case, exc)
    messages.success(request, _("Done."))
    return redirect(f"{_url('after_sales')}?id={case.pk}")


@staff_required
@require_POST
def after_sales_rate(request):
    """The satisfaction check taken by phone or at the desk (001 3.4)."""
    need(request.user, "service_desk.handle_aftersalescase")
    case = selectors.after_sales_get_for_staff(request.user, request.POST.get("id"))
    form = AfterSalesRatingForm(request.POST)
    if not form.is_valid():
        return _after_sales_refused(request, case, MemberHubError(_("Choose a rating from 1 to 5.")))
    try:
        after_sales.after_sales_rate(case_id=case.pk, staff=request.user, score=form.cleaned_data["score"],
                                     comment=form.cleaned_data["comment"], channel=form.cleaned_data["channel"])
    except MemberHubError as exc:
        return _after_sales_refused(request, case, exc)
    messages.success(request, _("Satisfaction recorded."))
    return redirect(f"{_url('after_sales')}?id={case.pk}")


# ---------------------------------------------------------------- compliance report


@staff_required
@replica.reads()  # aggregates over every complaint, and its CSV: the read replica when configured
def compliance_report(request):
    need(request.user, "service_desk.view_compliance_report")
    form = ReportForm(request.GET or None)
    start, end = form.period()
    by_month = form.is_valid() and form.cleaned_data.get("by_month")
    rows = selectors.compliance_rates(request.user, start=start, end=end, by_month=by_month)
    if request.GET.get("format") == "csv":
        return _report_csv(rows, start, end, by_month)
    chart = {
        "labels": [r["store__code"] + (f" {r['month']:%Y-%m}" if by_month else "") for r in rows],
        "series": [
            {"name": _("Accepted on time"), "data": [r["accept_rate"] for r in rows]},
            {"name": _("Replied on time"), "data": [r["reply_rate"] for r in rows]},
            {"name": _("Closed on time"), "data": [r["close_rate"] for r in rows]},
        ],
    }
    return render(request, "service_desk/desk/report.html", {
        "form": form, "rows": rows, "start": start, "end": end, "by_month": by_month,
        "chart": chart,
        "csv_query": request.GET.urlencode(),
    })


def _report_csv(rows, start, end, by_month) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="complaint-compliance-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    response.write("\ufeff")
    writer = csv_writer(response)  # no live formula or control character in a cell (SEC-5)
    header = [_("Store"), _("Name")] + ([_("Month")] if by_month else []) + [
        _("Complaints"), _("Accepted on time"), _("Accept counted"), _("Accepted on time (%)"),
        _("Replied on time"), _("Reply counted"), _("Replied on time (%)"),
        _("Closed on time"), _("Close counted"), _("Closed on time (%)")]
    writer.writerow(header)
    for r in rows:
        writer.writerow([r["store__code"], r["store__name"]] + ([f"{r['month']:%Y-%m}"] if by_month else []) + [
            r["total"], r["accept_on_time"], r["accept_counted"], _pct(r["accept_rate"]),
            r["reply_on_time"], r["reply_counted"], _pct(r["reply_rate"]),
            r["close_on_time"], r["close_counted"], _pct(r["close_rate"])])
    return response


def _pct(value) -> str:
    return "" if value is None else f"{value:.1f}"


# ---------------------------------------------------------------- member 360 (issue 16 desk workspace)
# The member page (members) shows these through core.panels (service_desk.apps): the member's service history
# in the 客服 panel and the open complaints in the summary bar. Each list is the staff member's store scope
# of the queue it comes from (complaint_queue / consultation_queue / after_sales_queue), so a number here is
# the number the queue shows.

MEMBER_PANEL_ROWS = 10


@staff_required
def member_service_panel(request, member_no: str):
    """htmx fragment: the member's complaints, consultations and after-sales cases, newest first."""
    member = member_for_desk(request, member_no)
    user = request.user
    now = timezone.now()
    context = {"member": member}
    if user.has_perm("service_desk.view_complaint"):
        complaints = list(selectors.complaint_list_for_staff(user).filter(member=member)
                          .order_by("-received_at", "-pk")[:MEMBER_PANEL_ROWS])
        context["complaints"] = [(c, selectors.complaint_current_clock(c, now=now)) for c in complaints]
    if user.has_perm("service_desk.view_consultation"):
        context["consultations"] = list(selectors.consultation_list_for_staff(user).filter(member=member)
                                        .order_by("-received_at", "-pk")[:MEMBER_PANEL_ROWS])
    if user.has_perm("service_desk.view_aftersalescase"):
        cases = list(selectors.after_sales_list_for_staff(user).filter(member=member)
                     .order_by("-received_at", "-pk")[:MEMBER_PANEL_ROWS])
        context["after_sales"] = [(c, selectors.after_sales_current_clock(c, now=now)) for c in cases]
    return render(request, "service_desk/desk/_member_panel.html", context)


@staff_required
def member_summary(request, member_no: str):
    """htmx fragment of the member page's summary bar: the member's open complaints (the queue's rule)."""
    member = member_for_desk(request, member_no)
    need(request.user, "service_desk.view_complaint")
    open_complaints = selectors.complaint_queue(request.user).filter(member=member).count()
    return render(request, "service_desk/desk/_member_summary.html",
                  {"member": member, "open_complaints": open_complaints})
