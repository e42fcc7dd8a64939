"""Care API for staff apps (SD-5, SD-6): visit list and outcome (store-scoped), survey list and
the CSI report data. Staff sessions only; a visit of another store answers 404 like a missing one."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import crypto
from core.api import IsStaffUser, api_errors
from core.errors import ValidationFailed
from members import scope

from . import selectors
from .models import Survey, Visit
from .services.visits import visit_record_outcome

TAGS = ["care"]


class VisitSerializer(serializers.ModelSerializer):
    member_no = serializers.CharField(source="member.member_no")
    member_name = serializers.SerializerMethodField()
    member_mobile = serializers.CharField(source="member.mobile_masked")
    tier = serializers.CharField(source="member.tier.code")
    store = serializers.CharField(source="store.code")
    assignee = serializers.CharField(source="assignee.get_username", default=None)
    overdue = serializers.BooleanField(help_text="open and past its due date")

    class Meta:
        model = Visit
        fields = ["id", "member_no", "member_name", "member_mobile", "tier", "store", "reason", "source_ref",
                  "period_start", "due_on", "assignee", "status", "overdue", "outcome", "attempts", "retry_on",
                  "satisfaction", "feedback", "follow_up_needed", "done_at"]

    def get_member_name(self, obj) -> str:
        return crypto.mask_text(obj.member.name, keep=1)


class VisitListApi(generics.ListAPIView):
    """Visits of the caller (scope=mine, default) or of their store (scope=store), soonest due first."""

    permission_classes = [IsStaffUser]
    serializer_class = VisitSerializer

    @extend_schema(tags=TAGS, operation_id="care_visits", parameters=[
        OpenApiParameter("scope", enum=["mine", "store"], default="mine"),
        OpenApiParameter("status", enum=[s.value for s in Visit.Status], required=False),
        OpenApiParameter("overdue", bool, required=False),
    ], responses={200: VisitSerializer(many=True), **api_errors(400, 401, 403)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Visit.objects.none()
        params = self.request.query_params
        scope.require_perm(self.request.user, "care.view_visit")
        which = params.get("scope", "mine")
        status = params.get("status") or None
        overdue = params.get("overdue")
        if which not in ("mine", "store") or (status and status not in Visit.Status.values) or \
                overdue not in (None, "true", "false"):
            raise ValidationFailed(_("Unknown filter value."),
                                   fields={"query": [_("scope: mine|store, status: open|done|unreachable, overdue: true|false")]})
        return selectors.visit_list_for_staff(
            self.request.user, mine=which == "mine", status=status,
            overdue=None if overdue is None else overdue == "true")


class VisitOutcomeApi(APIView):
    """Record the outcome of a visit (once; a second time is 409)."""

    permission_classes = [IsStaffUser]

    class InputSerializer(serializers.Serializer):
        reached = serializers.BooleanField()
        satisfaction = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True,
                                                default=None)
        feedback = serializers.CharField(required=False, allow_blank=True, default="")
        follow_up_needed = serializers.BooleanField(required=False, default=False)

        class Meta:
            ref_name = "VisitOutcomeInput"

    @extend_schema(tags=TAGS, operation_id="care_visit_outcome", request=InputSerializer,
                   responses={200: VisitSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visit_record_outcome(visit_id=pk, staff=request.user, **data.validated_data)
        return Response(VisitSerializer(selectors.visit_get_for_staff(request.user, pk)).data)


class SurveySerializer(serializers.ModelSerializer):
    is_open = serializers.SerializerMethodField()
    questions = serializers.IntegerField(source="n_questions", read_only=True)
    responses = serializers.IntegerField(source="n_responses", read_only=True)

    class Meta:
        model = Survey
        fields = ["id", "title", "anonymous", "opens_at", "closes_at", "satisfied_threshold", "distributed_at",
                  "is_open", "questions", "responses"]

    def get_is_open(self, obj) -> bool:
        return obj.is_open()


class SurveyListApi(generics.ListAPIView):
    permission_classes = [IsStaffUser]
    serializer_class = SurveySerializer

    @extend_schema(tags=TAGS, operation_id="care_surveys", responses={200: SurveySerializer(many=True),
                                                                     **api_errors(401, 403)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Survey.objects.none()
        from django.db.models import Count

        scope.require_perm(self.request.user, "care.view_survey")
        return selectors.survey_list_for_staff(self.request.user).annotate(
            n_questions=Count("questions", distinct=True), n_responses=Count("responses", distinct=True))


class CsiRowSerializer(serializers.Serializer):
    answered = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    csi = serializers.FloatField(allow_null=True, help_text="percent, one decimal; null when nobody answered")


class StoreCsiSerializer(CsiRowSerializer):
    store_id = serializers.IntegerField()
    store = serializers.CharField()


class PeriodCsiSerializer(CsiRowSerializer):
    period = serializers.CharField(help_text="YYYY-MM, Asia/Shanghai")


class DimensionCsiSerializer(CsiRowSerializer):
    dimension = serializers.CharField()
    label = serializers.CharField()


class StoreDimensionCsiSerializer(DimensionCsiSerializer):
    store_id = serializers.IntegerField()
    store = serializers.CharField()


class SurveyRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Survey
        fields = ["id", "title", "anonymous", "opens_at", "closes_at"]
        ref_name = "CareSurveyRef"


class SurveyReportSerializer(serializers.Serializer):
    survey = SurveyRefSerializer()
    threshold = serializers.IntegerField()
    overall = CsiRowSerializer()
    by_store = StoreCsiSerializer(many=True)
    by_period = PeriodCsiSerializer(many=True)
    by_dimension = DimensionCsiSerializer(many=True)
    by_store_dimension = StoreDimensionCsiSerializer(many=True)


class SurveyReportApi(APIView):
    """CSI of the survey overall, per store, per month and per dimension (the caller's stores only)."""

    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="care_survey_report",
                   responses={200: SurveyReportSerializer, **api_errors(401, 403, 404)})
    def get(self, request, pk: int):
        scope.require_perm(request.user, "care.view_survey_report")
        report = selectors.survey_report(selectors.survey_get(pk), store_ids=scope.store_ids(request.user))
        return Response(SurveyReportSerializer(report).data)
