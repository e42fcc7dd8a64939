"""Everything member care mounts, for memberhub/urls.py:

    path("api/v1/", include("care.api_urls")),
    path("portal/care/", include("care.portal_urls")),
    path("desk/care/", include("care.desk_urls")),
"""
from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("care.api_urls")),
    path("portal/care/", include("care.portal_urls")),
    path("desk/care/", include("care.desk_urls")),
]
