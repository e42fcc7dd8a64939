"""Portal pages of tiers, mounted at /portal/ (namespace tiers_portal). No converters (SEC-3)."""
from django.urls import path

from . import views_portal as views

app_name = "tiers_portal"
urlpatterns = [
    path("tier/", views.tier_status, name="status"),
    path("tier/summary/", views.tier_summary, name="summary"),
    path("tier/progress/", views.tier_progress, name="progress"),
]
