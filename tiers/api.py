"""Tier API (TIER-2..5): a member's tier status and history for tills and staff; the operations
queue of proposals (approve / reject, single and bulk) and manual grants for staff."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import IdField, IsDevice, IsStaffUser, PlainDecimalField, api_errors, device_of
from core.errors import NotFound, ValidationFailed
from members import scope
from members.callers import member_for_caller
from members.models import Tier
from members.serializers import TierRefSerializer

from . import selectors, services
from .models import TierChange, TierProposal

TAGS = ["tiers"]


class TierStatusSerializer(serializers.Serializer):
    member_no = serializers.CharField(source="member.member_no")
    tier = TierRefSerializer()
    since = serializers.DateField(allow_null=True)
    protected_until = serializers.DateField(allow_null=True, help_text="last day no downgrade can happen")
    floor = TierRefSerializer(allow_null=True, help_text="manual tier the member cannot drop below")
    floor_until = serializers.DateField(allow_null=True)
    rolling_amount = PlainDecimalField(max_digits=12, decimal_places=2,
                                              help_text="paid in the last 12 months, refunds deducted")
    rolling_visits = serializers.IntegerField()
    next_tier = TierRefSerializer(allow_null=True)
    amount_to_next = PlainDecimalField(max_digits=12, decimal_places=2, allow_null=True)
    visits_to_next = serializers.IntegerField(allow_null=True)
    pending_proposal = serializers.SerializerMethodField()

    def get_pending_proposal(self, obj) -> int | None:
        return obj.pending_proposal.pk if obj.pending_proposal else None


class MemberTierStatusApi(APIView):
    """Current tier, since when, protection, rolling 12-month amount and what the next tier needs."""

    permission_classes = [IsDevice | IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="member_tier", responses={200: TierStatusSerializer,
                                                                    **api_errors(401, 403, 404)})
    def get(self, request, member_no: str):
        member = member_for_caller(request, member_no)
        return Response(TierStatusSerializer(selectors.tier_status_for_member(member=member)).data)


class TierChangeSerializer(serializers.ModelSerializer):
    from_tier = TierRefSerializer()
    to_tier = TierRefSerializer()
    kind_label = serializers.CharField(source="get_kind_display")
    decided_by = serializers.CharField(source="decided_by.get_username", default=None)

    class Meta:
        model = TierChange
        fields = ["id", "kind", "kind_label", "from_tier", "to_tier", "effective_on", "reason", "rolling_amount",
                  "rolling_visits", "floor_until", "decided_by", "created_at"]


class MemberTierHistoryApi(generics.ListAPIView):
    """Every tier change of the member, newest first (TIER-5)."""

    permission_classes = [IsDevice | IsStaffUser]
    serializer_class = TierChangeSerializer

    @extend_schema(tags=TAGS, operation_id="member_tier_history",
                   responses={200: TierChangeSerializer(many=True), **api_errors(401, 403, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TierChange.objects.none()
        member = member_for_caller(self.request, self.kwargs["member_no"])
        if device_of(self.request) is None:
            scope.require_perm(self.request.user, "tiers.view_tierchange")
        return selectors.tier_change_list_for_member(member=member)


class MemberTierGrantApi(APIView):
    """Grant a tier by hand until a date (a floor); lifts the member now if below it."""

    permission_classes = [IsStaffUser]

    class InputSerializer(serializers.Serializer):
        tier = serializers.CharField(help_text="tier code")
        until = serializers.DateField()
        reason = serializers.CharField(max_length=500)

        class Meta:
            ref_name = "TierGrantInput"

    @extend_schema(tags=TAGS, operation_id="member_tier_grant", request=InputSerializer,
                   responses={201: TierChangeSerializer, **api_errors(400, 401, 403, 404)})
    def post(self, request, member_no: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        member = member_for_caller(request, member_no)
        tier = Tier.objects.filter(code=v["tier"]).first()
        if tier is None:
            raise ValidationFailed(_("Unknown tier."), fields={"tier": [_("Unknown tier.")]})
        change = services.tier_floor_grant(member=member, tier=tier, until=v["until"], reason=v["reason"],
                                           staff=request.user)
        return Response(TierChangeSerializer(change).data, status=201)


class TierProposalSerializer(serializers.ModelSerializer):
    member_no = serializers.CharField(source="member.member_no")
    member_name = serializers.SerializerMethodField()
    store = serializers.CharField(source="member.home_store.code")
    from_tier = TierRefSerializer()
    to_tier = TierRefSerializer()
    decided_by = serializers.CharField(source="decided_by.get_username", default=None)

    class Meta:
        model = TierProposal
        fields = ["id", "member_no", "member_name", "store", "kind", "from_tier", "to_tier", "rolling_amount",
                  "rolling_visits", "created_on", "effective_on", "status", "decided_by", "decided_at", "reason"]

    def get_member_name(self, obj) -> str:
        from core import crypto

        return crypto.mask_text(obj.member.name, keep=1)


def _require_queue(request) -> None:
    scope.require_perm(request.user, "tiers.view_tierproposal")


class TierProposalListApi(generics.ListAPIView):
    """The operations manager's queue; staff who are not chain-wide see their store's members only."""

    permission_classes = [IsStaffUser]
    serializer_class = TierProposalSerializer
    filterset_fields = []

    @extend_schema(tags=TAGS, operation_id="tier_proposals", parameters=[OpenApiParameter(
        "status", enum=[s.value for s in TierProposal.Status], default="pending")],
        responses={200: TierProposalSerializer(many=True), **api_errors(401, 403)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TierProposal.objects.none()
        _require_queue(self.request)
        status = self.request.query_params.get("status", TierProposal.Status.PENDING)
        if status not in TierProposal.Status.values:
            raise ValidationFailed(_("Unknown status."), fields={"status": [_("Unknown status.")]})
        return selectors.tier_proposal_list_for_staff(user=self.request.user, status=status)


class DecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "TierDecisionInput"


def _proposal_in_scope(request, pk: int) -> TierProposal:
    proposal = selectors.tier_proposal_list_for_staff(user=request.user, status=None).filter(pk=pk).first()
    if proposal is None:
        raise NotFound(_("No such tier proposal."))
    return proposal


class TierProposalApproveApi(APIView):
    """Approve: the change is applied, recorded and announced (409 if already decided or stale)."""

    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="tier_proposal_approve", request=DecisionInputSerializer,
                   responses={200: TierChangeSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = _proposal_in_scope(request, pk)
        change = services.tier_proposal_approve(proposal=proposal, staff=request.user,
                                                reason=data.validated_data["reason"])
        return Response(TierChangeSerializer(change).data)


class TierProposalRejectApi(APIView):
    """Reject with a reason; the member keeps the tier."""

    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="tier_proposal_reject", request=DecisionInputSerializer,
                   responses={200: TierProposalSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = _proposal_in_scope(request, pk)
        proposal = services.tier_proposal_reject(proposal=proposal, staff=request.user,
                                                 reason=data.validated_data["reason"])
        return Response(TierProposalSerializer(selectors.tier_proposal_list_for_staff(
            user=request.user, status=None).get(pk=proposal.pk)).data)


class TierProposalBulkDecideApi(APIView):
    """Approve or reject many proposals at once; each succeeds or fails on its own."""

    permission_classes = [IsStaffUser]

    class InputSerializer(serializers.Serializer):
        ids = serializers.ListField(child=IdField(), min_length=1, max_length=1000)
        approve = serializers.BooleanField()
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "TierBulkDecisionInput"

    class OutputSerializer(serializers.Serializer):
        done = serializers.ListField(child=serializers.IntegerField())
        errors = serializers.DictField(child=serializers.CharField(), help_text="proposal id -> message")

    @extend_schema(tags=TAGS, operation_id="tier_proposals_decide", request=InputSerializer,
                   responses={200: OutputSerializer, **api_errors(400, 401, 403)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.tier_proposals_decide(proposal_ids=v["ids"], staff=request.user, approve=v["approve"],
                                                reason=v["reason"])
        return Response(self.OutputSerializer({"done": result.done,
                                               "errors": {str(k): m for k, m in result.errors.items()}}).data)
