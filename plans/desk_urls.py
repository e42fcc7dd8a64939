"""Desk pages of paid membership, mounted at /desk/ (namespace plans_desk)."""
from django.urls import path

from . import views_desk as views

app_name = "plans_desk"
urlpatterns = [
    path("members/<str:member_no>/plan/panel/", views.plan_panel, name="panel"),
    path("members/<str:member_no>/plan/buy/", views.membership_buy, name="buy"),
    path("members/<str:member_no>/plan/<int:membership_id>/refund/", views.membership_refund, name="refund"),
]
