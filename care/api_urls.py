from django.urls import path

from . import api

urlpatterns = [
    path("care/visits/", api.VisitListApi.as_view(), name="api-care-visits"),
    path("care/visits/<int:pk>/outcome/", api.VisitOutcomeApi.as_view(), name="api-care-visit-outcome"),
    path("care/surveys/", api.SurveyListApi.as_view(), name="api-care-surveys"),
    path("care/surveys/<int:pk>/report/", api.SurveyReportApi.as_view(), name="api-care-survey-report"),
]
