"""Project URLs plus the evaluation API and desk pages, until memberhub/urls.py includes them."""
from django.urls import include, path

from memberhub.urls import urlpatterns as project_urlpatterns


def _included(module: str) -> bool:
    return any(getattr(getattr(p, "urlconf_module", None), "__name__", "") == module
               or getattr(p, "urlconf_name", None) == module for p in project_urlpatterns)


urlpatterns = list(project_urlpatterns)
if not _included("evaluation.urls"):
    urlpatterns.append(path("api/v1/", include("evaluation.urls")))
if not _included("evaluation.desk_urls"):
    urlpatterns.append(path("desk/evaluation/", include("evaluation.desk_urls")))
