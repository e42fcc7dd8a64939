"""Portal pages of member care: the surveys open for the member and the survey page (SD-6).

No URL carries a member id; the survey id travels in the query string or POST body and the
survey is looked up only among those open for request.member (SEC-3)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import MemberHubError, NotFound
from core.web import current_member, id_param, member_required, portal_render

from .errors import AlreadyAnswered
from .forms import answers_from_post
from .models import ResponseReceipt, Survey
from .services.surveys import survey_check_ready, survey_for_member, survey_submit, survey_targets


@require_GET
@member_required
def survey_list(request):
    member = current_member(request)
    now = timezone.now()
    answered = set(ResponseReceipt.objects.filter(member=member).values_list("survey_id", flat=True))
    surveys = [s for s in Survey.objects.filter(opens_at__lte=now, closes_at__gt=now).order_by("closes_at")
               if survey_targets(s).filter(pk=member.pk).exists()]
    return portal_render(request, "care/portal/surveys.html", "surveys",
                   {"surveys": surveys, "answered": answered})


@require_http_methods(["GET", "POST"])
@member_required
def survey_page(request):
    member = current_member(request)
    survey_id = id_param(request.POST.get("id") if request.method == "POST" else request.GET.get("id"))
    try:
        survey = survey_for_member(survey_id=survey_id, member=member)
        questions = survey_check_ready(survey)
    except (NotFound, MemberHubError):
        raise Http404 from None
    if ResponseReceipt.objects.filter(survey=survey, member=member).exists():
        messages.info(request, _("You have already answered this survey. Thank you!"))
        return redirect(reverse("care_portal:surveys"))
    errors, status = {}, None
    if request.method == "POST":
        given = answers_from_post(request.POST, questions)
        try:
            survey_submit(survey_id=survey.pk, member=member, answers=given)
        except AlreadyAnswered as exc:
            messages.info(request, exc.message)
            return redirect(reverse("care_portal:surveys"))
        except MemberHubError as exc:
            errors, status = exc.fields, exc.status
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thank you! Your answers have been received."))
            return redirect(reverse("care_portal:surveys"))
    rows = [{"q": q, "errors": errors.get(str(q.pk), []), "given": request.POST.getlist(f"q{q.pk}")}
            for q in questions]
    return portal_render(request, "care/portal/survey.html", "surveys",
                         {"survey": survey, "rows": rows, "ratings": range(1, 6)}, status=status)
