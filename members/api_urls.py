"""Members REST API, mounted under /api/v1/ by memberhub/urls.py."""
from django.urls import path

from . import api

urlpatterns = [
    path("members/", api.MemberCreateApi.as_view(), name="api-member-create"),
    path("members/lookup/", api.MemberLookupApi.as_view(), name="api-member-lookup"),
    path("members/<str:member_no>/", api.MemberDetailApi.as_view(), name="api-member-detail"),
    path("members/<str:member_no>/consents/", api.MemberConsentApi.as_view(), name="api-member-consents"),
    path("members/<str:member_no>/changes/", api.MemberChangeListApi.as_view(), name="api-member-changes"),
    path("sms-codes/", api.SmsCodeSendApi.as_view(), name="api-sms-codes"),
]
