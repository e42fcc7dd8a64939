"""Member portal pages of the service desk, mounted under /portal/service/ by memberhub/urls.py.
No URL carries a member id; complaint ids travel in the query string or POST body and are looked up
among request.member's own complaints only (SEC-3)."""
from django.urls import path

from . import views_portal as views

app_name = "sd_portal"
urlpatterns = [
    path("complaints/", views.my_complaints, name="complaints"),
    path("complaints/new/", views.complaint_new, name="complaint_new"),
    path("complaints/complaint/", views.complaint_detail, name="complaint"),
    path("complaints/rate/", views.complaint_rate, name="complaint_rate"),
    path("faq/", views.faq, name="faq"),
    path("consultations/", views.consultations, name="consultations"),
    path("after-sales/", views.after_sales_cases, name="after_sales"),
    path("after-sales/rate/", views.after_sales_rate, name="after_sales_rate"),
]
