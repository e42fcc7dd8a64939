"""Member self-service portal. No URL carries a member id: every page reads request.member (SEC-3)."""
from django.urls import path

from . import views_portal as views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("card/", views.ecard_refresh, name="ecard"),
    path("perks/", views.perks, name="perks"),
    path("services/", views.services, name="services"),
    path("me/", views.me, name="me"),
    path("signup/", views.signup, name="signup"),
    path("signup/send-code/", views.signup_send_code, name="signup_send_code"),
    path("login/", views.login, name="login"),
    path("login/send-code/", views.login_send_code, name="login_send_code"),
    path("logout/", views.logout, name="logout"),
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/accept/", views.privacy_accept, name="privacy_accept"),
    path("profile/", views.profile, name="profile"),
    path("profile/send-code/", views.profile_send_code, name="profile_send_code"),
    path("consents/", views.consents, name="consents"),
    path("consents/id-number/", views.consent_id_number, name="consent_id_number"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/download/", views.my_data_download, name="my_data_download"),
    path("my-data/view/", views.my_data_view, name="my_data_view"),
    path("close/", views.close_account, name="close"),
    path("closed/", views.closed, name="closed"),
]
