"""Portal pages of benefits, mounted at /portal/benefits/ (namespace benefits_portal); public."""
from django.urls import path

from . import views

app_name = "benefits_portal"
urlpatterns = [
    path("", views.benefit_table, name="table"),
]
