from django.urls import path

from . import api

urlpatterns = [
    path("purchases/", api.PurchaseCreateApi.as_view(), name="api-purchase-create"),
    path("refunds/", api.RefundCreateApi.as_view(), name="api-refund-create"),
    path("members/<str:member_no>/points/", api.PointsSummaryApi.as_view(), name="api-member-points"),
    path("members/<str:member_no>/points/history/", api.PointsHistoryApi.as_view(), name="api-member-points-history"),
]
