"""The portal inbox, mounted at /portal/ (namespace messaging_portal). No converters (SEC-3): the notice
id travels in the query string."""
from django.urls import path

from . import views_portal as views

app_name = "messaging_portal"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all/", views.inbox_read_all, name="inbox_read_all"),
    path("inbox/message/", views.notice_detail, name="notice"),
    path("inbox/channels/", views.channels, name="channels"),
]
