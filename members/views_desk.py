"""Staff desk pages (前台): search, member 360, desk sign-up, review queues and the audit log.

Every member is read through members.selectors (store scope, SEC-3) and every write goes through
members.services; domain errors come back as field errors or messages on the page."""
from __future__ import annotations

import datetime as dt
import re

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import crypto, replica
from core.errors import MemberHubError
from core.errors import PermissionDenied as DomainPermissionDenied
from core.exports import csv_writer
from core.models import AuditLog
from core.panels import DESK_MEMBER, DESK_MEMBER_SERVICE, DESK_MEMBER_SUMMARY, panels_for
from core.web import action_refused, client_ip, need, staff_required

from . import divisions, ecard, scope, selectors, services
from .forms_desk import (
    AuditFilterForm,
    BuyerLinkForm,
    ChangeRequestForm,
    ConsentForm,
    DeskSignupForm,
    GuardianConsentForm,
    IdNumberConsentForm,
    RereviewForm,
    ReviewForm,
    SearchForm,
    StatusForm,
    TagAddForm,
    add_domain_error,
)
from .models import ChangeRequest, ConsentLog, Member, Tag
from .sms_codes import sms_code_send

PAGE_SIZE = 25
EXPORT_LIMIT = 50_000
REVEAL_LABELS = {"mobile": "mobile_masked", "id_number": "id_number_masked", "address": "address_masked"}

# Recording a consent change or a change request on the member's behalf is the same kind of work
# (front desk, customer service); auditors and managers only look.
PERM_ACT_FOR_MEMBER = "members.add_changerequest"
PERM_CONSENT = services.PERM_CONSENT


# ---------------------------------------------------------------- home and search


@staff_required
def home(request):
    user = request.user
    can_review = user.has_perm("members.review_member")
    context = {
        "search_form": SearchForm(),
        "can_review": can_review,
        "pending_signups": selectors.pending_signups_for_staff(user).count() if can_review else None,
        "pending_changes": selectors.pending_change_requests_for_staff(user).count() if can_review else None,
        # MEM-5: the periodic re-review queue; MEM-6: members who have not accepted the policy in effect.
        "rereviews_due": selectors.rereview_due_for_staff(user).count() if can_review else None,
        "policy_pending": (selectors.members_without_current_policy_for_staff(user).count()
                           if user.has_perm("members.view_consentlog") else None),
        "store": scope.staff_store(user),
        "chain_wide": scope.is_chain_wide(user),
    }
    return render(request, "desk/home.html", context)


@staff_required
def search(request):
    need(request.user, "members.view_member")
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    filters = form.filters()
    members = selectors.member_filter(request.user, query, **filters).order_by("-created_at", "-pk")
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    if query and page.paginator.count == 1 and not request.GET.get("page"):
        return redirect("desk:member", member_no=page.object_list[0].member_no)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "desk/search.html", {
        "search_form": form, "query": query or bool(filters), "page": page, "params": params.urlencode(),
        "can_export": request.user.has_perm("members.export_member"),
    })


@staff_required
@replica.reads()
def search_export(request):
    """Masked CSV of the search result (MEM-8 export), for members.export_member; audit-logged. Read from the
    read replica when one is configured (core.replica); the export record is written to the primary."""
    need(request.user, "members.export_member")
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    rows = selectors.member_filter(request.user, query, **form.filters()).order_by("member_no")[:EXPORT_LIMIT]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="members-{timezone.localdate():%Y%m%d}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 Chinese text correctly only with the BOM
    writer = csv_writer(response)  # no live formula or control character in a cell (SEC-5)
    writer.writerow(member_export_header())
    count = 0
    for member in rows:
        writer.writerow(member_export_row(member))
        count += 1
    services.member_export_record(staff=request.user, rows=count, source="desk search", query=query,
                                  ip=client_ip(request))
    return response


def member_export_header() -> list[str]:
    return [_("Member number"), _("Name"), _("Mobile"), _("ID number"), _("Tier"), _("Status"), _("Kind"),
            _("Home store"), _("Registered at")]


def member_export_row(member: Member) -> list[str]:
    """Masked values only (SEC-2): exports never carry a full mobile, ID number or address."""
    return [
        member.member_no, crypto.mask_name(member.name), member.mobile_masked, member.id_number_masked,
        member.tier.name, member.get_status_display(), member.get_kind_display(), member.home_store.code,
        timezone.localtime(member.created_at).strftime("%Y-%m-%d %H:%M"),
    ]


# ---------------------------------------------------------------- member 360


def _member_context(request, member: Member, **forms) -> dict:
    user = request.user
    corporate = getattr(member, "corporate", None) if member.kind == Member.Kind.CORPORATE else None
    payload = ecard.qr_payload(member)
    pending = ChangeRequest.objects.filter(member=member, status=ChangeRequest.Status.PENDING).select_related(
        "requested_by").first()
    return {
        "member": member,
        "panels": panels_for(DESK_MEMBER),
        # The sticky summary bar: the tier here, the figures of the apps above members through core.panels.
        "summary_panels": panels_for(DESK_MEMBER_SUMMARY),
        "service_panels": panels_for(DESK_MEMBER_SERVICE),  # the 客服 panel's sections
        "corporate": corporate,
        "qr_svg": mark_safe(ecard.qr_svg(payload)),  # generated SVG of our own payload, no user input
        "member_tags": member.member_tags.select_related("tag", "added_by").order_by("tag__name"),
        "consents": member.consents.select_related("actor")[:50],
        "changes": member.changes.select_related("actor")[:50],
        "pending_request": pending,
        "can_reveal": user.has_perm("members.reveal_sensitive"),
        "can_change_status": user.has_perm("members.change_member_status"),
        "can_tag": user.has_perm("members.add_membertag"),
        "can_untag": user.has_perm("members.delete_membertag"),
        "can_act": user.has_perm(PERM_ACT_FOR_MEMBER),
        "can_consent": user.has_perm(PERM_CONSENT),
        "can_review": user.has_perm("members.review_member"),
        "status_form": forms.get("status_form") or StatusForm(),
        "tag_form": forms.get("tag_form") or TagAddForm(member=member),
        "consent_form": forms.get("consent_form") or ConsentForm(
            initial={"granted": "0" if member.marketing_consent else "1"}),
        "id_consent_form": forms.get("id_consent_form") or IdNumberConsentForm(
            initial={"granted": "0" if member.id_number_consent else "1"}),
        "guardian_consents": member.guardian_consents.all()[:5],
        "current_privacy_version": selectors.current_privacy_version(),
        "needs_guardian": services.member_needs_guardian(member.birthday),
        "guardian_form": forms.get("guardian_form") or GuardianConsentForm(),
        "can_record_guardian": user.has_perm("members.add_guardianconsent"),
        "change_form": forms.get("change_form") or ChangeRequestForm(member=member),
        "reveal_fields": [
            ("mobile", _("Mobile"), member.mobile_masked),
            ("id_number", _("ID number"), member.id_number_masked),
            ("address", _("Address"), member.address_masked),
        ],
    }


def member_for_desk(request, member_no: str) -> Member:
    """The member a desk page is about: the page needs members.view_member, and a member outside the
    staff member's store scope is a 404 (SEC-3). Desk pages of the apps above members use it too."""
    need(request.user, "members.view_member")
    return selectors.member_get_for_staff(request.user, member_no)


@staff_required
def member_detail(request, member_no: str):
    member = member_for_desk(request, member_no)
    return render(request, "desk/member_detail.html", _member_context(request, member))


@staff_required
@require_POST
def member_reveal(request, member_no: str, field: str):
    """htmx: the full value of one sensitive field, audit-logged by the service (SEC-2)."""
    if field not in REVEAL_LABELS:
        raise Http404
    member = member_for_desk(request, member_no)
    try:
        value = services.member_reveal(member=member, field=field, staff=request.user, ip=client_ip(request))
    except DomainPermissionDenied as exc:
        return render(request, "desk/_reveal_refused.html", {"message": exc.message}, status=403)
    return render(request, "desk/_revealed.html", {"value": value, "field": field})


def _member_action_failed(request, member: Member, exc: MemberHubError, form_name: str, form):
    add_domain_error(form, exc)
    return render(request, "desk/member_detail.html", _member_context(request, member, **{form_name: form}),
                  status=400)


@staff_required
@require_POST
def member_status(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "members.change_member_status")
    form = StatusForm(request.POST)
    if not form.is_valid():
        return render(request, "desk/member_detail.html", _member_context(request, member, status_form=form),
                      status=400)
    try:
        services.member_set_status(member=member, staff=request.user, action=form.cleaned_data["action"],
                                   reason=form.cleaned_data["reason"])
    except MemberHubError as exc:
        return _member_action_failed(request, member, exc, "status_form", form)
    messages.success(request, _("The member's status has been changed."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
@require_POST
def member_tag_add(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, "members.add_membertag")
    form = TagAddForm(request.POST, member=member)
    if not form.is_valid():
        return render(request, "desk/member_detail.html", _member_context(request, member, tag_form=form),
                      status=400)
    try:
        services.tag_add(member=member, tag=form.cleaned_data["tag"], staff=request.user)
    except MemberHubError as exc:
        return _member_action_failed(request, member, exc, "tag_form", form)
    messages.success(request, _("Tag added."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
@require_POST
def member_tag_remove(request, member_no: str, tag_id: int):
    member = member_for_desk(request, member_no)
    need(request.user, "members.delete_membertag")
    tag = get_object_or_404(Tag, pk=tag_id, kind=Tag.Kind.MANUAL)
    services.tag_remove(member=member, tag=tag, staff=request.user)
    messages.success(request, _("Tag removed."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
@require_POST
def member_consent(request, member_no: str):
    """Marketing consent changed at the desk (MEM-6); the service logs it with channel DESK."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_CONSENT)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return render(request, "desk/member_detail.html", _member_context(request, member, consent_form=form),
                      status=400)
    services.consent_set_marketing(member=member, granted=form.cleaned_data["granted"],
                                   channel=ConsentLog.Channel.DESK, actor_user=request.user)
    messages.success(request, _("The marketing consent has been recorded."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
@require_POST
def member_change_request(request, member_no: str):
    member = member_for_desk(request, member_no)
    need(request.user, PERM_ACT_FOR_MEMBER)
    form = ChangeRequestForm(request.POST, member=member)
    if not form.is_valid():
        return render(request, "desk/member_detail.html", _member_context(request, member, change_form=form),
                      status=400)
    changes = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in form.changes().items()}
    try:
        services.change_request_submit(member=member, changes=changes,
                                       actor=services.Actor.staff(request.user, ip=client_ip(request)),
                                       mobile_code=form.cleaned_data["sms_code"],
                                       id_number_consent=form.cleaned_data["id_number_consent"])
    except MemberHubError as exc:
        return _member_action_failed(request, member, exc, "change_form", form)
    messages.success(request, _("The change request has been submitted; another staff member will review it."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
@require_POST
def member_change_send_code(request, member_no: str):
    """htmx: the clerk sends a code to the new mobile of a change request; the member reads it out and the
    clerk enters it with the request (MEM-4, seed 002 二(三)1). The usual per-number and per-IP limits apply."""
    member_for_desk(request, member_no)
    need(request.user, PERM_ACT_FOR_MEMBER)
    try:
        sms_code_send(mobile=request.POST.get("mobile", ""), purpose="change_mobile", ip=client_ip(request))
    except MemberHubError as exc:
        message = exc.fields.get("mobile", [exc.message])[0] if exc.fields.get("mobile") else exc.message
        return render(request, "portal/_code_status.html", {"ok": False, "message": message}, status=exc.status)
    return render(request, "portal/_code_status.html", {"ok": True, "message": _(
        "A code has been sent to the new number; ask the member to read it out.")})


@staff_required
@require_POST
def member_id_consent(request, member_no: str):
    """The separate consent to store the ID number, recorded at the desk (PIPL art. 28-29); withdrawing it
    erases the number (the service logs both)."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_CONSENT)
    form = IdNumberConsentForm(request.POST)
    if not form.is_valid():
        return render(request, "desk/member_detail.html", _member_context(request, member, id_consent_form=form),
                      status=400)
    services.consent_set_id_number(member=member, granted=form.cleaned_data["granted"],
                                   channel=ConsentLog.Channel.DESK,
                                   actor=services.Actor.staff(request.user, ip=client_ip(request)))
    messages.success(request, _("The consent to store the ID number has been recorded."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
@require_POST
def member_guardian_consent(request, member_no: str):
    """The guardian's consent for a member under 14, recorded at the desk (PIPL art. 31), e.g. before a
    pending child's sign-up can be approved."""
    member = member_for_desk(request, member_no)
    need(request.user, "members.add_guardianconsent")
    form = GuardianConsentForm(request.POST)
    if not form.is_valid():
        return render(request, "desk/member_detail.html", _member_context(request, member, guardian_form=form),
                      status=400)
    try:
        services.guardian_consent_record(member=member, guardian=form.cleaned_data, staff=request.user)
    except MemberHubError as exc:
        return _member_action_failed(request, member, exc, "guardian_form", form)
    messages.success(request, _("The guardian's consent has been recorded."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
@require_POST
def member_privacy_accept(request, member_no: str):
    """The member, at the desk, accepts the privacy policy version in effect; staff record it (MEM-6)."""
    member = member_for_desk(request, member_no)
    need(request.user, PERM_CONSENT)
    try:
        services.privacy_policy_accept(member=member, version=request.POST.get("version", ""), staff=request.user)
    except MemberHubError as exc:
        return action_refused(request, exc, member_detail, member_no=member.member_no)
    messages.success(request, _("The member's acceptance of the privacy policy has been recorded."))
    return redirect("desk:member", member_no=member.member_no)


@staff_required
def privacy_pending(request):
    """Members who have not accepted the privacy policy in effect (MEM-6); they are asked at their next
    portal visit, the desk asks those who come in person."""
    need(request.user, "members.view_consentlog")
    members = selectors.members_without_current_policy_for_staff(request.user).select_related("home_store")
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "desk/privacy_pending.html", {
        "page": page, "current_version": selectors.current_privacy_version(),
    })


@staff_required
@require_POST
def member_buyer_link(request, member_no: str):
    """Link or unlink a personal member as a buyer of this corporate member (企业会员)."""
    need(request.user, PERM_ACT_FOR_MEMBER)
    company = member_for_desk(request, member_no)
    form = BuyerLinkForm(request.POST)
    if form.is_valid():
        try:
            buyer = selectors.member_get_for_staff(request.user, form.cleaned_data["buyer_no"].strip())
            services.corporate_buyer_link(company=company, buyer=buyer, staff=request.user,
                                          link=form.cleaned_data["action"] == "link")
        except MemberHubError as exc:
            return action_refused(request, exc, member_detail, member_no=company.member_no)
        else:
            messages.success(request, _("Buyers updated."))
    else:
        messages.error(request, _("Enter the buyer's member number."))
    return redirect("desk:member", member_no=company.member_no)


# ---------------------------------------------------------------- periodic re-review (MEM-5)


@staff_required
def rereviews(request):
    need(request.user, "members.review_member")
    due = selectors.rereview_due_for_staff(request.user)
    page = Paginator(due, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "desk/rereviews.html", {"page": page, "form": RereviewForm()})


@staff_required
@require_POST
def rereview_member(request, member_no: str):
    need(request.user, "members.review_member")
    member = member_for_desk(request, member_no)
    form = RereviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an outcome."))
        return redirect("desk:rereviews")
    try:
        services.member_rereview(member=member, staff=request.user, outcome=form.cleaned_data["outcome"],
                                 reason=form.cleaned_data["reason"])
    except MemberHubError as exc:
        exc.message = f"{member.member_no}: {exc.message}"
        return action_refused(request, exc, rereviews)
    else:
        messages.success(request, _("Re-review of %(no)s recorded.") % {"no": member.member_no})
    return redirect("desk:rereviews")


# ---------------------------------------------------------------- desk sign-up


@staff_required
def member_new(request):
    need(request.user, "members.add_member")
    form = DeskSignupForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                member = services.member_register_desk(
                    data=form.member_data(), staff=request.user,
                    store=form.cleaned_data.get("store") or None,
                    marketing=form.cleaned_data["marketing"],
                    privacy_accepted=form.cleaned_data["privacy_accepted"],
                    corporate=form.corporate_data(),
                    id_number_consent=form.cleaned_data["id_number_consent"],
                    guardian=form.guardian_data(),
                )
            except MemberHubError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _(
                    "Sign-up %(member_no)s saved. It becomes active when a second staff member approves it."
                ) % {"member_no": member.member_no})
                return redirect("desk:member", member_no=member.member_no)
        status = 400
    return render(request, "desk/member_new.html", {"form": form}, status=status)


@staff_required
def division_options(request):
    """htmx: the <option>s of the cities of ?province= or the districts of ?city= (GB/T 2260, members.divisions)
    for the dependent selects of the desk's member forms; a new province also empties the district select."""
    need(request.user, "members.view_member")
    if "city" in request.GET:
        children, reset_district = divisions.children_of(request.GET["city"].strip()[:6]), False
    else:
        children, reset_district = divisions.children_of(request.GET.get("province", "").strip()[:6]), True
    return render(request, "desk/_division_options.html", {"children": children, "reset_district": reset_district})


# ---------------------------------------------------------------- review queues (MEM-2, MEM-4)


# What a reviewer compares: the member's value now (masked as the page shows it) against the requested one.
_SHOWN_AS = {"mobile": "mobile_masked", "id_number": "id_number_masked", "address": "address_masked"}


def change_request_rows(change_request: ChangeRequest) -> list[dict]:
    """The requested change as rows (field label, value now, requested value), read from the request's
    summary of masked new values (members.services._change_request_create: "field: value; ...")."""
    member = change_request.member
    keys = "|".join(services.CHANGEABLE_FIELDS)
    rows = []
    for match in re.finditer(rf"(?:^|; )({keys}): (.*?)(?=; (?:{keys}): |$)", change_request.summary):
        key, new = match.group(1), match.group(2)
        field = Member._meta.get_field(_SHOWN_AS.get(key, key))
        old = getattr(member, field.name)
        if key == "gender":
            old, new = member.get_gender_display(), dict(Member.Gender.choices).get(new, new)
        rows.append({"field": key, "label": field.verbose_name, "old": old or "", "new": new})
    return rows


@staff_required
def reviews(request):
    need(request.user, "members.review_member")
    change_requests = list(selectors.pending_change_requests_for_staff(request.user)[:200])
    for change_request in change_requests:
        change_request.rows = change_request_rows(change_request)
    return render(request, "desk/reviews.html", {
        "signups": selectors.pending_signups_for_staff(request.user).select_related("corporate", "home_store")[:200],
        "change_requests": change_requests,
    })


def _review_failed(request, exc: MemberHubError, what: str):
    details = [m for msgs in (exc.fields or {}).values() for m in msgs]
    text = exc.message if not details else f"{exc.message} {' '.join(details)}"
    messages.error(request, f"{what}: {text}")
    return redirect("desk:reviews")


@staff_required
@require_POST
def review_signup(request, member_no: str):
    need(request.user, "members.review_member")
    member = selectors.member_get_for_staff(request.user, member_no)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("desk:reviews")
    try:
        services.member_review(member=member, reviewer=request.user, approve=form.approve,
                               reason=form.cleaned_data["reason"])
    except MemberHubError as exc:
        return _review_failed(request, exc, member.member_no)
    if form.approve:
        messages.success(request, _("Sign-up %(no)s approved; the member is active.") % {"no": member.member_no})
    else:
        messages.success(request, _("Sign-up %(no)s rejected.") % {"no": member.member_no})
    return redirect("desk:reviews")


@staff_required
@require_POST
def review_change(request, pk: int):
    need(request.user, "members.review_member")
    change_request = scope.filter_by_store(
        request.user, ChangeRequest.objects.select_related("member"), field="member__home_store"
    ).filter(pk=pk).first()
    if change_request is None:
        raise Http404
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("desk:reviews")
    try:
        services.change_request_review(request=change_request, reviewer=request.user, approve=form.approve,
                                       reason=form.cleaned_data["reason"])
    except MemberHubError as exc:
        return _review_failed(request, exc, change_request.member.member_no)
    if form.approve:
        messages.success(request, _("Change request approved and applied."))
    else:
        messages.success(request, _("Change request rejected."))
    return redirect("desk:reviews")


# ---------------------------------------------------------------- audit log (SEC-2)


def audit_log_for_staff(user):
    """Audit entries about members of the viewer's stores, plus member-less entries (exports, logins)
    by staff of those stores; everything for chain-wide auditors."""
    qs = AuditLog.objects.select_related("actor", "member")
    ids = scope.store_ids(user)
    if ids is None:
        return qs
    return qs.filter(
        Q(member__home_store__in=ids) | Q(member__isnull=True, actor__staff_profile__store__in=ids)
    )


@staff_required
def audit_log(request):
    need(request.user, "core.view_auditlog")
    form = AuditFilterForm(request.GET or None)
    qs = audit_log_for_staff(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["staff"]:
            qs = qs.filter(actor_label__iexact=data["staff"].strip())
        if data["member_no"]:
            qs = qs.filter(member__member_no=data["member_no"].strip())
        if data["action"]:
            qs = qs.filter(action=data["action"])
        if data["date_from"]:
            qs = qs.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            qs = qs.filter(at__date__lte=data["date_to"])
    elif form.is_bound:
        qs = qs.none()
    page = Paginator(qs.order_by("-at", "-pk"), 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "desk/audit_log.html", {"form": form, "page": page, "params": params.urlencode()})

