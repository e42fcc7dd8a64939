"""Reservation slots generated in bulk from a weekly pattern (issue 16, admin): for each chosen resource,
every date of a range that falls on one of the chosen weekdays gets a slot at each chosen time.

Set-wise and idempotent: one INSERT ... ON CONFLICT DO NOTHING for the whole pattern, on the
UNIQUE (resource, starts_at) of amenities.Slot, so re-running the same pattern (or an overlapping one)
adds only the slots that are missing and never changes or doubles a slot members may have booked.
Slots are configuration, not member data: the admin action records each run in the resource's admin
history (LogEntry), as editing slots inline does; core's AuditLog is for member data.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Resource, Slot

# A pattern may span at most this many days (a quarter and a bit): a typo in the year must not make 100,000 slots.
PATTERN_MAX_DAYS = 120


@dataclass(frozen=True)
class SlotPatternResult:
    created: int
    existing: int

    @property
    def total(self) -> int:
        return self.created + self.existing


def pattern_starts(*, date_from: dt.date, date_to: dt.date, weekdays: set[int], times: list[dt.time]) -> list[dt.datetime]:
    """The aware start instants of the pattern (local time of the chain), in order."""
    starts = []
    day = date_from
    while day <= date_to:
        if day.weekday() in weekdays:
            starts.extend(timezone.make_aware(dt.datetime.combine(day, t)) for t in times)
        day += dt.timedelta(days=1)
    return starts


def slots_generate(
    *, resources: list[Resource], date_from: dt.date, date_to: dt.date, weekdays: set[int], times: list[dt.time],
    duration_minutes: int, capacity: int, booking_deadline_hours: int = 0, cancellation_deadline_hours: int = 2,
    staff=None,
) -> SlotPatternResult:
    from .services import AmenityError

    if date_to < date_from:
        raise AmenityError(_("The last date is before the first."), fields={"date_to": [_("Before the first date.")]})
    if (date_to - date_from).days + 1 > PATTERN_MAX_DAYS:
        raise AmenityError(_("A pattern covers at most %(n)s days.") % {"n": PATTERN_MAX_DAYS},
                           fields={"date_to": [_("At most %(n)s days.") % {"n": PATTERN_MAX_DAYS}]})
    if not weekdays or not times or not resources:
        raise AmenityError(_("Choose at least one resource, weekday and time."))
    if duration_minutes <= 0 or capacity <= 0:
        raise AmenityError(_("Duration and capacity must be at least 1."))
    starts = pattern_starts(date_from=date_from, date_to=date_to, weekdays=weekdays, times=sorted(set(times)))
    length = dt.timedelta(minutes=duration_minutes)
    rows = [Slot(resource=r, starts_at=s, ends_at=s + length, capacity=capacity,
                 booking_deadline_hours=booking_deadline_hours, cancellation_deadline_hours=cancellation_deadline_hours)
            for r in resources for s in starts]
    with transaction.atomic():
        before = Slot.objects.filter(resource__in=resources, starts_at__in=starts).count()
        Slot.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
        after = Slot.objects.filter(resource__in=resources, starts_at__in=starts).count()
        created = after - before
    return SlotPatternResult(created=created, existing=len(rows) - created)
