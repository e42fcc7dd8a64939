"""Portal pages of points, mounted at /portal/ (namespace points_portal). No URL carries a member id
or any converter (SEC-3): ids of the member's own records travel in the query string or POST body and
are looked up within request.member's rows."""
from django.urls import path

from . import views_portal as views
from . import views_portal_claims

app_name = "points_portal"
urlpatterns = [
    path("points/", views.points_overview, name="overview"),
    path("points/home-summary/", views.home_summary, name="home_summary"),
    path("purchases/", views.purchases, name="purchases"),
    path("purchases/order/", views.purchase_detail, name="purchase"),
    path("gifts/", views.gifts, name="gifts"),
    path("gifts/confirm/", views.gift_order_confirm, name="gift_order_confirm"),
    path("gifts/order/", views.gift_order, name="gift_order"),
    path("gifts/cancel/", views.gift_order_cancel, name="gift_order_cancel"),
    path("coupons/", views.coupons, name="coupons"),
    path("coupons/confirm/", views.coupon_redeem_confirm, name="coupon_redeem_confirm"),
    path("coupons/redeem/", views.coupon_redeem, name="coupon_redeem"),
    path("coupons/coupon/", views.coupon_detail, name="coupon"),
    path("lottery/", views.lottery, name="lottery"),
    path("lottery/confirm/", views.lottery_draw_confirm, name="lottery_draw_confirm"),
    path("lottery/draw/", views.lottery_draw, name="lottery_draw"),
    path("lottery/result/", views.draw_detail, name="draw"),
    path("points/claims/", views_portal_claims.claims, name="claims"),  # 补积分 (PTS-11)
]
