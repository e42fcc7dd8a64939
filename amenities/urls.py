"""Everything amenities mounts, for memberhub/urls.py:

    path("portal/amenities/", include("amenities.portal_urls")),
    path("desk/amenities/", include("amenities.desk_urls")),
"""
from django.urls import include, path

urlpatterns = [
    path("portal/amenities/", include("amenities.portal_urls")),
    path("desk/amenities/", include("amenities.desk_urls")),
]
