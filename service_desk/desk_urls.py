"""Service desk staff pages, mounted under /desk/service/ by memberhub/urls.py. Complaint ids travel
in the query string or POST body and are looked up within the staff member's store scope."""
from django.urls import path

from . import views_desk as views

app_name = "sd_desk"
urlpatterns = [
    path("complaints/", views.complaint_queue, name="queue"),
    path("complaints/new/", views.complaint_new, name="complaint_new"),
    path("complaints/complaint/", views.complaint_detail, name="complaint"),
    path("complaints/action/", views.complaint_action, name="complaint_action"),
    path("complaints/compensate/", views.complaint_compensate, name="complaint_compensate"),
    path("complaints/follow-up/", views.complaint_follow_up, name="complaint_follow_up"),
    path("notices/read/", views.notice_read, name="notice_read"),
    path("consultations/", views.consultations, name="consultations"),
    path("consultations/action/", views.consultation_action, name="consultation_action"),
    path("consultations/decide/", views.suggestion_decide, name="suggestion_decide"),
    path("after-sales/", views.after_sales_queue, name="after_sales_queue"),
    path("after-sales/new/", views.after_sales_new, name="after_sales_new"),
    path("after-sales/case/", views.after_sales_detail, name="after_sales"),
    path("after-sales/action/", views.after_sales_action, name="after_sales_action"),
    path("after-sales/rate/", views.after_sales_rate, name="after_sales_rate"),
    path("faq/", views.faq, name="faq"),
    path("members/<str:member_no>/panel/", views.member_service_panel, name="member_panel"),
    path("members/<str:member_no>/summary/", views.member_summary, name="member_summary"),
    path("reports/compliance/", views.compliance_report, name="report"),
]
