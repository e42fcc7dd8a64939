"""Desk pages of member events (mounted under /desk/engagement/)."""
from django.urls import path

from . import views

app_name = "engagement_desk"
urlpatterns = [
    path("events/", views.desk_events, name="events"),
    path("events/<int:event_id>/", views.desk_event, name="event"),
    path("events/<int:event_id>/outcome/", views.desk_event_outcome, name="event_outcome"),
]
