from django.urls import path

from . import api

urlpatterns = [
    path("members/<str:member_no>/rfm/", api.MemberRfmApi.as_view(), name="api-member-rfm"),
    path("rfm/movement/", api.RfmMovementApi.as_view(), name="api-rfm-movement"),
    path("segments/<int:pk>/count/", api.SegmentCountApi.as_view(), name="api-segment-count"),
]
