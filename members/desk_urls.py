"""Staff desk pages under /desk/ (staff login through the admin login)."""
from django.urls import path

from . import views_desk as views
from . import views_desk_points as points_views

app_name = "desk"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("search/export.csv", views.search_export, name="search_export"),
    path("members/new/", views.member_new, name="member_new"),
    path("members/<str:member_no>/", views.member_detail, name="member"),
    path("members/<str:member_no>/reveal/<str:field>/", views.member_reveal, name="member_reveal"),
    path("members/<str:member_no>/status/", views.member_status, name="member_status"),
    path("members/<str:member_no>/tags/", views.member_tag_add, name="member_tag_add"),
    path("members/<str:member_no>/tags/<int:tag_id>/remove/", views.member_tag_remove, name="member_tag_remove"),
    path("members/<str:member_no>/consent/", views.member_consent, name="member_consent"),
    path("members/<str:member_no>/change-request/", views.member_change_request, name="member_change_request"),
    path("members/<str:member_no>/buyers/", views.member_buyer_link, name="member_buyer_link"),
    path("reviews/", views.reviews, name="reviews"),
    path("rereviews/", views.rereviews, name="rereviews"),
    path("rereviews/<str:member_no>/", views.rereview_member, name="rereview_member"),
    path("reviews/signups/<str:member_no>/", views.review_signup, name="review_signup"),
    path("reviews/changes/<int:pk>/", views.review_change, name="review_change"),
    path("audit/", views.audit_log, name="audit_log"),
    # points and tiers (PTS-5..9, TIER-4..5)
    path("members/<str:member_no>/points/panel/", points_views.points_panel, name="points_panel"),
    path("members/<str:member_no>/points/history/", points_views.points_history, name="points_history"),
    path("members/<str:member_no>/points/purchase/", points_views.purchase_new, name="points_purchase"),
    path("members/<str:member_no>/points/refund/", points_views.refund_new, name="points_refund"),
    path("members/<str:member_no>/points/redeem/", points_views.redeem, name="points_redeem"),
    path("members/<str:member_no>/points/gift-orders/", points_views.gift_order_new, name="points_gift_order"),
    path("members/<str:member_no>/points/gift-orders/<int:pk>/<str:action>/", points_views.gift_order_action,
         name="points_gift_order_action"),
    path("members/<str:member_no>/points/coupons/", points_views.coupon_redeem, name="points_coupon"),
    path("members/<str:member_no>/points/adjust/", points_views.adjustment_new, name="points_adjust"),
    path("members/<str:member_no>/tier/grant/", points_views.tier_grant, name="tier_grant"),
    path("points/adjustments/", points_views.adjustment_queue, name="points_adjustments"),
    path("points/adjustments/<int:pk>/decide/", points_views.adjustment_decide, name="points_adjustment_decide"),
    path("tiers/proposals/", points_views.tier_proposals, name="tier_proposals"),
    path("tiers/proposals/decide/", points_views.tier_proposals_decide, name="tier_proposals_decide"),
]
