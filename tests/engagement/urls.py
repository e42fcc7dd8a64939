"""Project URLs plus engagement, until memberhub/urls.py includes its URL modules."""
from django.urls import include, path

from memberhub.urls import urlpatterns as project_urlpatterns

_mounted = any(getattr(getattr(p, "urlconf_module", None), "__name__", "") == "engagement.desk_urls"
               for p in project_urlpatterns)
urlpatterns = project_urlpatterns if _mounted else [
    path("api/v1/", include("engagement.api_urls")),
    path("portal/engagement/", include("engagement.portal_urls")),
    path("desk/engagement/", include("engagement.desk_urls")),
    *project_urlpatterns,
]
