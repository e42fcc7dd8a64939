"""Desk pages of tiers (TIER-4..5), mounted at /desk/ (namespace tiers_desk): the paths are those the
desk has always used (/desk/members/<no>/tier/..., /desk/tiers/proposals/)."""
from django.urls import path

from . import views_desk as views

app_name = "tiers_desk"
urlpatterns = [
    path("members/<str:member_no>/tier/panel/", views.tier_panel, name="panel"),
    path("members/<str:member_no>/tier/grant/", views.tier_grant, name="grant"),
    path("tiers/proposals/", views.tier_proposals, name="proposals"),
    path("tiers/proposals/decide/", views.tier_proposals_decide, name="proposals_decide"),
]
