"""Staff REST API of complaints (SD-1..3), under /api/v1/complaints/.

Staff sessions only, scoped to the staff member's stores: a complaint of another store answers 404
like a missing one. Members see their complaints on the portal only (no member API). Writes go
through service_desk.services; domain errors become {"code", "detail", "fields"} (core.api)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import BoundedLimitOffsetPagination, IsStaffUser, api_errors, paginated
from core.errors import ValidationFailed
from members import scope
from members.models import Member

from . import after_sales, selectors, services
from .models import (
    AfterSalesKind,
    AfterSalesPriority,
    AfterSalesStatus,
    ComplaintCategory,
    ComplaintStatus,
    Department,
    Severity,
)

TAGS = ["service desk"]


def _store_filter(user, code: str) -> int | None:
    """The queue filter's store id for a store code within the caller's stores: None without a code,
    -1 (matches nothing) for a code outside them."""
    if not code:
        return None
    store = scope.stores_for(user).filter(code=code).first()
    return store.pk if store else -1


class ClockSerializer(serializers.Serializer):
    label = serializers.CharField()
    due = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)
    state = serializers.ChoiceField(choices=["met", "late", "open", "overdue"])
    minutes = serializers.IntegerField(help_text="Minutes left (open) or over (overdue / late)")
    text = serializers.CharField()
    due_text = serializers.CharField(help_text="The deadline as told to the customer: Chinese, Shanghai time")

    class Meta:
        ref_name = "ComplaintClock"


class ComplaintOutputSerializer(serializers.Serializer):
    class StoreSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()

        class Meta:
            ref_name = "ComplaintStore"

    class EventSerializer(serializers.Serializer):
        at = serializers.DateTimeField()
        action = serializers.CharField()
        from_status = serializers.CharField()
        to_status = serializers.CharField()
        actor_label = serializers.CharField()
        note = serializers.CharField()

        class Meta:
            ref_name = "ComplaintEventOut"

    id = serializers.IntegerField()
    channel = serializers.CharField(help_text="desk, hotline, portal, wechat or email")
    category = serializers.CharField(help_text="quality, attitude, payment, returns or other")
    severity = serializers.CharField(help_text="normal, serious or urgent")
    # Plain strings: enums named `status` would collide with Member.Status in the schema.
    status = serializers.CharField(help_text="received, accepted, in_progress, replied or closed")
    store = StoreSerializer()
    member_no = serializers.CharField(source="member.member_no", allow_null=True, default=None)
    contact_name = serializers.CharField()
    order_no = serializers.CharField()
    description = serializers.CharField()
    department = serializers.CharField(source="department.name", allow_null=True, default=None)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    received_at = serializers.DateTimeField()
    accept_due = serializers.DateTimeField()
    reply_due = serializers.DateTimeField()
    close_due = serializers.DateTimeField()
    clocks = serializers.SerializerMethodField()

    class Meta:
        ref_name = "ComplaintOut"

    @extend_schema_field(ClockSerializer(many=True))
    def get_clocks(self, obj):
        return ClockSerializer(selectors.complaint_clocks(obj), many=True).data


class ComplaintDetailSerializer(ComplaintOutputSerializer):
    reply = serializers.CharField()
    events = ComplaintOutputSerializer.EventSerializer(many=True, source="events.all")

    class Meta:
        ref_name = "ComplaintDetailOut"


def _department(value):
    if value in (None, ""):
        return None
    department = Department.objects.filter(pk=value, is_active=True).first() if str(value).isdigit() else \
        Department.objects.filter(name=value, is_active=True).first()
    if department is None:
        raise ValidationFailed(_("Unknown department."), fields={"department": [_("No such department.")]})
    return department


def _assignee(user, value):
    if value in (None, ""):
        return None
    qs = get_user_model().objects.filter(is_active=True, is_staff=True, username=value)
    ids = scope.store_ids(user)
    if ids is not None:
        qs = qs.filter(staff_profile__store_id__in=ids)
    assignee = qs.first()
    if assignee is None:
        raise ValidationFailed(_("Unknown staff member."), fields={"assignee": [_("No such staff member in your store.")]})
    return assignee


class ComplaintListCreateApi(APIView):
    """Staff: the complaint queue of their stores (nearest deadline first) and intake."""

    permission_classes = [IsStaffUser]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ComplaintStatus.choices, required=False)
        category = serializers.ChoiceField(choices=ComplaintCategory.choices, required=False)
        store = serializers.CharField(required=False, help_text="Store code")
        include_closed = serializers.BooleanField(required=False, default=False)

        class Meta:
            ref_name = "ComplaintFilter"

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=services.STAFF_CHANNEL_CHOICES)
        category = serializers.ChoiceField(choices=ComplaintCategory.choices)
        severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.NORMAL)
        store = serializers.CharField(required=False, max_length=16,
                                      help_text="Store code; default the staff member's store")
        member_no = serializers.CharField(required=False, allow_blank=True, max_length=20)
        contact_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
        order_no = serializers.CharField(required=False, allow_blank=True, max_length=40)
        description = serializers.CharField()
        department = serializers.CharField(required=False, allow_blank=True, help_text="Department id or name")
        assignee = serializers.CharField(required=False, allow_blank=True, help_text="Staff username")
        request_id = serializers.CharField(required=False, max_length=64,
                                           help_text="Idempotency key: a repeated request returns the same complaint")

        class Meta:
            ref_name = "ComplaintCreateInput"

    @extend_schema(
        tags=TAGS, operation_id="complaints_list", summary="Complaint queue (staff, own stores)",
        parameters=[FilterSerializer, OpenApiParameter("limit", int, description="page size, at most 200"),
                    OpenApiParameter("offset", int)],
        responses={200: paginated(ComplaintOutputSerializer, "ComplaintPage"), **api_errors(400, 401, 403)},
    )
    def get(self, request):
        scope.require_perm(request.user, "service_desk.view_complaint")
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        store_id = _store_filter(request.user, values.get("store", ""))
        qs = selectors.complaint_queue(request.user, status=values.get("status", ""), store_id=store_id,
                                       category=values.get("category", ""),
                                       open_only=not values.get("include_closed"))
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ComplaintOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=TAGS, operation_id="complaints_create", summary="Record a complaint (desk, hotline, WeChat, e-mail)",
        description="Deadlines are set at intake from the time-limit policy (category × severity, shortened per "
                    "tier). A walk-in without `member_no` needs `contact_name`.",
        request=InputSerializer,
        responses={201: ComplaintDetailSerializer, **api_errors(400, 401, 403, 404)},
        examples=[OpenApiExample("Hotline", request_only=True, value={
            "channel": "hotline", "category": "returns", "severity": "normal", "member_no": "860000000125",
            "order_no": "S001-20261123-0042", "description": "退货被拒绝，店员态度不好"})],
    )
    def post(self, request):
        scope.require_perm(request.user, "service_desk.add_complaint")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("store"):
            store = scope.stores_for(request.user).filter(code=values["store"]).first()
            if store is None:
                raise ValidationFailed(_("Unknown store."), fields={"store": [_("No such store in your scope.")]})
        else:
            store = scope.staff_store(request.user)
            if store is None:
                raise ValidationFailed(_("Choose the store."), fields={"store": [_("Required.")]})
        member = None
        if values.get("member_no"):
            member = Member.objects.filter(member_no=values["member_no"]).first()
            if member is None:
                raise ValidationFailed(_("No such member."), fields={"member_no": [_("No such member.")]})
        complaint = services.complaint_file(
            channel=values["channel"], category=values["category"], severity=values["severity"], store=store,
            member=member, description=values["description"], order_no=values.get("order_no", ""),
            contact_name=values.get("contact_name", ""), department=_department(values.get("department")),
            assignee=_assignee(request.user, values.get("assignee")), staff=request.user,
            request_id=values.get("request_id"),
        )
        complaint = selectors.complaint_get_for_staff(request.user, complaint.pk)
        return Response(ComplaintDetailSerializer(complaint).data, status=status.HTTP_201_CREATED)


class ComplaintDetailApi(APIView):
    permission_classes = [IsStaffUser]

    @extend_schema(
        tags=TAGS, operation_id="complaints_retrieve", summary="Complaint with clocks and its log (staff)",
        responses={200: ComplaintDetailSerializer, **api_errors(401, 403, 404)},
    )
    def get(self, request, complaint_id: int):
        scope.require_perm(request.user, "service_desk.view_complaint")
        complaint = selectors.complaint_get_for_staff(request.user, complaint_id)
        return Response(ComplaintDetailSerializer(complaint).data)


class ComplaintTransitionApi(APIView):
    permission_classes = [IsStaffUser]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=list(services.WORKFLOW_ACTIONS))
        note = serializers.CharField(required=False, allow_blank=True,
                                     help_text="Reply text (reply), reason (reopen), note otherwise")
        department = serializers.CharField(required=False, allow_blank=True, help_text="transfer: id or name")
        assignee = serializers.CharField(required=False, allow_blank=True, help_text="transfer: staff username")

        class Meta:
            ref_name = "ComplaintTransitionInput"

    @extend_schema(
        tags=TAGS, operation_id="complaints_transition",
        summary="Move a complaint through its workflow (accept, start, transfer, reply, close, reopen)",
        description="received → accepted → in_progress (transfer) → replied → closed; reopen from replied or "
                    "closed. Any other step answers 409 `illegal_transition`. Every step is logged.",
        request=InputSerializer,
        parameters=[OpenApiParameter("complaint_id", int, OpenApiParameter.PATH)],
        responses={200: ComplaintDetailSerializer, **api_errors(400, 401, 403, 404, 409)},
        examples=[OpenApiExample("Illegal", response_only=True, status_codes=["409"], value={
            "code": "illegal_transition", "detail": "A complaint that is Received cannot be closed."})],
    )
    def post(self, request, complaint_id: int):
        scope.require_perm(request.user, "service_desk.handle_complaint")
        complaint = selectors.complaint_get_for_staff(request.user, complaint_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.complaint_transition(
            complaint=complaint, action=values["action"], staff=request.user, note=values.get("note", ""),
            department=_department(values.get("department")), assignee=_assignee(request.user, values.get("assignee")),
        )
        complaint = selectors.complaint_get_for_staff(request.user, complaint_id)
        return Response(ComplaintDetailSerializer(complaint).data)


# ---------------------------------------------------------------- after-sales cases (SD-7)


class AfterSalesOutputSerializer(serializers.Serializer):
    class HandoffSerializer(serializers.Serializer):
        vendor = serializers.CharField()
        reference = serializers.CharField()
        sent_at = serializers.DateTimeField()
        returned_at = serializers.DateTimeField(allow_null=True)
        return_note = serializers.CharField()

        class Meta:
            ref_name = "AfterSalesHandoffOut"

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="repair, exchange or inspection")
    priority = serializers.CharField(help_text="standard or urgent")
    status = serializers.CharField(help_text="received, in_progress, at_vendor or closed")
    channel = serializers.CharField()
    store = ComplaintOutputSerializer.StoreSerializer()
    member_no = serializers.CharField(source="member.member_no", allow_null=True, default=None)
    contact_name = serializers.CharField()
    order_no = serializers.CharField()
    product = serializers.CharField()
    description = serializers.CharField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    received_at = serializers.DateTimeField()
    respond_due = serializers.DateTimeField()
    resolve_due = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    satisfaction_due = serializers.DateTimeField(allow_null=True)
    satisfaction_score = serializers.IntegerField(allow_null=True)
    clocks = serializers.SerializerMethodField()
    handoffs = HandoffSerializer(many=True, source="handoffs.all")

    class Meta:
        ref_name = "AfterSalesOut"

    @extend_schema_field(ClockSerializer(many=True))
    def get_clocks(self, obj):
        return ClockSerializer(selectors.after_sales_clocks(obj), many=True).data


AFTER_SALES_TAGS = ["after-sales"]


class AfterSalesListCreateApi(APIView):
    """Staff: open after-sales cases of their stores (nearest deadline first) and intake."""

    permission_classes = [IsStaffUser]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=AfterSalesStatus.choices, required=False)
        kind = serializers.ChoiceField(choices=AfterSalesKind.choices, required=False)
        store = serializers.CharField(required=False, max_length=16, help_text="Store code")

        class Meta:
            ref_name = "AfterSalesFilter"

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=AfterSalesKind.choices)
        priority = serializers.ChoiceField(choices=AfterSalesPriority.choices, default=AfterSalesPriority.STANDARD)
        channel = serializers.ChoiceField(choices=services.STAFF_CHANNEL_CHOICES)
        store = serializers.CharField(required=False, max_length=16,
                                      help_text="Store code; default the staff member's store")
        member_no = serializers.CharField(required=False, allow_blank=True, max_length=20)
        contact_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
        order_no = serializers.CharField(required=False, allow_blank=True, max_length=40)
        product = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=2000)
        request_id = serializers.CharField(required=False, max_length=64,
                                           help_text="Idempotency key: a repeated request returns the same case")

        class Meta:
            ref_name = "AfterSalesCreateInput"

    @extend_schema(
        tags=AFTER_SALES_TAGS, operation_id="after_sales_list", summary="After-sales queue (staff, own stores)",
        parameters=[FilterSerializer, OpenApiParameter("limit", int, description="page size, at most 200"),
                    OpenApiParameter("offset", int)],
        responses={200: paginated(AfterSalesOutputSerializer, "AfterSalesPage"), **api_errors(400, 401, 403)},
    )
    def get(self, request):
        scope.require_perm(request.user, "service_desk.view_aftersalescase")
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        store_id = _store_filter(request.user, values.get("store", ""))
        qs = selectors.after_sales_queue(request.user, status=values.get("status", ""), kind=values.get("kind", ""),
                                         store_id=store_id).prefetch_related("handoffs")
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(AfterSalesOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=AFTER_SALES_TAGS, operation_id="after_sales_create",
        summary="Record an after-sales case (repair, exchange, quality inspection)",
        description="Respond and resolve deadlines are set at intake from the kind × priority policy "
                    "(standard: 24 h / 48 h). A walk-in without `member_no` needs `contact_name`.",
        request=InputSerializer,
        responses={201: AfterSalesOutputSerializer, **api_errors(400, 401, 403, 404)},
    )
    def post(self, request):
        scope.require_perm(request.user, "service_desk.add_aftersalescase")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("store"):
            store = scope.stores_for(request.user).filter(code=values["store"]).first()
            if store is None:
                raise ValidationFailed(_("Unknown store."), fields={"store": [_("No such store in your scope.")]})
        else:
            store = scope.staff_store(request.user)
            if store is None:
                raise ValidationFailed(_("Choose the store."), fields={"store": [_("Required.")]})
        member = None
        if values.get("member_no"):
            member = Member.objects.filter(member_no=values["member_no"]).first()
            if member is None:
                raise ValidationFailed(_("No such member."), fields={"member_no": [_("No such member.")]})
        case = after_sales.after_sales_open(
            kind=values["kind"], priority=values["priority"], channel=values["channel"], store=store, member=member,
            product=values["product"], description=values["description"], order_no=values.get("order_no", ""),
            contact_name=values.get("contact_name", ""), staff=request.user, request_id=values.get("request_id"),
        )
        case = selectors.after_sales_get_for_staff(request.user, case.pk)
        return Response(AfterSalesOutputSerializer(case).data, status=status.HTTP_201_CREATED)


class AfterSalesDetailApi(APIView):
    permission_classes = [IsStaffUser]

    @extend_schema(
        tags=AFTER_SALES_TAGS, operation_id="after_sales_retrieve", summary="After-sales case with clocks (staff)",
        responses={200: AfterSalesOutputSerializer, **api_errors(401, 403, 404)},
    )
    def get(self, request, case_id: int):
        scope.require_perm(request.user, "service_desk.view_aftersalescase")
        return Response(AfterSalesOutputSerializer(selectors.after_sales_get_for_staff(request.user, case_id)).data)


class AfterSalesActionApi(APIView):
    permission_classes = [IsStaffUser]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["respond", "handoff", "return", "close"])
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                     help_text="What the customer was told (respond), the vendor's outcome (return), "
                                               "the resolution (close)")
        vendor = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="handoff: to whom")
        reference = serializers.CharField(required=False, allow_blank=True, max_length=60,
                                          help_text="handoff: the vendor's reference")

        class Meta:
            ref_name = "AfterSalesActionInput"

    @extend_schema(
        tags=AFTER_SALES_TAGS, operation_id="after_sales_action",
        summary="Move an after-sales case (respond, hand off to a vendor, back from the vendor, close)",
        description="received → in_progress ⇄ at_vendor → closed. Any other step answers 409 `illegal_transition`.",
        request=InputSerializer,
        parameters=[OpenApiParameter("case_id", int, OpenApiParameter.PATH)],
        responses={200: AfterSalesOutputSerializer, **api_errors(400, 401, 403, 404, 409)},
    )
    def post(self, request, case_id: int):
        scope.require_perm(request.user, "service_desk.handle_aftersalescase")
        case = selectors.after_sales_get_for_staff(request.user, case_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v, staff = data.validated_data, request.user
        note = v.get("note", "")
        if v["action"] == "respond":
            after_sales.after_sales_respond(case=case, staff=staff, note=note)
        elif v["action"] == "handoff":
            after_sales.after_sales_handoff(case=case, staff=staff, vendor=v.get("vendor", ""),
                                            reference=v.get("reference", ""), note=note)
        elif v["action"] == "return":
            after_sales.after_sales_return(case=case, staff=staff, note=note)
        else:
            after_sales.after_sales_close(case=case, staff=staff, resolution=note)
        return Response(AfterSalesOutputSerializer(selectors.after_sales_get_for_staff(request.user, case_id)).data)
