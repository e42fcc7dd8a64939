"""Portal pages of amenities, mounted at /portal/amenities/ (namespace amenities_portal)."""
from django.urls import path

from . import views_portal as views

app_name = "amenities_portal"
urlpatterns = [
    path("quotas/", views.quotas, name="quotas"),
    path("reservations/", views.reservations, name="reservations"),
    path("slots/<int:slot_pk>/book/", views.book, name="book"),
    path("bookings/<int:pk>/cancel/", views.cancel, name="cancel"),
]
