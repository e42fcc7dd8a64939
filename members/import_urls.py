"""Desk pages of the member import (MEM-8), mounted at /desk/import/."""
from django.urls import path

from . import views_import

app_name = "desk_import"
urlpatterns = [
    path("", views_import.import_upload, name="upload"),
    path("template.<str:fmt>", views_import.import_template, name="template"),
    path("<str:token>/confirm/", views_import.import_confirm, name="confirm"),
]
