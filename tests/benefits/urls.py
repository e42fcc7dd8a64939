"""Project URLs plus benefits, until memberhub/urls.py includes them."""
from django.urls import include, path

from memberhub.urls import urlpatterns as project_urlpatterns

_mounted = any(getattr(getattr(p, "urlconf_module", None), "__name__", "") == "benefits.urls"
               for p in project_urlpatterns)
urlpatterns = project_urlpatterns if _mounted else [
    path("api/v1/", include("benefits.urls")),
    path("portal/benefits/", include("benefits.portal_urls")),
    *project_urlpatterns,
]
