"""Member self-service portal. No URL carries a member id: every page reads request.member (SEC-3)."""
from django.urls import path

from . import views_portal as views
from . import views_portal_points as points_views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("card/", views.ecard_refresh, name="ecard"),
    path("signup/", views.signup, name="signup"),
    path("signup/send-code/", views.signup_send_code, name="signup_send_code"),
    path("login/", views.login, name="login"),
    path("login/send-code/", views.login_send_code, name="login_send_code"),
    path("logout/", views.logout, name="logout"),
    path("privacy/", views.privacy, name="privacy"),
    path("profile/", views.profile, name="profile"),
    path("consents/", views.consents, name="consents"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/download/", views.my_data_download, name="my_data_download"),
    path("close/", views.close_account, name="close"),
    path("closed/", views.closed, name="closed"),
    # Points, tier, redemption and inbox (members.views_portal_points). Ids of the member's own
    # records travel in the query string or POST body and are looked up within request.member's rows.
    path("points/", points_views.points_overview, name="points"),
    path("tier/", points_views.tier_status, name="tier"),
    path("gifts/", points_views.gifts, name="gifts"),
    path("gifts/order/", points_views.gift_order, name="gift_order"),
    path("gifts/cancel/", points_views.gift_order_cancel, name="gift_order_cancel"),
    path("coupons/", points_views.coupons, name="coupons"),
    path("coupons/redeem/", points_views.coupon_redeem, name="coupon_redeem"),
    path("coupons/coupon/", points_views.coupon_detail, name="coupon"),
    path("lottery/", points_views.lottery, name="lottery"),
    path("lottery/draw/", points_views.lottery_draw, name="lottery_draw"),
    path("lottery/result/", points_views.draw_detail, name="draw"),
    path("inbox/", points_views.inbox, name="inbox"),
    path("inbox/read-all/", points_views.inbox_read_all, name="inbox_read_all"),
    path("inbox/message/", points_views.notice_detail, name="notice"),
]
