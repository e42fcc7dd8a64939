from django.urls import path

from . import api

urlpatterns = [
    path("members/<str:member_no>/tier/", api.MemberTierStatusApi.as_view(), name="api-member-tier"),
    path("members/<str:member_no>/tier/history/", api.MemberTierHistoryApi.as_view(),
         name="api-member-tier-history"),
    path("members/<str:member_no>/tier/grant/", api.MemberTierGrantApi.as_view(), name="api-member-tier-grant"),
    path("tier-proposals/", api.TierProposalListApi.as_view(), name="api-tier-proposals"),
    path("tier-proposals/decide/", api.TierProposalBulkDecideApi.as_view(), name="api-tier-proposals-decide"),
    path("tier-proposals/<int:pk>/approve/", api.TierProposalApproveApi.as_view(), name="api-tier-proposal-approve"),
    path("tier-proposals/<int:pk>/reject/", api.TierProposalRejectApi.as_view(), name="api-tier-proposal-reject"),
]
