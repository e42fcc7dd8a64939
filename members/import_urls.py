"""Desk pages of the member import (MEM-8), mounted at /desk/import/."""
from django.urls import path

from . import views_import

app_name = "desk_import"
urlpatterns = [
    path("", views_import.import_upload, name="upload"),
    path("<str:token>/confirm/", views_import.import_confirm, name="confirm"),
]
