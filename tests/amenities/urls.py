"""Project URLs plus amenities, until memberhub/urls.py includes amenities' URL modules."""
from django.urls import include, path

from memberhub.urls import urlpatterns as project_urlpatterns

_mounted = any(getattr(getattr(p, "urlconf_module", None), "__name__", "") == "amenities.desk_urls"
               for p in project_urlpatterns)
urlpatterns = project_urlpatterns if _mounted else [*project_urlpatterns, path("", include("amenities.urls"))]
