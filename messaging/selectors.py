"""Reads of the member's inbox (MSG-2 notices) that the portal pages and the nav share."""
from __future__ import annotations

from members.models import Member

from .models import Notice


def notice_list_for_member(*, member: Member):
    return Notice.objects.filter(member=member).order_by("-created_at", "-id")


def notice_unread_count(*, member: Member) -> int:
    return Notice.objects.filter(member=member, read_at__isnull=True).count()
