"""Member portal pages of partners and events (mounted under /portal/engagement/)."""
from django.urls import path

from . import views

app_name = "engagement_portal"
urlpatterns = [
    path("partners/", views.portal_partners, name="partners"),
    path("events/", views.portal_events, name="events"),
    # No database ids in portal paths (SEC-3): the event is ?id= / a POST field.
    path("events/event/", views.portal_event, name="event"),
    path("events/signup/", views.portal_event_action, {"action": "signup"}, name="event_signup"),
    path("events/cancel/", views.portal_event_action, {"action": "cancel"}, name="event_cancel"),
    path("events/feedback/", views.portal_event_action, {"action": "feedback"}, name="event_feedback"),
]
