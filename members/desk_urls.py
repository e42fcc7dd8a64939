"""Staff desk pages under /desk/ (staff log in at /desk/login/, members.views_staff_auth)."""
from django.urls import path

from . import views_desk as views

app_name = "desk"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("search/export.csv", views.search_export, name="search_export"),
    path("members/new/", views.member_new, name="member_new"),
    path("divisions/", views.division_options, name="divisions"),
    path("members/<str:member_no>/", views.member_detail, name="member"),
    path("members/<str:member_no>/reveal/<str:field>/", views.member_reveal, name="member_reveal"),
    path("members/<str:member_no>/status/", views.member_status, name="member_status"),
    path("members/<str:member_no>/tags/", views.member_tag_add, name="member_tag_add"),
    path("members/<str:member_no>/tags/<int:tag_id>/remove/", views.member_tag_remove, name="member_tag_remove"),
    path("members/<str:member_no>/consent/", views.member_consent, name="member_consent"),
    path("members/<str:member_no>/change-request/", views.member_change_request, name="member_change_request"),
    path("members/<str:member_no>/change-request/send-code/", views.member_change_send_code,
         name="member_change_send_code"),
    path("members/<str:member_no>/id-number-consent/", views.member_id_consent, name="member_id_consent"),
    path("members/<str:member_no>/guardian-consent/", views.member_guardian_consent, name="member_guardian_consent"),
    path("members/<str:member_no>/privacy-accept/", views.member_privacy_accept, name="member_privacy_accept"),
    path("members/<str:member_no>/buyers/", views.member_buyer_link, name="member_buyer_link"),
    path("reviews/", views.reviews, name="reviews"),
    path("rereviews/", views.rereviews, name="rereviews"),
    path("privacy-pending/", views.privacy_pending, name="privacy_pending"),
    path("rereviews/<str:member_no>/", views.rereview_member, name="rereview_member"),
    path("reviews/signups/<str:member_no>/", views.review_signup, name="review_signup"),
    path("reviews/changes/<int:pk>/", views.review_change, name="review_change"),
    path("audit/", views.audit_log, name="audit_log"),
]
