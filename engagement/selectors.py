"""Reads of partners and events reused by pages and the API."""
from __future__ import annotations

from django.db.models import Avg, Count, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from evaluation.selectors import audience_members
from members.models import Member
from points.models import Purchase

from .models import CheckIn, Event, Feedback, Invitation, PartnerOffer, RedemptionCode, Registration


def event_audience(event: Event) -> QuerySet[Member]:
    """Active members the event invites: the segment (if any), narrowed by the tiers and tags chosen."""
    tier_ids = list(event.audience_tiers.values_list("pk", flat=True))
    tag_ids = list(event.audience_tags.values_list("pk", flat=True))
    qs = audience_members(segment=event.audience_segment if event.audience_segment_id else None,
                          tier_ids=tier_ids, tag_ids=tag_ids)
    if not (tier_ids or tag_ids or event.audience_segment_id):
        return qs.none()  # an event without an audience invites nobody, not everybody
    return qs


def offers_for_member(member: Member, now=None) -> QuerySet[PartnerOffer]:
    now = now or timezone.now()
    return (PartnerOffer.objects.filter(is_active=True, partner__is_active=True, valid_from__lte=now,
                                        valid_until__gt=now, tiers=member.tier_id)
            .select_related("partner")
            .annotate(mine=Count("codes", filter=Q(codes__member=member)))
            .order_by("valid_until", "pk"))


def codes_for_member(member: Member) -> QuerySet[RedemptionCode]:
    return RedemptionCode.objects.filter(member=member).select_related("offer__partner").order_by("-issued_at")


def events_for_member(member: Member) -> QuerySet[Event]:
    return (Event.objects.filter(invitations__member=member).select_related("store")
            .annotate(my_status=Registration.objects.filter(event=OuterRef("pk"), member=member).values("status")[:1])
            .order_by("-starts_at"))


def event_outcome(event: Event) -> dict:
    """The outcome report (BEN-7): invited, signed up, attended, satisfaction, and the sales of
    attendees between the event's start and end (sum of Purchase.amount_paid), all in SQL."""
    regs = Registration.objects.filter(event=event, status=Registration.Status.REGISTERED).aggregate(
        members=Count("pk"), guests=Sum("guests"))
    attendees = CheckIn.objects.filter(registration__event=event).values("registration__member_id")
    feedback = Feedback.objects.filter(registration__event=event).aggregate(avg=Avg("rating"), n=Count("pk"))
    sales = Purchase.objects.filter(member_id__in=attendees, occurred_at__gte=event.starts_at,
                                    occurred_at__lte=event.ends_at).aggregate(total=Sum("amount_paid"),
                                                                              orders=Count("pk"))
    return {
        "invited": Invitation.objects.filter(event=event).count(),
        "signed_up": regs["members"] or 0,
        "signed_up_people": (regs["members"] or 0) + (regs["guests"] or 0),
        "attended": CheckIn.objects.filter(registration__event=event).count(),
        "feedback_count": feedback["n"],
        "satisfaction": round(feedback["avg"], 2) if feedback["avg"] is not None else None,
        "sales_amount": sales["total"] or 0,
        "sales_orders": sales["orders"],
    }
