"""Till API of the checkout quote (BEN-2): POST /api/v1/checkout/quote/, for a till device or staff
with the right to post purchases. Reads only; the till then posts the returned `lines` and
`tenders` to /api/v1/purchases/ and is credited exactly `points_to_earn`."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MAX_POINTS_INPUT, PlainDecimalField, api_errors
from members.callers import caller_store
from points.api import LineSerializer, MemberRefSerializer, _member_for_post

from .quote import checkout_quote


class StepSerializer(serializers.Serializer):
    step = serializers.CharField()
    rule = serializers.CharField()
    detail = serializers.CharField()
    line = serializers.IntegerField(required=False)
    amount = serializers.CharField(required=False)


class ProblemSerializer(serializers.Serializer):
    field = serializers.CharField()
    code = serializers.CharField()
    reason = serializers.CharField()
    coupon = serializers.CharField(required=False)


class CheckoutQuoteApi(APIView):
    """Quote a basket: tier discount → birthday and member-day extras → coupons → points offset →
    amount to pay and points to earn, each step itemised. A coupon or offset that cannot apply is
    left out and explained in `problems` (still 200); a bad basket is 400 with fields; a member who
    cannot transact is 409 `member_inactive`."""

    class InputSerializer(serializers.Serializer):
        member = MemberRefSerializer()
        store = serializers.CharField(required=False, help_text="store code; a till's own store by default")
        lines = LineSerializer(many=True, min_length=1, max_length=200)
        coupons = serializers.ListField(child=serializers.CharField(max_length=16), required=False, default=list,
                                        max_length=20)
        offset_points = serializers.IntegerField(min_value=0, max_value=MAX_POINTS_INPUT, required=False, default=0)
        tender = serializers.ChoiceField(choices=["cash", "bank_card", "wechat", "alipay", "unionpay", "other"],
                                         required=False, default="wechat", help_text="how the rest will be paid")
        occurred_at = serializers.DateTimeField(required=False, help_text="default now")

        class Meta:
            ref_name = "CheckoutQuoteInput"

    class OutputSerializer(serializers.Serializer):
        member_no = serializers.CharField()
        occurred_at = serializers.DateTimeField()
        amount_total = PlainDecimalField(max_digits=12, decimal_places=2)
        amount_discounted = PlainDecimalField(max_digits=12, decimal_places=2)
        coupon_amount = PlainDecimalField(max_digits=12, decimal_places=2)
        coupons = serializers.ListField(child=serializers.CharField(), help_text="codes to use, in order")
        coupon_bill_amount = PlainDecimalField(max_digits=12, decimal_places=2,
                                                      help_text="bill_amount for coupon use")
        offset_points = serializers.IntegerField()
        offset_amount = PlainDecimalField(max_digits=12, decimal_places=2)
        offset_bill_amount = PlainDecimalField(max_digits=12, decimal_places=2,
                                                      help_text="bill_amount for the points offset")
        amount_to_pay = PlainDecimalField(max_digits=12, decimal_places=2)
        points_to_earn = serializers.IntegerField()
        lines = LineSerializer(many=True, help_text="post these lines")
        tenders = serializers.ListField(child=serializers.DictField(), help_text="post these tenders")
        steps = StepSerializer(many=True)
        problems = ProblemSerializer(many=True)
        campaigns = serializers.ListField(child=serializers.DictField())

        class Meta:
            ref_name = "CheckoutQuoteOutput"

    @extend_schema(
        tags=["benefits"], operation_id="checkout_quote", request=InputSerializer,
        responses={200: OutputSerializer, **api_errors(400, 401, 403, 404, 409)},
        examples=[OpenApiExample("Quote", request_only=True, value={
            "member": {"card": "860001000011"},
            "lines": [{"brand": "LANCOME", "category": "化妆品", "amount": "680.00"}],
            "coupons": ["ABCDEFGH2345"], "offset_points": 2000, "tender": "wechat"})],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = caller_store(request, v.get("store"), "points.add_purchase")
        member = _member_for_post(request, v["member"])
        quote = checkout_quote(
            member=member, store=store, lines=[{**line, "amount": str(line["amount"])} for line in v["lines"]],
            coupon_codes=v["coupons"], offset_points=v["offset_points"], at=v.get("occurred_at"),
            paying_tender=v["tender"],
        )
        return Response(self.OutputSerializer({**quote.__dict__, "member_no": member.member_no}).data)
