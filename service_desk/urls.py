"""Service desk REST API (staff), mounted under /api/v1/ by memberhub/urls.py."""
from django.urls import path

from . import api

urlpatterns = [
    path("complaints/", api.ComplaintListCreateApi.as_view(), name="api-complaints"),
    path("complaints/<int:complaint_id>/", api.ComplaintDetailApi.as_view(), name="api-complaint-detail"),
    path("complaints/<int:complaint_id>/transitions/", api.ComplaintTransitionApi.as_view(),
         name="api-complaint-transition"),
]
