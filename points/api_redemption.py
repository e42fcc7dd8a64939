"""Till and staff API of redemption (PTS-6 a–d) and manual adjustment (PTS-7).

Tills (device tokens) act for their own store. Staff sessions name a store in their scope and need
the model permission of the operation (see `_store_for`); adjustments are staff-only."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import crypto
from core.api import IdField, IsStaffUser, PlainDecimalField, PointsField, api_errors, device_of
from core.errors import NotFound
from members import scope
from members.callers import caller_store, member_for_caller

from .api import MemberRefSerializer, _member_for_post
from .models import Adjustment, Coupon, CouponType, Draw, Gift, GiftOrder, Lottery, Offset
from .services import adjustments, redemption

TAGS = ["redemption"]


def _created(created: bool) -> int:
    return status.HTTP_201_CREATED if created else status.HTTP_200_OK


def _in_scope(request, obj_member):
    """Staff see only members of their store scope; out-of-scope objects look missing."""
    if device_of(request) is None:
        scope.require_member(request.user, obj_member)


# ---------------------------------------------------------------- gifts (PTS-6a)


class GiftSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="gift.id")
    name = serializers.CharField(source="gift.name")
    description = serializers.CharField(source="gift.description")
    points_cost = serializers.IntegerField(source="gift.points_cost")
    stock = serializers.IntegerField(source="gift.stock")
    per_member_limit = serializers.IntegerField(source="gift.per_member_limit", allow_null=True)
    valid_to = serializers.DateTimeField(source="gift.valid_to")
    ordered = serializers.IntegerField(help_text="items this member already holds within the gift's window")
    eligible = serializers.BooleanField(help_text="the member may order one now (tier, stock, limit, balance)")
    reason = serializers.CharField(help_text="why not, when not eligible")
    code = serializers.CharField(help_text="stable code of the reason")


class MemberGiftListApi(APIView):
    """The gift catalogue (礼品) for a member, each gift with an eligible flag and the reason when not."""

    @extend_schema(tags=TAGS, operation_id="member_gifts", responses={200: GiftSerializer(many=True),
                                                                      **api_errors(401, 403, 404)})
    def get(self, request, member_no: str):
        member = member_for_caller(request, member_no)
        items, _have = redemption.gift_catalogue_for_member(member=member)
        return Response(GiftSerializer(items, many=True).data)


class GiftOrderSerializer(serializers.ModelSerializer):
    member_no = serializers.CharField(source="member.member_no")
    gift_name = serializers.CharField(source="gift.name")
    store = serializers.CharField(source="store.code")

    class Meta:
        model = GiftOrder
        fields = ["id", "member_no", "gift", "gift_name", "quantity", "points", "status", "store", "request_id",
                  "created_at", "collected_at", "closed_at", "close_reason"]


class GiftOrderCreateApi(APIView):
    """Order a gift for points (pick-up at the store). Idempotent on `request_id`: a retry returns the
    first order (200). Refusals are 409 with code `gift_out_of_stock`, `gift_tier_not_allowed`,
    `gift_limit_reached`, `gift_not_available`, `insufficient_points` or `member_inactive`."""

    class InputSerializer(serializers.Serializer):
        member = MemberRefSerializer()
        gift = IdField()
        quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)
        store = serializers.CharField(required=False, help_text="pick-up store code; the till's own by default")
        request_id = serializers.CharField(max_length=64, help_text="client-generated id of this request")

        class Meta:
            ref_name = "GiftOrderInput"

    @extend_schema(tags=TAGS, operation_id="gift_orders_create", request=InputSerializer,
                   responses={201: GiftOrderSerializer, 200: GiftOrderSerializer, **api_errors(400, 401, 403, 404, 409)},
                   examples=[OpenApiExample("Gift order", request_only=True, value={
                       "member": {"card": "860001000011"}, "gift": 3, "quantity": 1, "request_id": "T1-7f3a"})])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.add_giftorder")
        member = _member_for_post(request, v["member"])
        gift = Gift.objects.filter(pk=v["gift"]).first()
        if gift is None:
            raise NotFound(_("No such gift."), code="gift_not_found")
        order, created = redemption.gift_order_place(
            member=member, gift=gift, quantity=v["quantity"], store=store, request_id=v["request_id"],
            staff=None if device_of(request) else request.user,
        )
        return Response(GiftOrderSerializer(order).data, status=_created(created))


class _GiftOrderActionApi(APIView):
    perm = "points.change_giftorder"

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=200)

        class Meta:
            ref_name = "GiftOrderActionInput"

    def _order(self, request, pk: int) -> GiftOrder:
        order = GiftOrder.objects.select_related("member", "store").filter(pk=pk).first()
        if order is None:
            raise NotFound(_("No such gift order."), code="gift_order_not_found")
        caller_store(request, order.store.code if device_of(request) is None else None, self.perm)
        device = device_of(request)
        if device is not None and device.store_id != order.store_id:
            raise NotFound(_("No such gift order."), code="gift_order_not_found")
        _in_scope(request, order.member)
        return order


class GiftOrderCancelApi(_GiftOrderActionApi):
    """Cancel a reserved (not yet collected) order: stock and points come back once (a new lot,
    valid for the full validity from today). 409 `gift_order_state` when already collected."""

    @extend_schema(tags=TAGS, operation_id="gift_orders_cancel", request=_GiftOrderActionApi.InputSerializer,
                   responses={200: GiftOrderSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        order = self._order(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = redemption.gift_order_cancel(order=order, staff=None if device_of(request) else request.user,
                                             reason=data.validated_data.get("reason", ""))
        return Response(GiftOrderSerializer(order).data)


class GiftOrderCollectApi(_GiftOrderActionApi):
    """Hand a reserved gift over at the desk of the pick-up store (staff)."""

    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="gift_orders_collect", request=None,
                   responses={200: GiftOrderSerializer, **api_errors(401, 403, 404, 409)})
    def post(self, request, pk: int):
        order = self._order(request, pk)
        return Response(GiftOrderSerializer(redemption.gift_order_collect(order=order, staff=request.user)).data)


class GiftOrderReturnApi(_GiftOrderActionApi):
    """Take a collected gift back at the desk (staff): stock and points come back once."""

    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="gift_orders_return", request=_GiftOrderActionApi.InputSerializer,
                   responses={200: GiftOrderSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        order = self._order(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = redemption.gift_order_return(order=order, staff=request.user,
                                             reason=data.validated_data.get("reason", ""))
        return Response(GiftOrderSerializer(order).data)


# ---------------------------------------------------------------- coupons (PTS-6b)


class CouponSerializer(serializers.ModelSerializer):
    """`code` in full for staff (their own stores' members) and for tills of the member's home store; a till
    of another store sees it masked and asks the member to show the coupon (SEC-3)."""

    code = serializers.SerializerMethodField(help_text="full, or masked (********1234) for another store's till")
    type_name = serializers.CharField(source="type.name")
    face_value = PlainDecimalField(source="type.face_value", max_digits=12, decimal_places=2)
    min_spend = PlainDecimalField(source="type.min_spend", max_digits=12, decimal_places=2)
    used_store = serializers.CharField(source="used_store.code", default=None)

    def get_code(self, coupon) -> str:
        return coupon.code if self.context.get("show_codes", True) else crypto.mask_code(coupon.code)

    class Meta:
        model = Coupon
        fields = ["code", "type", "type_name", "face_value", "min_spend", "status", "source", "valid_from",
                  "valid_to", "used_at", "used_store", "used_order_no"]


class CouponTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = CouponType
        fields = ["id", "name", "face_value", "min_spend", "points_cost", "validity_days", "valid_from", "valid_to"]


class MemberCouponWalletApi(APIView):
    """The member's coupon wallet: usable coupons (or all with `?all=1`) and the coupon types for sale
    for points."""

    class OutputSerializer(serializers.Serializer):
        coupons = CouponSerializer(many=True)
        for_points = CouponTypeSerializer(many=True)

        class Meta:
            ref_name = "CouponWallet"

    @extend_schema(tags=TAGS, operation_id="member_coupons", responses={200: OutputSerializer,
                                                                        **api_errors(401, 403, 404)})
    def get(self, request, member_no: str):
        member = member_for_caller(request, member_no)
        coupons = redemption.coupons_in_wallet(member=member, include_past=request.query_params.get("all") == "1")
        device = device_of(request)
        show_codes = device is None or device.store_id == member.home_store_id
        return Response(self.OutputSerializer({"coupons": coupons.select_related("used_store"),
                                               "for_points": redemption.coupon_types_for_points()},
                                              context={"show_codes": show_codes}).data)


class CouponRedeemApi(APIView):
    """Buy a coupon with points. Idempotent on `request_id`. 409 `coupon_not_for_points`,
    `coupon_sold_out`, `insufficient_points`, `member_inactive`."""

    class InputSerializer(serializers.Serializer):
        member = MemberRefSerializer()
        coupon_type = IdField()
        store = serializers.CharField(required=False)
        request_id = serializers.CharField(max_length=64)

        class Meta:
            ref_name = "CouponRedeemInput"

    @extend_schema(tags=TAGS, operation_id="coupons_redeem", request=InputSerializer,
                   responses={201: CouponSerializer, 200: CouponSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.add_coupon")
        member = _member_for_post(request, v["member"])
        ctype = CouponType.objects.filter(pk=v["coupon_type"]).first()
        if ctype is None:
            raise NotFound(_("No such coupon type."), code="coupon_type_not_found")
        coupon, created = redemption.coupon_redeem_for_points(
            member=member, coupon_type=ctype, request_id=v["request_id"], store=store,
            staff=None if device_of(request) else request.user)
        return Response(CouponSerializer(coupon).data, status=_created(created))


class CouponUseApi(APIView):
    """Use a coupon on a till order. Single use: a second use is 409 `coupon_used` (a retry for the
    same store and order returns 200). Other refusals: `coupon_not_usable`, `coupon_not_yet_valid`,
    `coupon_wrong_store`, `coupon_min_spend`; 404 `coupon_not_found`."""

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=16)
        member = MemberRefSerializer(required=False, help_text="when given, the coupon must be this member's")
        store = serializers.CharField(required=False)
        order_no = serializers.CharField(max_length=64)
        bill_amount = PlainDecimalField(max_digits=12, decimal_places=2, min_value=0)

        class Meta:
            ref_name = "CouponUseInput"

    @extend_schema(tags=TAGS, operation_id="coupons_use", request=InputSerializer,
                   responses={200: CouponSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.change_coupon")
        ref = {k: x for k, x in (v.get("member") or {}).items() if x}
        member = _member_for_post(request, ref) if ref else None
        coupon = redemption.coupon_use(code=v["code"], store=store, order_no=v["order_no"],
                                       bill_amount=v["bill_amount"], member=member)
        return Response(CouponSerializer(coupon).data)


# ---------------------------------------------------------------- cash offset (PTS-6c)


class OffsetQuoteApi(APIView):
    """How many points this bill may take: min(spendable, tier cap % of the bill × points per yuan)."""

    class InputSerializer(serializers.Serializer):
        member = MemberRefSerializer()
        bill_amount = PlainDecimalField(max_digits=12, decimal_places=2)

        class Meta:
            ref_name = "OffsetQuoteInput"

    class OutputSerializer(serializers.Serializer):
        bill_amount = PlainDecimalField(max_digits=12, decimal_places=2)
        spendable = serializers.IntegerField()
        cap_percent = serializers.IntegerField()
        cap_amount = PlainDecimalField(max_digits=12, decimal_places=2)
        points_per_yuan = serializers.IntegerField()
        max_points = serializers.IntegerField()
        max_amount = PlainDecimalField(max_digits=12, decimal_places=2)

        class Meta:
            ref_name = "OffsetQuote"

    @extend_schema(tags=TAGS, operation_id="offsets_quote", request=InputSerializer,
                   responses={200: OutputSerializer, **api_errors(400, 401, 403, 404)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        caller_store(request, None, "points.add_offset")
        member = _member_for_post(request, v["member"])
        return Response(self.OutputSerializer(redemption.offset_quote(member=member, bill_amount=v["bill_amount"])).data)


class OffsetSerializer(serializers.ModelSerializer):
    member_no = serializers.CharField(source="member.member_no")
    store = serializers.CharField(source="store.code")

    class Meta:
        model = Offset
        fields = ["member_no", "store", "order_no", "bill_amount", "points", "amount", "status", "created_at",
                  "cancelled_at"]


class OffsetCommitApi(APIView):
    """Spend points as cash on a till order; `amount` is the yuan to take off the bill (floored to
    cents). Idempotent on (store, order_no). Over the cap: 400 `offset_over_cap`; over the spendable
    balance: 409 `insufficient_points`; same order with other points: 409 `idempotency_conflict`; the same
    body again after the offset was voided: 409 `offset_voided` (post the sale under a new order number)."""

    class InputSerializer(serializers.Serializer):
        member = MemberRefSerializer()
        store = serializers.CharField(required=False)
        order_no = serializers.CharField(max_length=64)
        bill_amount = PlainDecimalField(max_digits=12, decimal_places=2)
        points = PointsField(min_value=1)

        class Meta:
            ref_name = "OffsetCommitInput"

    @extend_schema(tags=TAGS, operation_id="offsets_commit", request=InputSerializer,
                   responses={201: OffsetSerializer, 200: OffsetSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.add_offset")
        member = _member_for_post(request, v["member"])
        offset, created = redemption.offset_commit(member=member, store=store, order_no=v["order_no"],
                                                   points=v["points"], bill_amount=v["bill_amount"])
        return Response(OffsetSerializer(offset).data, status=_created(created))


class OffsetCancelApi(APIView):
    """The till voided the sale before completion: the offset's points come back once, each share with the
    expiry of the lot it was spent from. Once a purchase of the order is posted: 409 `offset_already_posted`
    (refund the purchase instead)."""

    class InputSerializer(serializers.Serializer):
        store = serializers.CharField(required=False)
        order_no = serializers.CharField(max_length=64)

        class Meta:
            ref_name = "OffsetCancelInput"

    @extend_schema(tags=TAGS, operation_id="offsets_cancel", request=InputSerializer,
                   responses={200: OffsetSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.change_offset")
        return Response(OffsetSerializer(redemption.offset_cancel(store=store, order_no=v["order_no"])).data)


# ---------------------------------------------------------------- lottery (PTS-6d)


class PrizeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    in_stock = serializers.SerializerMethodField()

    def get_in_stock(self, obj) -> bool:
        return obj.stock is None or obj.stock > 0


class LotterySerializer(serializers.ModelSerializer):
    prizes = PrizeSerializer(many=True)

    class Meta:
        model = Lottery
        fields = ["id", "name", "points_cost", "starts_at", "ends_at", "prizes"]


class LotteryListApi(APIView):
    """Open lotteries (积分抽奖) and their prizes."""

    @extend_schema(tags=TAGS, operation_id="lotteries_list", responses={200: LotterySerializer(many=True),
                                                                        **api_errors(401)})
    def get(self, request):
        return Response(LotterySerializer(redemption.lottery_list_open(), many=True).data)


class DrawSerializer(serializers.ModelSerializer):
    member_no = serializers.CharField(source="member.member_no")
    prize = PrizeSerializer(allow_null=True)
    coupon = serializers.CharField(source="coupon.code", default=None)
    gift_order = serializers.IntegerField(source="gift_order.id", default=None)

    class Meta:
        model = Draw
        fields = ["id", "member_no", "lottery", "prize", "points_spent", "coupon", "gift_order", "created_at"]


class LotteryDrawApi(APIView):
    """Draw once, paying the lottery's cost in points. Idempotent on `request_id`. 409
    `lottery_closed`, `lottery_sold_out`, `insufficient_points`, `member_inactive`."""

    class InputSerializer(serializers.Serializer):
        member = MemberRefSerializer()
        store = serializers.CharField(required=False)
        request_id = serializers.CharField(max_length=64)

        class Meta:
            ref_name = "LotteryDrawInput"

    @extend_schema(tags=TAGS, operation_id="lotteries_draw", request=InputSerializer,
                   responses={201: DrawSerializer, 200: DrawSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.add_draw")
        member = _member_for_post(request, v["member"])
        lottery = Lottery.objects.filter(pk=pk).first()
        if lottery is None:
            raise NotFound(_("No such lottery."), code="lottery_not_found")
        draw, created = redemption.lottery_draw(member=member, lottery=lottery, request_id=v["request_id"],
                                                store=store, staff=None if device_of(request) else request.user)
        return Response(DrawSerializer(draw).data, status=_created(created))


# ---------------------------------------------------------------- manual adjustment (PTS-7)


class AdjustmentSerializer(serializers.ModelSerializer):
    member_no = serializers.CharField(source="member.member_no")
    requested_by = serializers.CharField(source="requested_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None)

    class Meta:
        model = Adjustment
        fields = ["id", "member_no", "points", "reason", "status", "requested_by", "requested_at", "approved_by",
                  "decided_at", "reject_reason"]


class AdjustmentCreateApi(APIView):
    """Adjust a member's points by hand with a reason (staff). Within the configured threshold it is
    applied at once (status `applied`); above it, it waits for a second approver (`pending`)."""

    permission_classes = [IsStaffUser]

    class InputSerializer(serializers.Serializer):
        member_no = serializers.CharField(max_length=20)
        points = PointsField(help_text="positive adds, negative deducts; at most PointsConfig.max_adjustment_points")
        reason = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "AdjustmentInput"

    @extend_schema(tags=TAGS, operation_id="adjustments_create", request=InputSerializer,
                   responses={201: AdjustmentSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        member = member_for_caller(request, v["member_no"])
        adjustment = adjustments.adjustment_request(member=member, points=v["points"], reason=v["reason"],
                                                    staff=request.user)
        return Response(AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)


def _adjustment(request, pk: int) -> Adjustment:
    adjustment = get_object_or_404(Adjustment.objects.select_related("member"), pk=pk)
    scope.require_member(request.user, adjustment.member)
    return adjustment


class AdjustmentApproveApi(APIView):
    """Approve a pending adjustment (a different staff member with `points.approve_adjustment`);
    it is applied at once. 403 `same_approver`, 409 `adjustment_decided` / `insufficient_points`."""

    permission_classes = [IsStaffUser]

    @extend_schema(tags=TAGS, operation_id="adjustments_approve", request=None,
                   responses={200: AdjustmentSerializer, **api_errors(401, 403, 404, 409)})
    def post(self, request, pk: int):
        adjustment = adjustments.adjustment_approve(adjustment=_adjustment(request, pk), approver=request.user)
        return Response(AdjustmentSerializer(adjustment).data)


class AdjustmentRejectApi(APIView):
    """Reject a pending adjustment with a reason."""

    permission_classes = [IsStaffUser]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "AdjustmentRejectInput"

    @extend_schema(tags=TAGS, operation_id="adjustments_reject", request=InputSerializer,
                   responses={200: AdjustmentSerializer, **api_errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        adjustment = adjustments.adjustment_reject(adjustment=_adjustment(request, pk), approver=request.user,
                                                   reason=data.validated_data["reason"])
        return Response(AdjustmentSerializer(adjustment).data)

