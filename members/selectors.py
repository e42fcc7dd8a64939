"""Reads of members, always through the staff member's store scope (SEC-3)."""
from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q, QuerySet
from django.utils import timezone

from core import crypto
from core.errors import NotFound

from . import ecard, scope
from .models import ChangeRequest, Member
from .validation import normalize_mobile

_DIGITS = re.compile(r"^\+?\d{6,14}$")
# A mobile as people write it: digits with spaces, dashes, dots or brackets, maybe +86 (full-width too).
_MOBILE_LIKE = re.compile(r"^[+＋]?[\d０-９\s\-.()（）]{11,24}$")
# The last 4 digits of the mobile together with (the start of) the name, either way round: "8000 张三".
_LAST4_NAME = re.compile(r"^(?:(?P<d1>\d{4})\s*(?P<n1>\D.*)|(?P<n2>.*\D)\s*(?P<d2>\d{4}))$")


def member_list_for_staff(user) -> QuerySet[Member]:
    return scope.filter_by_store(user, Member.objects.select_related("home_store", "tier"))


def member_search(user, query: str) -> QuerySet[Member]:
    """The desk search box (MEM-3 member lookup, issue 16 workspace), within the staff member's store scope:
    - a scanned e-card QR (`MH1:…`, members.ecard): the member it names while the signature is valid, else none;
    - a mobile as written ("138 0013 8000", "138-0013-8000", "+86 13800138000"): exact, via the lookup hash;
    - the last 4 digits of the mobile with the start of the name ("8000 张三" / "张三8000");
    - a member number (exact or prefix) or an ID number (exact); otherwise the start of the name."""
    qs = member_list_for_staff(user)
    query = (query or "").strip()
    if not query:
        return qs.none()
    if query.startswith(ecard.PREFIX):
        member_no = ecard.member_no_from_qr(query)
        return qs.filter(member_no=member_no) if member_no else qs.none()
    if _MOBILE_LIKE.match(query) and not _DIGITS.match(query):
        try:
            return qs.filter(mobile_hash=crypto.lookup_hash(normalize_mobile(query)))
        except ValueError:
            pass
    if _DIGITS.match(query):
        digits = query[-11:]
        return qs.filter(
            Q(mobile_hash=crypto.lookup_hash(digits))
            | Q(member_no__startswith=query)
            | Q(id_number_hash=crypto.lookup_hash(query.upper()))
        )
    if (last4 := _LAST4_NAME.match(query)) is not None:
        digits = last4["d1"] or last4["d2"]
        name = (last4["n1"] or last4["n2"]).strip()
        return qs.filter(mobile_masked__endswith=digits, name__startswith=name)
    return qs.filter(Q(name__startswith=query) | Q(id_number_hash=crypto.lookup_hash(query.upper())))


def member_get_for_staff(user, member_no: str) -> Member:
    member = member_list_for_staff(user).filter(member_no=member_no).first()
    if member is None:
        raise NotFound("No such member.")
    return member


def member_by_mobile(mobile: str) -> Member | None:
    return Member.objects.filter(mobile_hash=crypto.lookup_hash(mobile)).select_related("tier", "home_store").first()


def pending_signups_for_staff(user) -> QuerySet[Member]:
    return member_list_for_staff(user).filter(status=Member.Status.PENDING).select_related("created_by").order_by(
        "created_at"
    )


def pending_change_requests_for_staff(user) -> QuerySet[ChangeRequest]:
    return scope.filter_by_store(
        user,
        ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).select_related(
            "member", "member__home_store", "requested_by"
        ),
        field="member__home_store",
    ).order_by("requested_at")


# Rule tags: a saved filter is a small JSON object; only these keys are understood.
RULE_KEYS = {"tier", "store", "gender", "min_age", "max_age", "kind", "channel", "marketing_consent",
             "registered_within_days", "province", "city"}


def rule_queryset(rule: dict, *, today: dt.date | None = None) -> QuerySet[Member]:
    """Members matching a saved filter (rule tags now; segments of the evaluation issue later)."""
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ValueError(f"unknown rule keys: {', '.join(sorted(unknown))}")
    today = today or timezone.localdate()
    qs = Member.objects.filter(status=Member.Status.ACTIVE)
    if "tier" in rule:
        qs = qs.filter(tier__code__in=_as_list(rule["tier"]))
    if "store" in rule:
        qs = qs.filter(home_store__code__in=_as_list(rule["store"]))
    if "gender" in rule:
        qs = qs.filter(gender__in=_as_list(rule["gender"]))
    if "kind" in rule:
        qs = qs.filter(kind__in=_as_list(rule["kind"]))
    if "channel" in rule:
        qs = qs.filter(channel__in=_as_list(rule["channel"]))
    if "province" in rule:
        qs = qs.filter(province__in=_as_list(rule["province"]))
    if "city" in rule:
        qs = qs.filter(city__in=_as_list(rule["city"]))
    if "marketing_consent" in rule:
        qs = qs.filter(marketing_consent=bool(rule["marketing_consent"]))
    if "min_age" in rule:
        qs = qs.filter(birthday__lte=_years_before(today, int(rule["min_age"])))
    if "max_age" in rule:
        qs = qs.filter(birthday__gt=_years_before(today, int(rule["max_age"]) + 1))
    if "registered_within_days" in rule:
        since = timezone.now() - dt.timedelta(days=int(rule["registered_within_days"]))
        qs = qs.filter(created_at__gte=since)
    return qs


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def rereview_due_for_staff(user, *, today: dt.date | None = None) -> QuerySet[Member]:
    """Active or suspended members whose periodic re-review date has come (MEM-5)."""
    today = today or timezone.localdate()
    return member_list_for_staff(user).filter(
        status__in=[Member.Status.ACTIVE, Member.Status.SUSPENDED], next_review_on__lte=today
    ).order_by("next_review_on")


TILL_VISIBLE_STATUSES = (Member.Status.ACTIVE, Member.Status.SUSPENDED, Member.Status.DISQUALIFIED)


def member_list_for_till(*, with_pending: bool = False) -> QuerySet[Member]:
    """Members a till may look up: every store of the chain (members shop anywhere), existing
    memberships only; `can_transact` tells the cashier whether they may earn or redeem.
    `with_pending` adds desk sign-ups waiting for review, for posting a sale whose points are held
    until the review (points.services.held)."""
    statuses = (*TILL_VISIBLE_STATUSES, Member.Status.PENDING) if with_pending else TILL_VISIBLE_STATUSES
    return Member.objects.select_related("tier").filter(status__in=statuses)


def member_by_reference(qs: QuerySet[Member], *, mobile: str = "", card: str = "", qr: str = "") -> Member:
    """Resolve how a till identifies a member (mobile / card number / e-card QR) within `qs`."""
    from django.utils.translation import gettext as _

    from core.errors import ValidationFailed

    from .ecard import member_no_from_qr
    from .validation import normalize_mobile

    if sum(bool(v) for v in (mobile, card, qr)) != 1:
        raise ValidationFailed(_("Identify the member by exactly one of mobile, card or QR."),
                               fields={"member": [_("Give exactly one of mobile, card or qr.")]})
    if mobile:
        try:
            qs = qs.filter(mobile_hash=crypto.lookup_hash(normalize_mobile(mobile)))
        except ValueError as exc:
            raise ValidationFailed(str(exc), fields={"mobile": [str(exc)]}) from None
    elif card:
        qs = qs.filter(member_no=card.strip())
    else:
        member_no = member_no_from_qr(qr)
        if member_no is None:
            raise ValidationFailed(
                _("This QR code has expired or is not valid."), code="bad_qr",
                fields={"qr": [_("Ask the member to refresh the e-card.")]},
            )
        qs = qs.filter(member_no=member_no)
    member = qs.first()
    if member is None:
        raise NotFound(_("No such member."))
    return member


def member_filter(user, query: str = "", *, tag=None, tier=None, status: str = "") -> QuerySet[Member]:
    """Desk search with filters: a search text narrows by mobile / number / name; tags, tier and
    status filter (and without a text, list) the staff member's members."""
    qs = member_search(user, query) if query else (
        member_list_for_staff(user) if (tag or tier or status) else Member.objects.none()
    )
    if tag:
        qs = qs.filter(member_tags__tag=tag)
    if tier:
        qs = qs.filter(tier=tier)
    if status:
        qs = qs.filter(status=status)
    return qs


# ---------------------------------------------------------------- privacy policy versions (MEM-6)


def privacy_policy_current(*, now: dt.datetime | None = None):
    """The version in effect: the latest whose effective time has come (None when none is stored)."""
    from .models import PrivacyPolicy

    return PrivacyPolicy.objects.filter(effective_at__lte=now or timezone.now()).order_by("-effective_at").first()


def privacy_policy_current_version_sql(*, now: dt.datetime | None = None):
    """The same rule as a subquery, so the portal reads it with the member in one query."""
    from django.db.models import Subquery

    from .models import PrivacyPolicy

    return Subquery(PrivacyPolicy.objects.filter(effective_at__lte=now or timezone.now())
                    .order_by("-effective_at").values("version")[:1])


def current_privacy_version() -> str:
    """The version new consents name; settings.PRIVACY_POLICY_VERSION until a text is stored."""
    from django.conf import settings

    policy = privacy_policy_current()
    return policy.version if policy else settings.PRIVACY_POLICY_VERSION


def members_without_current_policy_for_staff(user) -> QuerySet[Member]:
    """Members who have not accepted the privacy policy in effect (they are asked at their next portal visit)."""
    return member_list_for_staff(user).filter(
        status__in=[Member.Status.ACTIVE, Member.Status.SUSPENDED, Member.Status.PENDING],
    ).exclude(privacy_version=current_privacy_version()).order_by("member_no")
