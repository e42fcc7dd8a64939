"""Portal pages of amenities, mounted at /portal/amenities/ (namespace amenities_portal)."""
from django.urls import path

from . import views_portal as views

app_name = "amenities_portal"
urlpatterns = [
    path("quotas/", views.quotas, name="quotas"),
    path("reservations/", views.reservations, name="reservations"),
    # No database ids in portal paths (SEC-3): the slot / booking is a POST field, a booking is looked
    # up among the member's own.
    path("slots/book/", views.book, name="book"),
    path("bookings/cancel/", views.cancel, name="cancel"),
]
