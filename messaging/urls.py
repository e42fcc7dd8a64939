"""Provider callback URLs; mounted under /messaging/ (see api.py for the token)."""
from django.urls import path

from .api import SmsInboundCallbackApi, SmsReceiptCallbackApi

app_name = "messaging"

urlpatterns = [
    path("callbacks/<str:provider>/receipts/<str:token>/", SmsReceiptCallbackApi.as_view(), name="sms-receipts"),
    path("callbacks/<str:provider>/inbound/<str:token>/", SmsInboundCallbackApi.as_view(), name="sms-inbound"),
]
