"""Desk pages of member care, mounted at /desk/care/ (namespace care_desk)."""
from django.urls import path

from . import views_desk as views
from . import views_desk_members as member_views

app_name = "care_desk"
urlpatterns = [
    path("visits/", views.visit_list, name="visits"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("visits/<int:pk>/dial/", views.visit_dial, name="visit_dial"),
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/<int:pk>/send/", views.survey_send, name="survey_send"),
    path("surveys/<int:pk>/report/", views.survey_report, name="survey_report"),
    path("surveys/<int:pk>/export.csv", views.survey_export_csv, name="survey_export_csv"),
    path("surveys/<int:pk>/export.xlsx", views.survey_export_xlsx, name="survey_export_xlsx"),
    path("surveys/<int:survey_pk>/actions/new/", views.action_new, name="action_new"),
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:pk>/", views.action_detail, name="action"),
    path("surveys/<int:pk>/samples/<int:sample_pk>/", member_views.sample_detail, name="sample"),
    path("members/<str:member_no>/panel/", member_views.member_panel, name="member_panel"),
    path("members/<str:member_no>/surveys/", member_views.member_surveys, name="member_surveys"),
    path("members/<str:member_no>/surveys/<int:pk>/", member_views.member_survey_enter, name="member_survey_enter"),
    path("members/<str:member_no>/account-manager/", member_views.member_account_manager,
         name="member_account_manager"),
    path("my-members/", member_views.my_members, name="my_members"),
]
