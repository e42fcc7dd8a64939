from django.urls import path

from . import api

urlpatterns = [
    path("partners/verify/", api.PartnerCodeVerifyApi.as_view(), name="api-partner-verify"),
]
