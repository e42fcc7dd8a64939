from django.urls import path

from . import api
from . import api_redemption as r

urlpatterns = [
    path("purchases/", api.PurchaseCreateApi.as_view(), name="api-purchase-create"),
    path("refunds/", api.RefundCreateApi.as_view(), name="api-refund-create"),
    path("members/<str:member_no>/points/", api.PointsSummaryApi.as_view(), name="api-member-points"),
    path("members/<str:member_no>/points/history/", api.PointsHistoryApi.as_view(), name="api-member-points-history"),
    path("members/<str:member_no>/purchases/", api.MemberPurchaseListApi.as_view(), name="api-member-purchases"),
    path("members/<str:member_no>/purchases/<str:store>/<str:order_no>/", api.MemberPurchaseDetailApi.as_view(),
         name="api-member-purchase"),
    # redemption (PTS-6) and manual adjustment (PTS-7)
    path("members/<str:member_no>/gifts/", r.MemberGiftListApi.as_view(), name="api-member-gifts"),
    path("members/<str:member_no>/coupons/", r.MemberCouponWalletApi.as_view(), name="api-member-coupons"),
    path("gift-orders/", r.GiftOrderCreateApi.as_view(), name="api-gift-order-create"),
    path("gift-orders/<int:pk>/cancel/", r.GiftOrderCancelApi.as_view(), name="api-gift-order-cancel"),
    path("gift-orders/<int:pk>/collect/", r.GiftOrderCollectApi.as_view(), name="api-gift-order-collect"),
    path("gift-orders/<int:pk>/return/", r.GiftOrderReturnApi.as_view(), name="api-gift-order-return"),
    path("coupons/redeem/", r.CouponRedeemApi.as_view(), name="api-coupon-redeem"),
    path("coupons/use/", r.CouponUseApi.as_view(), name="api-coupon-use"),
    path("offsets/quote/", r.OffsetQuoteApi.as_view(), name="api-offset-quote"),
    path("offsets/", r.OffsetCommitApi.as_view(), name="api-offset-commit"),
    path("offsets/cancel/", r.OffsetCancelApi.as_view(), name="api-offset-cancel"),
    path("lotteries/", r.LotteryListApi.as_view(), name="api-lottery-list"),
    path("lotteries/<int:pk>/draw/", r.LotteryDrawApi.as_view(), name="api-lottery-draw"),
    path("adjustments/", r.AdjustmentCreateApi.as_view(), name="api-adjustment-create"),
    path("adjustments/<int:pk>/approve/", r.AdjustmentApproveApi.as_view(), name="api-adjustment-approve"),
    path("adjustments/<int:pk>/reject/", r.AdjustmentRejectApi.as_view(), name="api-adjustment-reject"),
]
