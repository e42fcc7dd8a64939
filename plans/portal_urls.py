"""Portal pages of paid membership, mounted at /portal/ (namespace plans_portal). No converters (SEC-3)."""
from django.urls import path

from . import views_portal as views

app_name = "plans_portal"
urlpatterns = [
    path("plan/", views.plan_status, name="status"),
    path("plan/card/", views.plan_home_card, name="home_card"),
]
