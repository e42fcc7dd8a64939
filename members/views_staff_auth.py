"""Staff log in and out on the desk's own page and land on the desk (issue 16): not the admin's login,
not the portal, never Django's /accounts/profile/. django-axes locks repeated failures here as on the
admin login (it watches `authenticate`), so the lockout rules of SEC-5 hold on both doors."""
from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


class StaffAuthenticationForm(AuthenticationForm):
    """Only staff accounts get in here; a member or a disabled account gets a plain refusal."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _("This account is not a staff account. Members log in on the member portal."),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


class StaffLoginView(auth_views.LoginView):
    template_name = "desk/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("desk:home")


class StaffLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("staff_login")
