"""Desk routes of the dashboards; mounted at desk/dashboards/ by memberhub.urls."""
from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("export/<slug:table>.<str:fmt>", views.overview_export, name="overview_export"),
    path("rfm-cell/", views.rfm_cell, name="rfm_cell"),
    path("consumption/", views.consumption, name="consumption"),
    path("consumption/export/<slug:dimension>.<str:fmt>", views.consumption_export, name="consumption_export"),
    path("staff/", views.staff, name="staff"),
    path("staff/export/<slug:table>.<str:fmt>", views.staff_export, name="staff_export"),
]
