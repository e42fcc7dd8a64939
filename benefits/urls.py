"""API routes of benefits, included under /api/v1/."""
from django.urls import path

from .api import CheckoutQuoteApi

urlpatterns = [
    path("checkout/quote/", CheckoutQuoteApi.as_view(), name="checkout-quote"),
]
