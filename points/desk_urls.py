"""Desk pages of points (PTS-5..9), mounted at /desk/ (namespace points_desk): the paths are those the
desk has always used (/desk/members/<no>/points/..., /desk/points/adjustments/)."""
from django.urls import path

from . import views_controls as controls
from . import views_desk as views

app_name = "points_desk"
urlpatterns = [
    path("members/<str:member_no>/points/panel/", views.points_panel, name="panel"),
    path("members/<str:member_no>/points/summary/", views.points_summary_bar, name="summary"),
    path("members/<str:member_no>/points/history/", views.points_history, name="history"),
    path("members/<str:member_no>/purchases/panel/", views.purchases_panel, name="purchases_panel"),
    path("members/<str:member_no>/purchases/", views.purchase_list, name="purchases"),
    path("members/<str:member_no>/purchases/order/", views.purchase_detail, name="purchase_detail"),
    path("members/<str:member_no>/points/purchase/", views.purchase_new, name="purchase"),
    path("members/<str:member_no>/points/purchase/preview/", views.purchase_preview, name="purchase_preview"),
    path("members/<str:member_no>/points/refund/", views.refund_new, name="refund"),
    path("members/<str:member_no>/points/redeem/", views.redeem, name="redeem"),
    path("members/<str:member_no>/points/gift-orders/", views.gift_order_new, name="gift_order"),
    path("members/<str:member_no>/points/gift-orders/<int:pk>/<str:action>/", views.gift_order_action,
         name="gift_order_action"),
    path("members/<str:member_no>/points/coupons/", views.coupon_redeem, name="coupon"),
    path("members/<str:member_no>/points/adjust/", views.adjustment_new, name="adjust"),
    path("points/adjustments/", views.adjustment_queue, name="adjustments"),
    path("points/adjustments/<int:pk>/decide/", views.adjustment_decide, name="adjustment_decide"),
    # PTS-11: desk postings above the caps, points claims, abuse review
    path("members/<str:member_no>/points/claim/", controls.claim_new, name="claim"),
    path("points/postings/", controls.posting_queue, name="postings"),
    path("points/postings/<int:pk>/decide/", controls.posting_decide, name="posting_decide"),
    path("points/claims/", controls.claim_queue, name="claims"),
    path("points/claims/<int:pk>/decide/", controls.claim_decide, name="claim_decide"),
    path("points/abuse/", controls.abuse_queue, name="abuse"),
    path("points/abuse/<int:pk>/decide/", controls.abuse_decide, name="abuse_decide"),
]
