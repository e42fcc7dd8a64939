"""The project's URLs plus the messaging callbacks (tests mount them until memberhub/urls.py does)."""
from django.urls import include, path

from memberhub.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("messaging/", include("messaging.urls")), *project_urlpatterns]
