"""Till and staff API of the points ledger (PTS-5, PTS-8, PTS-9)."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import BoundedLimitOffsetPagination, PlainDecimalField, api_errors, device_of, paginated
from core.errors import NotFound
from members import scope, selectors
from members.callers import caller_store, member_for_caller
from members.models import Store

from .models import Entry, Lot, PointsAccount, Purchase, Refund
from .selectors import points_summary, purchase_details, purchase_get_for_member, purchase_list_for_member
from .services.purchases import purchase_post, refund_post

TAGS = ["points"]


class MemberRefSerializer(serializers.Serializer):
    card = serializers.CharField(required=False, allow_blank=True)
    mobile = serializers.CharField(required=False, allow_blank=True)
    qr = serializers.CharField(required=False, allow_blank=True)


class LineSerializer(serializers.Serializer):
    brand = serializers.CharField(required=False, allow_blank=True, max_length=64)
    category = serializers.CharField(required=False, allow_blank=True, max_length=64)
    amount = PlainDecimalField(max_digits=12, decimal_places=2)
    # Issue 18: a line of kind "membership_fee" buys or renews the paid plan `plan` (its code) and earns no
    # points. Omitted = goods (and left out of the stored line, so retries of older bodies still match).
    kind = serializers.ChoiceField(choices=["goods", "membership_fee"], required=False)
    plan = serializers.CharField(required=False, max_length=32, help_text="plan code, for a membership_fee line")


class TenderSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["cash", "bank_card", "wechat", "alipay", "unionpay", "other",
                                            "coupon", "gift_card", "points"])
    amount = PlainDecimalField(max_digits=12, decimal_places=2, min_value=0)


class PurchaseOutputSerializer(serializers.ModelSerializer):
    store = serializers.CharField(source="store.code")
    member_no = serializers.CharField(source="member.member_no", allow_null=True,
                                      help_text="null: a sale posted without a member, claimable afterwards")
    balance = serializers.SerializerMethodField()

    class Meta:
        model = Purchase
        fields = ["order_no", "store", "member_no", "occurred_at", "amount_total", "amount_paid", "points_earned",
                  "points_held", "campaigns", "amount_refunded", "points_reversed", "balance"]
        extra_kwargs = {"points_held": {"help_text": "points of a pending sign-up's sale, credited when the sign-up "
                                                     "is approved (0 otherwise)"}}

    def get_balance(self, obj) -> int:
        if obj.member_id is None:
            return 0
        account = PointsAccount.objects.filter(member_id=obj.member_id).first()
        return account.balance if account else 0


def _member_for_post(request, ref: dict):
    qs = (selectors.member_list_for_till(with_pending=True) if device_of(request) is not None
          else selectors.member_list_for_staff(request.user))
    return selectors.member_by_reference(qs, **{k: v for k, v in ref.items() if v})


class PurchaseCreateApi(APIView):
    """Post a till purchase. Idempotent on (store, order_no): a retry returns the first result (200);
    the same order number with different content is 409 `idempotency_conflict`."""

    class InputSerializer(serializers.Serializer):
        member = MemberRefSerializer(
            required=False, allow_null=True,
            help_text="omit (or null) for a customer without a member card: the sale is stored, earns nothing, "
                      "and the member can claim it later (补积分) with store, order number, date and bill amount")
        store = serializers.CharField(required=False, help_text="store code; a till's own store by default")
        order_no = serializers.CharField(max_length=64)
        occurred_at = serializers.DateTimeField()
        lines = LineSerializer(many=True, min_length=1, max_length=200)
        tenders = TenderSerializer(many=True, min_length=1, max_length=20)

        class Meta:
            ref_name = "PurchaseInput"

    @extend_schema(
        tags=TAGS, operation_id="purchases_create", request=InputSerializer,
        responses={201: PurchaseOutputSerializer, 200: PurchaseOutputSerializer, **api_errors(400, 401, 403, 404, 409)},
        examples=[OpenApiExample("Purchase", request_only=True, value={
            "member": {"card": "860001000011"}, "order_no": "POS1-20261123-0001",
            "occurred_at": "2026-11-23T10:15:00+08:00",
            "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"}],
            "tenders": [{"type": "wechat", "amount": "580.00"}, {"type": "coupon", "amount": "100.00"}]})],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.add_purchase")
        member = _member_for_post(request, v["member"]) if v.get("member") is not None else None
        result = purchase_post(
            store=store, order_no=v["order_no"], member=member, occurred_at=v["occurred_at"],
            lines=[{**line, "amount": str(line["amount"])} for line in v["lines"]],
            tenders=[{**t, "amount": str(t["amount"])} for t in v["tenders"]],
        )
        return Response(PurchaseOutputSerializer(result.purchase).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class CouponNotReinstatedSerializer(serializers.Serializer):
    code = serializers.CharField()
    reason = serializers.CharField()

    class Meta:
        ref_name = "RefundCouponNotReinstated"


class RefundCreateApi(APIView):
    """Refund all or part of an earlier purchase (PTS-5). Idempotent on (store, refund_no).

    The amount is in terms of the bill (`amount_total`, before coupons, gift cards and points), so the
    refunded share is refunded / amount_total. The points the order earned are reversed in proportion
    (rounded down; a full refund reverses all): first from what is left of the order's own lot, then, for
    points already spent from it, from the other lots, then as a debt or a cash deduction (the points
    policy); points that expired in the order's lot are not taken again (`points_expired`). The points the
    order spent as cash offset (积分抵现) come back in the same proportion (half up), each share with the
    expiry of the lot it was spent from; if that date has passed, valid for the configured grace days
    (`give_back_grace_days`, 0 = not given back: `offset_points_lapsed`). The refund completing the bill
    reinstates the coupons used on the order while still valid. The member gets an inbox notice with
    the same items."""

    class InputSerializer(serializers.Serializer):
        store = serializers.CharField(required=False)
        refund_no = serializers.CharField(max_length=64)
        original_store = serializers.CharField(required=False, help_text="store of the original order; default this")
        order_no = serializers.CharField(max_length=64, help_text="the original order number")
        amount = PlainDecimalField(max_digits=12, decimal_places=2,
                                   help_text="yuan of the bill refunded (basis: the bill `amount_total`, before "
                                             "coupons, gift cards and points offset)")
        occurred_at = serializers.DateTimeField()

        class Meta:
            ref_name = "RefundInput"

    class OutputSerializer(serializers.Serializer):
        refund_no = serializers.CharField()
        order_no = serializers.CharField(source="purchase.order_no")
        amount = PlainDecimalField(max_digits=12, decimal_places=2,
                                   help_text="yuan of the bill refunded (basis: `amount_total` of the order)")
        points_reversed = serializers.IntegerField(
            help_text="earned points reversed: share = refunded / amount_total, rounded down (all on a full "
                      "refund), including those owed as debt or paid by the cash deduction")
        points_expired = serializers.IntegerField(
            help_text="earned points due for reversal that had already expired in the order's lot: not taken again")
        offset_points_returned = serializers.IntegerField(
            help_text="points the order spent as cash offset given back (same share of amount_total, half up), "
                      "each with the expiry of the lot it was spent from")
        offset_points_lapsed = serializers.IntegerField(
            help_text="offset points not given back because their expiry had passed (grace period 0)")
        coupons_reinstated = serializers.ListField(
            child=serializers.CharField(), help_text="codes of coupons used on the order back in the wallet (full refund)")
        coupons_not_reinstated = CouponNotReinstatedSerializer(
            many=True, help_text="coupons used on the order not reinstated, with the reason (full refund)")
        points_as_debt = serializers.IntegerField(help_text="points owed (debt added) for points already spent")
        cash_deducted = PlainDecimalField(max_digits=12, decimal_places=2,
                                                 help_text="yuan to keep from the refund for spent points")

        class Meta:
            ref_name = "RefundOutput"

    @extend_schema(tags=TAGS, operation_id="refunds_create", request=InputSerializer,
                   responses={201: OutputSerializer, 200: OutputSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.add_purchase")
        original_store = Store.objects.filter(code=v.get("original_store")).first() if v.get("original_store") else store
        purchase = Purchase.objects.filter(store=original_store, order_no=v["order_no"]).first() \
            if original_store else None
        if purchase is None:
            raise NotFound(_("No such order."), code="order_not_found")
        if device_of(request) is None:
            # Staff are bound to their scope for the original order too (SEC-3); a till may take back an
            # order of any store of the chain (cross-store returns), named by its receipt: store + order_no.
            allowed = scope.store_ids(request.user)
            if allowed is not None and original_store.pk not in allowed:
                raise NotFound(_("No such order."), code="order_not_found")
        result = refund_post(store=store, refund_no=v["refund_no"], purchase=purchase, amount=v["amount"],
                             occurred_at=v["occurred_at"])
        return Response(self.OutputSerializer(result.refund).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class LotSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lot
        fields = ["points", "remaining", "earned_on", "available_on", "expires_on"]


class PointsSummaryApi(APIView):
    class OutputSerializer(serializers.Serializer):
        member_no = serializers.CharField()
        balance = serializers.IntegerField()
        spendable = serializers.IntegerField()
        pending = serializers.IntegerField()
        debt = serializers.IntegerField()
        held = serializers.IntegerField(help_text="points of a pending sign-up's sales, credited on approval")
        cash_value = serializers.CharField(help_text="yuan at the offset rate")
        expiring_soon = LotSerializer(many=True)

        class Meta:
            ref_name = "PointsSummary"

    @extend_schema(tags=TAGS, operation_id="member_points", responses={200: OutputSerializer, **api_errors(401, 404)})
    def get(self, request, member_no: str):
        member = member_for_caller(request, member_no)
        return Response(self.OutputSerializer(points_summary(member)).data)


class EntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    store = serializers.CharField(source="store.code", default=None)
    order_no = serializers.CharField(source="purchase.order_no", default=None)

    class Meta:
        model = Entry
        fields = ["id", "created_at", "kind", "kind_label", "points", "balance_after", "store", "order_no",
                  "campaigns", "reason", "source_ref"]


class PointsHistoryApi(generics.ListAPIView):
    serializer_class = EntrySerializer
    filterset_fields = ["kind"]

    @extend_schema(tags=TAGS, operation_id="member_points_history", responses={200: EntrySerializer(many=True),
                                                                               **api_errors(401, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Entry.objects.none()
        member = member_for_caller(self.request, self.kwargs["member_no"])
        return Entry.objects.filter(member=member).select_related("store", "purchase").order_by("-created_at", "-id")


# ---------------------------------------------------------------- purchase history (PTS-8, 会员消费详细信息)


def purchase_store_ids_for_caller(request) -> list[int] | None:
    """Whose orders a caller sees, the rule of every purchase-history read (API and desk alike):
    a till sees the member's orders **of its own store only** (it serves the customer in front of it and
    takes returns by receipt; the chain-wide history belongs to the member, the desk and the portal);
    staff see the orders of the stores in their scope (members.scope.store_ids; None = chain-wide) and
    need points.view_purchase. The member itself must be one the caller may look up (member_for_caller)."""
    device = device_of(request)
    if device is not None:
        return [device.store_id]
    scope.require_perm(request.user, "points.view_purchase")
    return scope.store_ids(request.user)


class PurchaseLineOutputSerializer(serializers.Serializer):
    brand = serializers.CharField()
    category = serializers.CharField()
    amount = PlainDecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ref_name = "PurchaseRecordLine"


class PurchaseTenderOutputSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="tender code: cash, bank_card, wechat, alipay, unionpay, other, coupon, "
                                           "gift_card, points")
    label = serializers.CharField(help_text="the tender's name in the caller's language")
    amount = PlainDecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ref_name = "PurchaseRecordTender"


class PurchaseRefundOutputSerializer(serializers.ModelSerializer):
    store = serializers.CharField(source="store.code")
    amount = PlainDecimalField(max_digits=12, decimal_places=2, help_text="yuan, in terms of the bill")
    cash_deducted = PlainDecimalField(max_digits=12, decimal_places=2)

    class Meta:
        model = Refund
        ref_name = "PurchaseRecordRefund"
        fields = ["refund_no", "store", "occurred_at", "amount", "points_reversed", "points_as_debt", "cash_deducted"]


class PurchaseRecordSerializer(serializers.ModelSerializer):
    store = serializers.CharField(source="store.code")
    store_name = serializers.CharField(source="store.name")
    amount_total = PlainDecimalField(max_digits=12, decimal_places=2, help_text="the bill")
    amount_paid = PlainDecimalField(max_digits=12, decimal_places=2,
                                    help_text="paid in money: excluding coupons, gift cards and points offset")
    amount_refunded = PlainDecimalField(max_digits=12, decimal_places=2, help_text="in terms of the bill")
    source_label = serializers.CharField()
    lines = PurchaseLineOutputSerializer(source="line_rows", many=True)
    tenders = PurchaseTenderOutputSerializer(source="tender_rows", many=True)
    refunds = PurchaseRefundOutputSerializer(source="refund_list", many=True)

    class Meta:
        model = Purchase
        ref_name = "PurchaseRecord"
        fields = ["order_no", "store", "store_name", "occurred_at", "amount_total", "amount_paid", "amount_refunded",
                  "points_earned", "points_reversed", "source", "source_label", "lines", "tenders", "refunds"]


class MemberPurchaseListApi(APIView):
    """A member's orders, newest first, paginated (limit ≤ 200). Scope: a till sees the member's orders of
    its own store only; staff those of the stores in their scope (see purchase_store_ids_for_caller)."""

    @extend_schema(
        tags=TAGS, operation_id="member_purchases", summary="Purchase history of a member (store-scoped)",
        parameters=[OpenApiParameter("limit", int, description="page size, at most 200"),
                    OpenApiParameter("offset", int)],
        responses={200: paginated(PurchaseRecordSerializer, "PurchaseRecordPage"), **api_errors(400, 401, 403, 404)},
    )
    def get(self, request, member_no: str):
        member = member_for_caller(request, member_no)
        qs = purchase_list_for_member(member=member, store_ids=purchase_store_ids_for_caller(request))
        paginator = BoundedLimitOffsetPagination()
        page = purchase_details(list(paginator.paginate_queryset(qs, request, view=self)))
        return paginator.get_paginated_response(PurchaseRecordSerializer(page, many=True).data)


class MemberPurchaseDetailApi(APIView):
    """One order of the member by its receipt (store code + order number), with lines, tenders and refunds;
    an order outside the caller's scope (another store's, for a till) is a 404 like a missing one."""

    @extend_schema(tags=TAGS, operation_id="member_purchase", summary="One order of a member",
                   responses={200: PurchaseRecordSerializer, **api_errors(401, 403, 404)})
    def get(self, request, member_no: str, store: str, order_no: str):
        member = member_for_caller(request, member_no)
        purchase = purchase_get_for_member(member=member, store_code=store, order_no=order_no,
                                           store_ids=purchase_store_ids_for_caller(request))
        if purchase is None:
            raise NotFound(_("No such order."), code="order_not_found")
        return Response(PurchaseRecordSerializer(purchase).data)
