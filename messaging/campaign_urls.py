"""Desk pages of campaign sends, mounted at /desk/campaigns/ (namespace campaign_desk)."""
from django.urls import path

from . import campaign_views as views

app_name = "campaign_desk"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("audience-count/", views.campaign_audience_count, name="audience_count"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/progress/", views.campaign_progress_partial, name="progress"),
    path("<int:pk>/schedule/", views.campaign_schedule_view, name="schedule"),
    path("<int:pk>/send-now/", views.campaign_send_now_confirm, name="send_now"),
    path("<int:pk>/test-send/", views.campaign_test_send_view, name="test_send"),
    path("<int:pk>/cancel/", views.campaign_cancel_view, name="cancel"),
]
