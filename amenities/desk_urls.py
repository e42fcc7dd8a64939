"""Desk pages of amenities, mounted at /desk/amenities/ (namespace amenities_desk)."""
from django.urls import path

from . import views_desk as views

app_name = "amenities_desk"
urlpatterns = [
    path("members/<int:pk>/", views.member_quota, name="member_quota"),
    path("members/<int:pk>/reservations/", views.member_reservations, name="member_reservations"),
    path("loans/", views.loan_list, name="loans"),
    path("loans/<int:pk>/return/", views.loan_return, name="loan_return"),
    path("reservations/", views.reservations, name="reservations"),
    path("bookings/<int:pk>/mark/", views.booking_mark, name="booking_mark"),
]
