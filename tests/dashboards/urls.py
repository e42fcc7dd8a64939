"""The project's routes plus the dashboards', for tests, until memberhub.urls includes them."""
from django.urls import include, path

from memberhub.urls import urlpatterns as project_urlpatterns

_mounted = any(getattr(p, "namespace", None) == "dashboards" for p in project_urlpatterns)
urlpatterns = ([] if _mounted else [path("desk/dashboards/", include("dashboards.urls"))]) + list(project_urlpatterns)
