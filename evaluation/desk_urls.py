"""Desk pages of the evaluation, mounted under /desk/evaluation/ (namespace "evaluation")."""
from django.urls import path

from . import views

app_name = "evaluation"
urlpatterns = [
    path("rfm/", views.rfm, name="rfm"),
    path("closeness/", views.closeness, name="closeness"),
    path("lifecycle/", views.lifecycle, name="lifecycle"),
    path("segments/", views.segments, name="segments"),
    path("segments/new/", views.segment_edit, name="segment_new"),
    path("segments/<int:pk>/", views.segment_edit, name="segment_edit"),
    path("segments/preview/", views.segment_preview, name="segment_preview"),
]
