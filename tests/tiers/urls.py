"""Project URLs plus the tier API, until memberhub/urls.py includes tiers.urls."""
from django.urls import include, path

from memberhub.urls import urlpatterns as project_urlpatterns

if not any(getattr(p, "urlconf_name", None) == "tiers.urls" or
           getattr(getattr(p, "urlconf_module", None), "__name__", "") == "tiers.urls" for p in project_urlpatterns):
    urlpatterns = [*project_urlpatterns, path("api/v1/", include("tiers.urls"))]
else:
    urlpatterns = project_urlpatterns
