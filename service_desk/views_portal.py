"""Portal pages of the service desk: file a complaint, follow my complaints with their clocks, rate
the handling, search the FAQ. Every complaint is read through request.member (SEC-3): another
member's complaint id answers 404 like a missing one."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import MemberHubError, NotFound
from core.web import current_member, member_required

from . import after_sales, selectors, services
from .forms import PortalAfterSalesForm, PortalComplaintForm, PortalConsultationForm, RatingForm, add_domain_error
from .models import AfterSalesStatus, Channel, Severity

SECTION = {"portal_section": "service"}


def _get(member, value):
    try:
        return selectors.complaint_get_for_member(member, value)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@member_required
def my_complaints(request):
    member = current_member(request)
    now = timezone.now()
    rows = [(c, selectors.complaint_current_clock(c, now=now)) for c in selectors.complaints_for_member(member)[:100]]
    return render(request, "service_desk/portal/complaints.html", {"rows": rows, **SECTION})


@member_required
@require_http_methods(["GET", "POST"])
def complaint_new(request):
    member = current_member(request)
    form = PortalComplaintForm(request.POST or None, initial={"store": member.home_store_id})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = services.complaint_file(
                channel=Channel.PORTAL, category=data["category"], severity=Severity.NORMAL, store=data["store"],
                member=member, order_no=data["order_no"], description=data["description"], staff=None,
            )
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, services.complaint_intake_notice(complaint))  # 003 3.5: the deadline
            return redirect(f"{reverse('sd_portal:complaint')}?id={complaint.pk}")
    return render(request, "service_desk/portal/complaint_new.html", {"form": form, **SECTION},
                  status=400 if form.errors else 200)


def _detail(request, complaint, form=None, status=200):
    rating = getattr(complaint, "rating", None)
    can_rate = rating is None and complaint.status in services.RATABLE
    return render(request, "service_desk/portal/complaint.html", {
        "complaint": complaint, "clocks": selectors.complaint_clocks(complaint), "rating": rating,
        "can_rate": can_rate, "form": form or RatingForm(),
        "events": complaint.events.exclude(action="breach").only("at", "action", "to_status"), **SECTION,
    }, status=status)


@member_required
def complaint_detail(request):
    return _detail(request, _get(current_member(request), request.GET.get("id")))


@member_required
@require_POST
def complaint_rate(request):
    member = current_member(request)
    complaint = _get(member, request.POST.get("id"))
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _detail(request, complaint, form, status=400)
    try:
        services.complaint_rate(complaint_id=complaint.pk, member=member, score=form.cleaned_data["score"],
                                comment=form.cleaned_data["comment"])
    except MemberHubError as exc:
        add_domain_error(form, exc)
        return _detail(request, _get(member, complaint.pk), form, status=exc.status)
    messages.success(request, _("Thank you for your rating."))
    return redirect(f"{reverse('sd_portal:complaint')}?id={complaint.pk}")


@member_required
def faq(request):
    query = request.GET.get("q", "").strip()[:100]
    results = selectors.faq_search(query)[:20] if query else []
    return render(request, "service_desk/portal/faq.html", {"query": query, "results": results, **SECTION})


@member_required
@require_http_methods(["GET", "POST"])
def consultations(request):
    """SD-4 on the portal: ask a question or make a suggestion; see the answers to my earlier ones."""
    member = current_member(request)
    form = PortalConsultationForm(request.POST or None, initial={"store": member.home_store_id})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = services.consultation_log(kind=data["kind"], category=data["category"], channel=Channel.PORTAL,
                                             store=data["store"], question=data["question"], member=member)
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, services.consultation_intake_notice(item))  # SD-8, 003 3.5
            return redirect("sd_portal:consultations")
    mine = selectors.consultations_for_member(member)[:50]
    return render(request, "service_desk/portal/consultations.html", {"form": form, "mine": mine, **SECTION},
                  status=400 if form.errors else 200)


# ---------------------------------------------------------------- after-sales (SD-7)


def _after_sales_page(request, member, form=None, rating_form=None, status=200):
    cases = list(selectors.after_sales_for_member(member)[:50])
    return render(request, "service_desk/portal/after_sales.html", {
        "form": form or PortalAfterSalesForm(initial={"store": member.home_store_id}),
        "cases": [(c, selectors.after_sales_current_clock(c)) for c in cases],
        "rating_form": rating_form or RatingForm(), "closed": AfterSalesStatus.CLOSED, **SECTION,
    }, status=status)


@member_required
@require_http_methods(["GET", "POST"])
def after_sales_cases(request):
    """My after-sales requests: register one (repair, exchange, inspection) and follow its deadlines."""
    member = current_member(request)
    if request.method == "GET":
        return _after_sales_page(request, member)
    form = PortalAfterSalesForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            case = after_sales.after_sales_open(kind=data["kind"], channel=Channel.PORTAL, store=data["store"],
                                                product=data["product"], description=data["description"],
                                                order_no=data["order_no"], member=member)
        except MemberHubError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, after_sales.after_sales_intake_notice(case))
            return redirect("sd_portal:after_sales")
    return _after_sales_page(request, member, form=form, status=400)


@member_required
@require_POST
def after_sales_rate(request):
    """The satisfaction check after closing (001 3.4), once per case, the member's own cases only."""
    member = current_member(request)
    try:
        case = selectors.after_sales_get_for_member(member, request.POST.get("id"))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _after_sales_page(request, member, rating_form=form, status=400)
    try:
        after_sales.after_sales_rate(case_id=case.pk, member=member, score=form.cleaned_data["score"],
                                     comment=form.cleaned_data["comment"])
    except MemberHubError as exc:
        add_domain_error(form, exc)
        return _after_sales_page(request, member, rating_form=form, status=exc.status)
    messages.success(request, _("Thank you for your rating."))
    return redirect("sd_portal:after_sales")
