"""Member portal pages of partners and events (mounted under /portal/engagement/)."""
from django.urls import path

from . import views

app_name = "engagement_portal"
urlpatterns = [
    path("partners/", views.portal_partners, name="partners"),
    path("events/", views.portal_events, name="events"),
    path("events/<int:event_id>/", views.portal_event, name="event"),
    path("events/<int:event_id>/<str:action>/", views.portal_event_action, name="event_action"),
]
