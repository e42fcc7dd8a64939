"""Evaluation API for staff (EVAL-1, EVAL-6), store-scoped like the rest of the staff API: a store's
staff see their own store's members only (members.scope), chain-wide staff see every store.

- GET members/<member_no>/rfm/[?as_of=]      the member's RFM snapshot (latest, or of a date)
- GET rfm/movement/?from=&to=[&store=&tier=]  members by class on `from` × class on `to`
- GET segments/<pk>/count/[?as_of=]           how many members of the caller's stores the segment selects
"""
from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import IsStaffUser, PlainDecimalField, api_errors
from core.errors import NotFound, ValidationFailed
from members import scope
from members.callers import member_for_caller
from members.models import Store, Tier

from . import selectors
from .models import RFM_CHINESE_NAMES, RfmClass, Segment

TAGS = ["evaluation"]


def _day(value: str | None, name: str, *, required: bool = False) -> dt.date | None:
    if not value:
        if required:
            raise ValidationFailed(_("Give the %(name)s date.") % {"name": name}, fields={name: [_("Required.")]})
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(_("Dates are written YYYY-MM-DD."), fields={name: [_("Invalid date.")]}) from None


def scoped_store_ids(user, store_code: str | None) -> list[int] | None:
    """The caller's store ids narrowed to `store_code` when given; another store is a 404."""
    ids = scope.store_ids(user)
    if not store_code:
        return ids
    store = Store.objects.filter(code=store_code).first()
    if store is None or (ids is not None and store.pk not in ids):
        raise NotFound(_("No such store."))
    return [store.pk]


class RfmSnapshotSerializer(serializers.Serializer):
    member_no = serializers.CharField(source="member.member_no")
    as_of = serializers.DateField()
    window_days = serializers.IntegerField()
    recency_days = serializers.IntegerField()
    frequency = serializers.IntegerField()
    monetary = PlainDecimalField(max_digits=12, decimal_places=2)
    r_score = serializers.IntegerField()
    f_score = serializers.IntegerField()
    m_score = serializers.IntegerField()
    rfm_class = serializers.ChoiceField(choices=RfmClass.choices)
    rfm_class_name = serializers.CharField(help_text="Chinese class name, e.g. 重要价值")
    store = serializers.CharField(source="store.code")
    tier = serializers.CharField(source="tier.code")


class MemberRfmApi(APIView):
    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="member_rfm",
                   parameters=[OpenApiParameter("as_of", str, description="YYYY-MM-DD; default the latest")],
                   responses={200: RfmSnapshotSerializer, **api_errors(400, 401, 403, 404)})
    def get(self, request, member_no: str):
        scope.require_perm(request.user, "evaluation.view_rfmsnapshot")
        member = member_for_caller(request, member_no)
        snapshot = selectors.rfm_for_member(member=member, as_of=_day(request.query_params.get("as_of"), "as_of"))
        if snapshot is None:
            raise NotFound(_("The member has no RFM snapshot for that date."), code="no_snapshot")
        return Response(RfmSnapshotSerializer(snapshot).data)


class MovementSerializer(serializers.Serializer):
    from_as_of = serializers.DateField()
    to_as_of = serializers.DateField()
    classes = serializers.ListField(child=serializers.CharField(),
                                    help_text="row and column order; 'out' = not in that date's population")
    class_names = serializers.ListField(child=serializers.CharField())
    matrix = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                   help_text="matrix[i][j] = members in classes[i] on from_as_of and classes[j] on to_as_of")
    total = serializers.IntegerField()


def class_names(classes: list[str]) -> list[str]:
    return [RFM_CHINESE_NAMES[RfmClass(c)] if c in RfmClass.values else str(_("Not in the population"))
            for c in classes]


class RfmMovementApi(APIView):
    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="rfm_movement",
                   parameters=[OpenApiParameter("from", str, required=True), OpenApiParameter("to", str, required=True),
                               OpenApiParameter("store", str, description="store code"),
                               OpenApiParameter("tier", str, description="tier code")],
                   responses={200: MovementSerializer, **api_errors(400, 401, 403, 404)})
    def get(self, request):
        scope.require_perm(request.user, "evaluation.view_rfmsnapshot")
        q = request.query_params
        store_ids = scoped_store_ids(request.user, q.get("store"))
        tier_ids = None
        if q.get("tier"):
            tier_ids = list(Tier.objects.filter(code=q["tier"]).values_list("pk", flat=True))
            if not tier_ids:
                raise NotFound(_("No such tier."))
        movement = selectors.rfm_movement(from_as_of=_day(q.get("from"), "from", required=True),
                                          to_as_of=_day(q.get("to"), "to", required=True),
                                          store_ids=store_ids, tier_ids=tier_ids)
        return Response(MovementSerializer({
            "from_as_of": movement.from_as_of, "to_as_of": movement.to_as_of, "classes": movement.classes,
            "class_names": class_names(movement.classes), "matrix": movement.matrix(), "total": movement.total,
        }).data)


class SegmentCountSerializer(serializers.Serializer):
    segment = serializers.IntegerField()
    name = serializers.CharField()
    members = serializers.IntegerField(help_text="active members of the caller's stores the segment selects")


class SegmentCountApi(APIView):
    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="segment_count",
                   parameters=[OpenApiParameter("as_of", str, description="snapshot date; default the latest")],
                   responses={200: SegmentCountSerializer, **api_errors(400, 401, 403, 404)})
    def get(self, request, pk: int):
        scope.require_perm(request.user, "evaluation.view_segment")
        segment = Segment.objects.filter(pk=pk).first()
        if segment is None:
            raise NotFound(_("No such segment."))
        count = selectors.segment_count_for_staff(segment=segment, store_ids=scope.store_ids(request.user),
                                                  as_of=_day(request.query_params.get("as_of"), "as_of"))
        return Response(SegmentCountSerializer({"segment": segment.pk, "name": segment.name, "members": count}).data)
