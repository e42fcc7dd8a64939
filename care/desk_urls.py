"""Desk pages of member care, mounted at /desk/care/ (namespace care_desk)."""
from django.urls import path

from . import views_desk as views

app_name = "care_desk"
urlpatterns = [
    path("visits/", views.visit_list, name="visits"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/<int:pk>/send/", views.survey_send, name="survey_send"),
    path("surveys/<int:pk>/report/", views.survey_report, name="survey_report"),
    path("surveys/<int:pk>/export.csv", views.survey_export_csv, name="survey_export_csv"),
    path("surveys/<int:pk>/export.xlsx", views.survey_export_xlsx, name="survey_export_xlsx"),
    path("surveys/<int:survey_pk>/actions/new/", views.action_new, name="action_new"),
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:pk>/", views.action_detail, name="action"),
]
