"""Desk pages of the controls on points (PTS-11), namespace points_desk: desk postings waiting for a second
approver, points claims (entered for a member, and the review queue) and the abuse review queue.

Each page declares its permission once (core.web.permission_required); rows are limited to the staff
member's store scope; every write goes through points.services (desk_postings, claims, abuse), whose domain
errors come back as a message on the queue."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import MemberHubError
from core.web import permission_required, staff_required
from members import scope
from members.forms_desk import add_domain_error
from members.views_desk import member_for_desk

from .forms_claims import ClaimForm, DecisionForm
from .models import AbuseCase, DeskPosting, PointsClaim
from .services import abuse, claims, desk_postings
from .views_desk import member_points_url

QUEUE_LIMIT = 200


def posting_queue_for_staff(user):
    return scope.filter_by_store(
        user, DeskPosting.objects.filter(status=DeskPosting.Status.PENDING)
        .select_related("member", "store", "requested_by"), field="store",
    ).order_by("requested_at", "id")


def claim_queue_for_staff(user):
    return scope.filter_by_store(
        user, PointsClaim.objects.filter(status=PointsClaim.Status.PENDING).select_related("member", "store"),
        field="store",
    ).order_by("created_at", "id")


def abuse_queue_for_staff(user):
    return scope.filter_by_store(
        user, AbuseCase.objects.filter(status=AbuseCase.Status.OPEN).select_related("member", "clerk", "store"),
        field="store",
    ).order_by("created_at", "id")


# ---------------------------------------------------------------- desk postings above the caps


@staff_required
@permission_required("points.view_deskposting")
def posting_queue(request):
    return render(request, "points/desk/postings.html", {
        "postings": posting_queue_for_staff(request.user)[:QUEUE_LIMIT],
        "can_approve": request.user.has_perm(desk_postings.APPROVE_PERM),
    })


@staff_required
@permission_required(desk_postings.APPROVE_PERM)
@require_POST
def posting_decide(request, pk: int):
    posting = posting_queue_for_staff(request.user).filter(pk=pk).first()
    if posting is None:
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid() or form.cleaned_data["decision"] not in ("approve", "reject"):
        messages.error(request, _("Choose approve or reject."))
        return redirect("points_desk:postings")
    try:
        if form.cleaned_data["decision"] == "approve":
            desk_postings.desk_posting_approve(posting=posting, approver=request.user)
            messages.success(request, _("Receipt %(no)s approved and posted.") % {"no": posting.receipt_no})
        else:
            desk_postings.desk_posting_reject(posting=posting, approver=request.user,
                                              reason=form.cleaned_data["reason"])
            messages.success(request, _("Receipt %(no)s rejected.") % {"no": posting.receipt_no})
    except MemberHubError as exc:
        messages.error(request, f"{posting.receipt_no}: {exc.message}")
    return redirect("points_desk:postings")


# ---------------------------------------------------------------- points claims


@staff_required
@permission_required("points.add_pointsclaim")
def claim_new(request, member_no: str):
    member = member_for_desk(request, member_no)
    form = ClaimForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                result = claims.claim_submit(member=member, channel=PointsClaim.Channel.DESK, staff=request.user,
                                             **form.cleaned_data)
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                claim = result.claim
                if claim.status == PointsClaim.Status.CREDITED:
                    messages.success(request, _("Receipt %(no)s matched the till's record: %(points)s points credited.")
                                     % {"no": claim.receipt_no, "points": claim.points})
                else:
                    messages.warning(request, _("Receipt %(no)s is queued for review: %(why)s.")
                                     % {"no": claim.receipt_no, "why": claim.review_note})
                return redirect(member_points_url(member))
        return render(request, "points/desk/claim.html", {"member": member, "form": form}, status=400)
    return render(request, "points/desk/claim.html", {"member": member, "form": form})


@staff_required
@permission_required("points.view_pointsclaim")
def claim_queue(request):
    return render(request, "points/desk/claims.html", {
        "claims": claim_queue_for_staff(request.user)[:QUEUE_LIMIT],
        "can_review": request.user.has_perm(claims.REVIEW_PERM),
    })


@staff_required
@permission_required(claims.REVIEW_PERM)
@require_POST
def claim_decide(request, pk: int):
    claim = claim_queue_for_staff(request.user).filter(pk=pk).first()
    if claim is None:
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid() or form.cleaned_data["decision"] not in ("approve", "reject"):
        messages.error(request, _("Choose approve or reject."))
        return redirect("points_desk:claims")
    try:
        if form.cleaned_data["decision"] == "approve":
            claim = claims.claim_approve(claim=claim, staff=request.user)
            messages.success(request, _("Claim of receipt %(no)s approved: %(points)s points credited.")
                             % {"no": claim.receipt_no, "points": claim.points})
        else:
            claims.claim_reject(claim=claim, staff=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("Claim of receipt %(no)s rejected.") % {"no": claim.receipt_no})
    except MemberHubError as exc:
        messages.error(request, f"{claim.receipt_no}: {exc.message}")
    return redirect("points_desk:claims")


# ---------------------------------------------------------------- abuse review (operations)


@staff_required
@permission_required("points.view_abusecase")
def abuse_queue(request):
    return render(request, "points/desk/abuse.html", {
        "cases": abuse_queue_for_staff(request.user)[:QUEUE_LIMIT],
        "can_review": request.user.has_perm(abuse.REVIEW_PERM),
    })


@staff_required
@permission_required(abuse.REVIEW_PERM)
@require_POST
def abuse_decide(request, pk: int):
    case = abuse_queue_for_staff(request.user).filter(pk=pk).first()
    if case is None:
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid() or form.cleaned_data["decision"] not in abuse.DECISIONS:
        messages.error(request, _("Choose suspend or dismiss."))
        return redirect("points_desk:abuse")
    try:
        abuse.abuse_case_decide(case=case, staff=request.user, decision=form.cleaned_data["decision"],
                                note=form.cleaned_data["reason"])
    except MemberHubError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Case decided."))
    return redirect("points_desk:abuse")
