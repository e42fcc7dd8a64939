"""Desk pages of the controls on points (PTS-11), namespace points_desk: desk postings waiting for a second
approver, points claims (entered for a member, and the review queue) and the abuse review queue.

The three queues have one shape, a `ReviewQueue`: rows in the staff member's store scope, shown with what is
decided on (lines and payments, amounts, the member and tier, who asked, the receipt and the till's record of
it), and a decision posted back that calls the service. `review_pages` makes each queue's page and decide
view; each declares its permission once (core.web.permission_required). An approve button is not shown on
one's own entry (`is_own`), and the services refuse it anyway (same_approver). Domain errors come back as a
message on the queue."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
from .forms_desk import TENDER_CHOICES
from .models import AbuseCase, DeskPosting, PointsClaim, Purchase
from .services import abuse, claims, desk_postings
from .views_desk import member_points_url

QUEUE_LIMIT = 200
TENDER_LABELS = dict(TENDER_CHOICES)


def posting_queue_for_staff(user):
    return scope.filter_by_store(
        user, DeskPosting.objects.filter(status=DeskPosting.Status.PENDING)
        .select_related("member__tier", "store", "requested_by"), field="store",
    ).order_by("requested_at", "id")


def claim_queue_for_staff(user):
    return scope.filter_by_store(
        user, PointsClaim.objects.filter(status=PointsClaim.Status.PENDING)
        .select_related("member__tier", "store", "created_by"), field="store",
    ).order_by("created_at", "id")


def abuse_queue_for_staff(user):
    return scope.filter_by_store(
        user, AbuseCase.objects.filter(status=AbuseCase.Status.OPEN).select_related("member__tier", "clerk", "store"),
        field="store",
    ).order_by("created_at", "id")


def _till_records(rows) -> dict[tuple[int, str], Purchase]:
    """The till's purchase of each row's receipt (store, receipt number), in one query."""
    keys = {(row.store_id, row.receipt_no) for row in rows}
    if not keys:
        return {}
    stores = {k[0] for k in keys}
    numbers = {k[1] for k in keys}
    found = Purchase.objects.filter(store_id__in=stores, order_no__in=numbers).select_related("member")
    return {(p.store_id, p.order_no): p for p in found if (p.store_id, p.order_no) in keys}


def _with_receipts(rows: list) -> list:
    till = _till_records(rows)
    for row in rows:
        row.till_record = till.get((row.store_id, row.receipt_no))
    return rows


def _with_tender_labels(rows: list) -> list:
    for row in rows:
        row.tender_rows = [{"label": TENDER_LABELS.get(t.get("type"), t.get("type")), "amount": t.get("amount")}
                           for t in row.tenders]
    return _with_receipts(rows)


@dataclass(frozen=True)
class ReviewQueue:
    """One queue of entries a second person decides on."""

    url_name: str                                    # the page, points_desk:<url_name>
    template: str
    view_perm: str
    decide_perm: str
    rows: Callable                                   # user -> queryset in the user's scope
    decisions: dict[str, Callable]                   # decision -> (row, user, reason) -> success message
    choose_message: Callable[[], str]                # when the posted decision is none of them
    label: Callable                                  # row -> what an error message is prefixed with
    annotate: Callable = lambda rows: rows           # adds what the page shows, set-wise
    is_own: Callable = lambda row, user: False       # the user asked for this entry: no approve button

    def page(self, request):
        rows = self.annotate(list(self.rows(request.user)[:QUEUE_LIMIT]))
        for row in rows:
            row.is_own = self.is_own(row, request.user)
        return render(request, self.template, {"rows": rows, "can_decide": request.user.has_perm(self.decide_perm)})

    def decide(self, request, pk: int):
        row = self.rows(request.user).filter(pk=pk).first()
        if row is None:
            raise Http404
        form = DecisionForm(request.POST)
        action = self.decisions.get(form.cleaned_data["decision"]) if form.is_valid() else None
        if action is None:
            messages.error(request, self.choose_message())
        else:
            try:
                messages.success(request, action(row, request.user, form.cleaned_data["reason"]))
            except MemberHubError as exc:
                messages.error(request, f"{self.label(row)}: {exc.message}")
        return redirect(f"points_desk:{self.url_name}")


def review_pages(queue: ReviewQueue):
    """The queue's page and its decide view, each with its permission declared once."""

    @staff_required
    @permission_required(queue.view_perm)
    def page(request):
        return queue.page(request)

    @staff_required
    @permission_required(queue.decide_perm)
    @require_POST
    def decide(request, pk: int):
        return queue.decide(request, pk)

    return page, decide


def _choose_approve_or_reject() -> str:
    return _("Choose approve or reject.")


# ---------------------------------------------------------------- desk postings above the caps


def _posting_approve(posting, user, reason) -> str:
    desk_postings.desk_posting_approve(posting=posting, approver=user)
    return _("Receipt %(no)s approved and posted.") % {"no": posting.receipt_no}


def _posting_reject(posting, user, reason) -> str:
    desk_postings.desk_posting_reject(posting=posting, approver=user, reason=reason)
    return _("Receipt %(no)s rejected.") % {"no": posting.receipt_no}


POSTINGS = ReviewQueue(
    url_name="postings", template="points/desk/postings.html", view_perm="points.view_deskposting",
    decide_perm=desk_postings.APPROVE_PERM, rows=posting_queue_for_staff,
    decisions={"approve": _posting_approve, "reject": _posting_reject}, choose_message=_choose_approve_or_reject,
    label=lambda posting: posting.receipt_no, annotate=_with_tender_labels,
    is_own=lambda posting, user: posting.requested_by_id == user.pk,
)
posting_queue, posting_decide = review_pages(POSTINGS)


# ---------------------------------------------------------------- points claims


def _claim_approve(claim, user, reason) -> str:
    claim = claims.claim_approve(claim=claim, staff=user)
    return _("Claim of receipt %(no)s approved: %(points)s points credited.") % {"no": claim.receipt_no,
                                                                                "points": claim.points}


def _claim_reject(claim, user, reason) -> str:
    claims.claim_reject(claim=claim, staff=user, reason=reason)
    return _("Claim of receipt %(no)s rejected.") % {"no": claim.receipt_no}


CLAIMS = ReviewQueue(
    url_name="claims", template="points/desk/claims.html", view_perm="points.view_pointsclaim",
    decide_perm=claims.REVIEW_PERM, rows=claim_queue_for_staff,
    decisions={"approve": _claim_approve, "reject": _claim_reject}, choose_message=_choose_approve_or_reject,
    label=lambda claim: claim.receipt_no, annotate=_with_receipts,
    is_own=lambda claim, user: claim.created_by_id == user.pk,
)
claim_queue, claim_decide = review_pages(CLAIMS)


# ---------------------------------------------------------------- abuse review (operations)


def _abuse_decision(decision: str):
    def decide(case, user, reason) -> str:
        abuse.abuse_case_decide(case=case, staff=user, decision=decision, note=reason)
        return _("Case decided.")
    return decide


ABUSE = ReviewQueue(
    url_name="abuse", template="points/desk/abuse.html", view_perm="points.view_abusecase",
    decide_perm=abuse.REVIEW_PERM, rows=abuse_queue_for_staff,
    decisions={decision: _abuse_decision(decision) for decision in abuse.DECISIONS},
    choose_message=lambda: _("Choose suspend or dismiss."), label=lambda case: f"#{case.pk}",
    is_own=lambda case, user: case.clerk_id == user.pk,
)
abuse_queue, abuse_decide = review_pages(ABUSE)


# ---------------------------------------------------------------- points claims entered at the desk


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
