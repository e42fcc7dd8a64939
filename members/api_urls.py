from django.urls import path

from . import api

urlpatterns = [
    path("members/lookup/", api.MemberLookupApi.as_view(), name="api-member-lookup"),
]
