"""memberhub.urls plus the service desk routes, until memberhub/urls.py includes them."""
from django.urls import include, path

from memberhub.urls import urlpatterns as base

urlpatterns = [
    path("api/v1/", include("service_desk.urls")),
    path("portal/service/", include("service_desk.portal_urls")),
    path("desk/service/", include("service_desk.desk_urls")),
    *base,
]
