"""Reads of the evaluation snapshots: RFM per member and movement between dates, closeness ranking
and distribution, lifecycle counts over time, and segment audiences. Every aggregate runs in SQL;
store scoping takes the ids from members.scope.store_ids (None = every store)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from members.models import Member, MemberTag
from members.selectors import RULE_KEYS, rule_queryset

from .models import (
    ClosenessSnapshot,
    LifecycleSnapshot,
    LifecycleStage,
    RfmClass,
    RfmRun,
    RfmSnapshot,
    Segment,
)

OUT = "out"  # movement matrix row/column for "not in the population on that date"

# ---------------------------------------------------------------- RFM


def rfm_dates(limit: int = 60) -> list[dt.date]:
    return list(RfmRun.objects.order_by("-as_of").values_list("as_of", flat=True)[:limit])


def rfm_for_member(*, member: Member, as_of: dt.date | None = None) -> RfmSnapshot | None:
    qs = RfmSnapshot.objects.filter(member=member)
    if as_of:
        qs = qs.filter(as_of=as_of)
    return qs.order_by("-as_of").first()


@dataclass
class Movement:
    from_as_of: dt.date
    to_as_of: dt.date
    classes: list[str]  # row/column order: the eight classes, then OUT
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def matrix(self) -> list[list[int]]:
        return [[self.counts.get((a, b), 0) for b in self.classes] for a in self.classes]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_MOVEMENT_SQL = """
SELECT COALESCE(f.rfm_class, %(out)s) AS from_class, COALESCE(t.rfm_class, %(out)s) AS to_class, COUNT(*)
FROM (SELECT member_id, rfm_class, store_id, tier_id FROM evaluation_rfmsnapshot WHERE as_of = %(from)s) f
FULL JOIN (SELECT member_id, rfm_class, store_id, tier_id FROM evaluation_rfmsnapshot WHERE as_of = %(to)s) t
     ON t.member_id = f.member_id
WHERE (%(stores)s::bigint[] IS NULL OR COALESCE(t.store_id, f.store_id) = ANY(%(stores)s::bigint[]))
  AND (%(tiers)s::bigint[] IS NULL OR COALESCE(t.tier_id, f.tier_id) = ANY(%(tiers)s::bigint[]))
GROUP BY 1, 2
"""


def rfm_movement(*, from_as_of: dt.date, to_as_of: dt.date, store_ids: list[int] | None = None,
                 tier_ids: list[int] | None = None) -> Movement:
    """Members by (class on from_as_of, class on to_as_of); OUT where a member is in only one of the
    two populations. A member counts under the store and tier of the later snapshot (the earlier one
    when they left the population). store_ids/tier_ids None = all."""
    with connection.cursor() as cursor:
        cursor.execute(_MOVEMENT_SQL, {"out": OUT, "from": from_as_of, "to": to_as_of,
                                       "stores": store_ids, "tiers": tier_ids})
        counts = {(a, b): n for a, b, n in cursor.fetchall()}
    return Movement(from_as_of=from_as_of, to_as_of=to_as_of, classes=[*RfmClass.values, OUT], counts=counts)


def rfm_class_counts(*, as_of: dt.date, store_ids: list[int] | None = None) -> dict[str, int]:
    qs = RfmSnapshot.objects.filter(as_of=as_of)
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    return dict(qs.values_list("rfm_class").annotate(n=Count("id")).order_by())


# ---------------------------------------------------------------- closeness


def closeness_dates(limit: int = 60) -> list[dt.date]:
    return list(ClosenessSnapshot.objects.order_by().values_list("as_of", flat=True).distinct()
                .order_by("-as_of")[:limit])


def closeness_ranked(*, as_of: dt.date, store_ids: list[int] | None = None) -> QuerySet[ClosenessSnapshot]:
    qs = ClosenessSnapshot.objects.filter(as_of=as_of).select_related("member", "store", "tier")
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    return qs.order_by("-score", "member_id")


_HISTOGRAM_SQL = """
SELECT LEAST(FLOOR(score / %(width)s)::int, %(last)s) AS bucket, COUNT(*)
FROM evaluation_closenesssnapshot
WHERE as_of = %(day)s AND (%(stores)s::bigint[] IS NULL OR store_id = ANY(%(stores)s::bigint[]))
GROUP BY 1 ORDER BY 1
"""


def closeness_histogram(*, as_of: dt.date, store_ids: list[int] | None = None, buckets: int = 10
                        ) -> list[tuple[int, int, int]]:
    """[(from score, to score, members)] in `buckets` equal-width bands of 0–100 (100 in the last)."""
    width = 100 // buckets
    with connection.cursor() as cursor:
        cursor.execute(_HISTOGRAM_SQL, {"width": width, "last": buckets - 1, "day": as_of, "stores": store_ids})
        found = dict(cursor.fetchall())
    return [(i * width, (i + 1) * width, found.get(i, 0)) for i in range(buckets)]


# ---------------------------------------------------------------- lifecycle


def lifecycle_counts(*, store_ids: list[int] | None = None, limit: int = 30) -> list[tuple[dt.date, dict[str, int]]]:
    """Members per stage for the latest `limit` as-of dates, newest first."""
    dates = list(LifecycleSnapshot.objects.order_by().values_list("as_of", flat=True).distinct()
                 .order_by("-as_of")[:limit])
    if not dates:
        return []
    qs = LifecycleSnapshot.objects.filter(as_of__in=dates)
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    by_date: dict[dt.date, dict[str, int]] = {d: dict.fromkeys(LifecycleStage.values, 0) for d in dates}
    for day, stage, n in qs.values_list("as_of", "stage").annotate(n=Count("id")).order_by():
        by_date[day][stage] = n
    return [(d, by_date[d]) for d in dates]


# ---------------------------------------------------------------- segments

SEGMENT_KEYS = {"rfm_classes", "lifecycle_stages", "closeness_min_percentile", "closeness_max_percentile",
                "tags", "tiers", "stores", "spend_min", "spend_max"}
_RANGES = (("closeness_min_percentile", 100), ("closeness_max_percentile", 100), ("spend_min", None),
           ("spend_max", None))


def segment_definition_errors(definition: dict) -> list[str]:
    """What is wrong with a segment definition (empty = valid), in words a person can act on."""
    if not isinstance(definition, dict):
        return [_("The definition must be a set of conditions (a JSON object).")]
    errors = []
    unknown = set(definition) - SEGMENT_KEYS - RULE_KEYS
    if unknown:
        errors.append(_("Unknown conditions: %(keys)s.") % {"keys": ", ".join(sorted(map(str, unknown)))})
    bad = set(map(str, _as_list(definition.get("rfm_classes", [])))) - set(RfmClass.values)
    if bad:
        errors.append(_("Unknown RFM classes: %(values)s.") % {"values": ", ".join(sorted(bad))})
    bad = set(map(str, _as_list(definition.get("lifecycle_stages", [])))) - set(LifecycleStage.values)
    if bad:
        errors.append(_("Unknown lifecycle stages: %(values)s.") % {"values": ", ".join(sorted(bad))})
    values = {}
    for key, top in _RANGES:
        if definition.get(key) is None:
            continue
        try:
            values[key] = Decimal(str(definition[key]))
        except (InvalidOperation, ValueError):
            values[key] = None
        if values[key] is None or not values[key].is_finite() or values[key] < 0 or (top and values[key] > top):
            errors.append((_("%(key)s must be a number from 0 to 100.") if top else
                           _("%(key)s must be an amount of 0 or more.")) % {"key": key})
            values[key] = None
    for low, high in (("closeness_min_percentile", "closeness_max_percentile"), ("spend_min", "spend_max")):
        if values.get(low) is not None and values.get(high) is not None and values[low] > values[high]:
            errors.append(_("%(low)s must not be above %(high)s.") % {"low": low, "high": high})
    return errors


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _latest(model, as_of: dt.date | None) -> dt.date | None:
    if as_of is not None:
        return as_of
    return model.objects.order_by("-as_of").values_list("as_of", flat=True).first()


def segment_members(segment: Segment | dict, as_of: dt.date | None = None) -> QuerySet[Member]:
    """The active members a segment selects: the audience other apps (messages, events, surveys,
    points campaigns) take. `as_of` picks the snapshot date of the RFM / lifecycle / closeness
    conditions; None = the latest snapshot of each. A condition on a snapshot that does not exist
    selects nobody. Keys not listed in SEGMENT_KEYS are members.selectors.rule_queryset keys."""
    definition = segment.definition if isinstance(segment, Segment) else segment
    errors = segment_definition_errors(definition)
    if errors:
        raise ValueError(" ".join(errors))
    qs = rule_queryset({k: v for k, v in definition.items() if k in RULE_KEYS})
    if definition.get("tiers"):
        qs = qs.filter(tier__code__in=_as_list(definition["tiers"]))
    if definition.get("stores"):
        qs = qs.filter(home_store__code__in=_as_list(definition["stores"]))
    if definition.get("tags"):
        qs = qs.filter(pk__in=MemberTag.objects.filter(tag__name__in=_as_list(definition["tags"]))
                       .values("member_id"))
    if definition.get("rfm_classes"):
        day = _latest(RfmSnapshot, as_of)
        qs = qs.filter(pk__in=RfmSnapshot.objects.filter(as_of=day, rfm_class__in=_as_list(
            definition["rfm_classes"])).values("member_id"))
    if definition.get("lifecycle_stages"):
        day = _latest(LifecycleSnapshot, as_of)
        qs = qs.filter(pk__in=LifecycleSnapshot.objects.filter(as_of=day, stage__in=_as_list(
            definition["lifecycle_stages"])).values("member_id"))
    low, high = definition.get("closeness_min_percentile"), definition.get("closeness_max_percentile")
    if low is not None or high is not None:
        day = _latest(ClosenessSnapshot, as_of)
        closeness = ClosenessSnapshot.objects.filter(as_of=day)
        if low is not None:
            closeness = closeness.filter(percentile__gte=low)
        if high is not None:
            closeness = closeness.filter(percentile__lte=high)
        qs = qs.filter(pk__in=closeness.values("member_id"))
    low, high = definition.get("spend_min"), definition.get("spend_max")
    if low is not None or high is not None:
        # Spend = the amount of the RFM window (paid minus refunds) on the snapshot date; members
        # outside the RFM population (no purchase in the window) have spent 0.
        day = _latest(RfmSnapshot, as_of)
        spent = RfmSnapshot.objects.filter(as_of=day)
        if low is not None:
            spent = spent.filter(monetary__gte=Decimal(str(low)))
        if high is not None:
            spent = spent.filter(monetary__lte=Decimal(str(high)))
        if day is None:
            qs = qs.none()
        elif low is None or Decimal(str(low)) <= 0:
            qs = qs.filter(Q(pk__in=spent.values("member_id"))
                           | ~Q(pk__in=RfmSnapshot.objects.filter(as_of=day).values("member_id")))
        else:
            qs = qs.filter(pk__in=spent.values("member_id"))
    return qs


def audience_members(*, segment: Segment | dict | None = None, tier_ids=(), tag_ids=(),
                     store_ids: list[int] | None = None, as_of: dt.date | None = None) -> QuerySet[Member]:
    """The one audience rule (EVAL-6): segment ∩ tiers ∩ tags ∩ stores, for campaigns (messaging), events
    (engagement), surveys (care) and the segment counts. Empty tier / tag lists do not narrow; `store_ids`
    None means chain-wide. Raises ValueError on an invalid segment definition."""
    qs = segment_members(segment if segment is not None else {}, as_of)
    tier_ids, tag_ids = list(tier_ids), list(tag_ids)
    if tier_ids:
        qs = qs.filter(tier_id__in=tier_ids)
    if tag_ids:
        qs = qs.filter(Exists(MemberTag.objects.filter(member_id=OuterRef("pk"), tag_id__in=tag_ids)))
    if store_ids is not None:
        qs = qs.filter(home_store_id__in=store_ids)
    return qs


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.all()


def segment_count_for_staff(*, segment: Segment | dict, store_ids: list[int] | None,
                            as_of: dt.date | None = None) -> int:
    return audience_members(segment=segment, store_ids=store_ids, as_of=as_of).count()
