"""Portal pages of member care, mounted at /portal/care/ (namespace care_portal). No member id in
any URL; the survey id travels in the query string / POST body."""
from django.urls import path

from . import views_portal as views

app_name = "care_portal"
urlpatterns = [
    path("surveys/", views.survey_list, name="surveys"),
    path("survey/", views.survey_page, name="survey"),
]
