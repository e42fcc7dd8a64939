"""Desk pages of messaging about one member, mounted at /desk/messaging/ (namespace messaging_desk)."""
from django.urls import path

from . import views_desk as views

app_name = "messaging_desk"
urlpatterns = [
    path("members/<str:member_no>/channels/", views.member_channels, name="member_channels"),
]
