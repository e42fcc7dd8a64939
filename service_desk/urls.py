"""Service desk REST API (staff), mounted under /api/v1/ by memberhub/urls.py."""
from django.urls import path

from . import api

urlpatterns = [
    path("complaints/", api.ComplaintListCreateApi.as_view(), name="api-complaints"),
    path("complaints/<int:complaint_id>/", api.ComplaintDetailApi.as_view(), name="api-complaint-detail"),
    path("complaints/<int:complaint_id>/transitions/", api.ComplaintTransitionApi.as_view(),
         name="api-complaint-transition"),
    path("after-sales/", api.AfterSalesListCreateApi.as_view(), name="api-after-sales"),
    path("after-sales/<int:case_id>/", api.AfterSalesDetailApi.as_view(), name="api-after-sales-detail"),
    path("after-sales/<int:case_id>/actions/", api.AfterSalesActionApi.as_view(), name="api-after-sales-action"),
]
