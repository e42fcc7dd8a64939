"""Desk pages of member care about one member or one staff member's members:

- the care panel of the member 360 page (core.panels): account manager, open visits, links below;
- survey answers given in a phone interview or an in-store intercept, entered on the member's behalf
  (seed 000 测评方式), and the call list of a random sample;
- the dedicated account manager's assignment (seed 000 客服服务 / 高端专享服务, SD-11) and "my members".

Members are reached through members.views_desk.member_for_desk (store scope, SEC-3); writes go through
care.services and a domain error comes back on the page it was posted from."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import MemberHubError
from core.web import action_refused, need, staff_required
from members import scope
from members.views_desk import member_for_desk

from . import selectors
from .errors import AlreadyAnswered
from .forms import answers_from_post
from .models import Response, Visit
from .services.account_managers import (
    PERM_ASSIGN,
    account_manager_assign,
    account_manager_candidates,
    account_manager_current,
    account_manager_end,
    account_manager_tier_ids,
)
from .services.surveys import STAFF_CHANNELS, survey_check_ready, survey_enter_for_member

PERM_ENTER = "care.enter_survey_response"
PAGE_SIZE = 50


@require_GET
@staff_required
def member_panel(request, member_no: str):
    """htmx fragment of the member 360 page: account manager, open visits and what staff can do here."""
    member = member_for_desk(request, member_no)
    need(request.user, "care.view_visit")
    visits = list(Visit.objects.filter(member=member, status=Visit.Status.OPEN).select_related("assignee")
                  .order_by("due_on", "id")[:10])
    return render(request, "care/desk/_member_panel.html", {
        "member": member, "manager": account_manager_current(member), "visits": visits,
        "qualifies": member.tier_id in account_manager_tier_ids(),
    })


# ---------------------------------------------------------------- answers from interviews


@require_GET
@staff_required
def member_surveys(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, PERM_ENTER)
    return render(request, "care/desk/member_surveys.html", {
        "member": member, "surveys": selectors.surveys_open_for_member(member, store_ids=scope.store_ids(request.user)),
    })


def _channel_choices():
    return [(c, label) for c, label in Response.Channel.choices if c in STAFF_CHANNELS]


@require_http_methods(["GET", "POST"])
@staff_required
def member_survey_enter(request, member_no: str, pk: int):
    """The survey's questions, answered on the member's behalf from an interview; the channel is required."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_ENTER)
    survey = selectors.survey_get(pk)
    questions = survey_check_ready(survey)  # a survey not ready is the error page
    errors, status = {}, None
    channel = request.POST.get("channel", "")
    if request.method == "POST":
        try:
            survey_enter_for_member(survey_id=survey.pk, member=member, staff=request.user, channel=channel,
                                    answers=answers_from_post(request.POST, questions))
        except AlreadyAnswered as exc:
            return action_refused(request, exc, member_surveys, member_no=member_no)
        except MemberHubError as exc:
            errors, status = exc.fields or {}, exc.status
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The member's answers are recorded."))
            return redirect("care_desk:member_surveys", member_no=member.member_no)
    rows = [{"q": q, "errors": errors.get(str(q.pk), []), "given": request.POST.getlist(f"q{q.pk}")}
            for q in questions]
    response = render(request, "care/desk/member_survey_enter.html", {
        "member": member, "survey": survey, "rows": rows, "ratings": range(1, 6), "channels": _channel_choices(),
        "channel": channel, "channel_errors": errors.get("channel", []),
    })
    if status:
        response.status_code = status
    return response


@require_GET
@staff_required
def sample_detail(request, pk: int, sample_pk: int):
    """The call list of a random sample (随机电话访谈): drawn members of my store scope, answered or not."""
    need(request.user, PERM_ENTER)
    survey = selectors.survey_get(pk)
    sample = selectors.sample_get(survey, sample_pk)
    page = Paginator(selectors.sample_call_list(sample, request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "care/desk/sample.html", {"survey": survey, "sample": sample, "page": page,
                                                     "query": ""})


# ---------------------------------------------------------------- account managers (SD-11)


@require_http_methods(["GET", "POST"])
@staff_required
def member_account_manager(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "care.view_accountmanagerassignment")
    if request.method == "POST":
        need(request.user, PERM_ASSIGN)
        try:
            if request.POST.get("action") == "end":
                account_manager_end(member=member, staff=request.user)
                messages.success(request, _("The account manager is withdrawn."))
            else:
                try:
                    manager_id = int(request.POST.get("manager", ""))
                except ValueError:
                    manager_id = 0
                assignment = account_manager_assign(member=member, manager_id=manager_id, staff=request.user,
                                                    note=request.POST.get("note", ""))
                messages.success(request, _("%(name)s now looks after this member.")
                                 % {"name": assignment.manager.get_username()})
        except MemberHubError as exc:
            return action_refused(request, exc, member_account_manager, member_no=member_no)
        return redirect("care_desk:member_account_manager", member_no=member.member_no)
    return render(request, "care/desk/account_manager.html", {
        "member": member, "current": account_manager_current(member),
        "history": selectors.account_manager_history(member),
        "candidates": account_manager_candidates(member) if request.user.has_perm(PERM_ASSIGN) else [],
        "qualifies": member.tier_id in account_manager_tier_ids(), "can_assign": request.user.has_perm(PERM_ASSIGN),
    })


@require_GET
@staff_required
def my_members(request):
    """"My members" of a dedicated account manager: upcoming birthdays, expiring points, open cases and
    open visits of each member they look after (seed 000 专属客户经理)."""
    need(request.user, "care.view_visit")
    rows, windows = selectors.managed_members(request.user, today=timezone.localdate())
    return render(request, "care/desk/my_members.html", {
        "rows": rows, "windows": windows, "visits_url": reverse("care_desk:visits"),
    })
