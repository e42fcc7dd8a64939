"""Forms of the member self-service portal.

The forms only collect input: every format and completeness rule lives in members.validation and
the services, whose domain errors are put back on the form field they name (`add_domain_error`)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import MemberHubError

from .models import Member, Store

GENDER_CHOICES = Member.Gender.choices

# Labels of the fields members see on the portal, also used for the change history.
FIELD_LABELS = {
    "name": _("Name"),
    "mobile": _("Mobile number"),
    "gender": _("Gender"),
    "birthday": _("Birthday"),
    "province": _("Province"),
    "city": _("City"),
    "district": _("District"),
    "address": _("Address"),
    "occupation": _("Occupation"),
    "email": _("E-mail"),
    "id_number": _("Resident ID number"),
    "status": _("Status"),
    "home_store": _("Home store"),
    "sms_code": _("SMS code"),
    "id_number_consent": _("Consent to store the ID number"),
    "guardian_name": _("Guardian's name"),
    "guardian_relation": _("Relation to the child"),
    "guardian_mobile": _("Guardian's mobile"),
    "guardian_verified_how": _("How the guardian was verified"),
}

ID_NUMBER_CONSENT_LABEL = _("I separately agree that my resident ID number, sensitive personal information, "
                            "is stored to confirm my identity (can be withdrawn at any time; it is then erased)")


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def add_domain_error(form: forms.Form, exc: MemberHubError) -> None:
    """Show a domain error on the fields it names; anything else becomes a form-wide error."""
    placed = False
    for field, messages in (exc.fields or {}).items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message if target else f"{field_label(field)}: {message}")
        placed = True
    if not placed:
        form.add_error(None, exc.message)


class _TextInput(forms.TextInput):
    def __init__(self, **attrs):
        super().__init__(attrs=attrs)


def _text(label, *, required=False, max_length=200, **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length, widget=_TextInput(**attrs))


class _ProfileFields(forms.Form):
    """The personal fields shared by sign-up and change requests (MEM-1, MEM-4)."""

    name = _text(FIELD_LABELS["name"], required=True, max_length=50, autocomplete="name")
    mobile = _text(FIELD_LABELS["mobile"], required=True, max_length=20, inputmode="tel", autocomplete="tel")
    gender = forms.ChoiceField(label=FIELD_LABELS["gender"], choices=GENDER_CHOICES, initial=Member.Gender.UNKNOWN,
                               required=False)
    # Kept as text: members.validation parses and checks the date, so the error text is one.
    birthday = forms.CharField(label=FIELD_LABELS["birthday"], required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    province = _text(FIELD_LABELS["province"], max_length=20)
    city = _text(FIELD_LABELS["city"], max_length=20)
    district = _text(FIELD_LABELS["district"], max_length=20)
    address = _text(FIELD_LABELS["address"], max_length=200, autocomplete="street-address")
    occupation = _text(FIELD_LABELS["occupation"], max_length=50)
    email = forms.CharField(label=FIELD_LABELS["email"], required=False, max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    id_number = _text(FIELD_LABELS["id_number"], max_length=18,
                      help_text=_("Optional. 18 characters; only used to confirm your identity."))

    def member_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k in _ProfileFields.base_fields}
        if not data.get("id_number"):
            data.pop("id_number", None)
        return data


class SignupForm(_ProfileFields):
    """Sign-up (MEM-1); a child under 14 is signed up by a guardian with the guardian's mobile (PIPL art. 31)."""

    home_store = forms.ModelChoiceField(
        label=FIELD_LABELS["home_store"], queryset=Store.objects.none(), empty_label=_("Choose your store"),
    )
    sms_code = _text(FIELD_LABELS["sms_code"], required=True, max_length=6, inputmode="numeric",
                     autocomplete="one-time-code")
    privacy_accepted = forms.BooleanField(label=_("I have read and accept the privacy policy"), required=False)
    marketing = forms.BooleanField(
        label=_("Send me offers and event news by SMS (optional, can be withdrawn at any time)"),
        required=False, initial=False,
    )
    id_number_consent = forms.BooleanField(label=ID_NUMBER_CONSENT_LABEL, required=False)
    guardian_name = _text(FIELD_LABELS["guardian_name"], max_length=50)
    guardian_relation = _text(FIELD_LABELS["guardian_relation"], max_length=20)
    guardian_mobile = _text(FIELD_LABELS["guardian_mobile"], max_length=20, inputmode="tel",
                            help_text=_("The number above, which received the SMS code."))

    field_order = ["home_store", "name", "mobile", "sms_code", "gender", "birthday", "province", "city",
                   "district", "address", "occupation", "email", "id_number", "id_number_consent",
                   "privacy_accepted", "marketing"]

    def guardian_data(self) -> dict | None:
        if not self.cleaned_data.get("guardian_name") and not self.cleaned_data.get("guardian_mobile"):
            return None
        return {k: self.cleaned_data.get(k, "") for k in ("guardian_name", "guardian_relation", "guardian_mobile")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["home_store"].queryset = Store.objects.filter(is_active=True).order_by("code")


class LoginForm(forms.Form):
    mobile = _text(FIELD_LABELS["mobile"], required=True, max_length=20, inputmode="tel", autocomplete="tel")
    sms_code = _text(FIELD_LABELS["sms_code"], required=True, max_length=6, inputmode="numeric",
                     autocomplete="one-time-code")


class ChangeRequestForm(_ProfileFields):
    """Proposed new values; the service keeps only what differs and waits for review. A new mobile number
    needs the code sent to it (MEM-4); a new ID number the separate consent (PIPL art. 29)."""

    sms_code = _text(_("Code sent to the new mobile number"), max_length=6, inputmode="numeric",
                     autocomplete="one-time-code", help_text=_("Only when you change your mobile number."))
    id_number_consent = forms.BooleanField(label=ID_NUMBER_CONSENT_LABEL, required=False)

    field_order = ["name", "mobile", "sms_code", "gender", "birthday", "province", "city", "district", "address",
                   "occupation", "email", "id_number", "id_number_consent"]


class IdNumberConsentForm(forms.Form):
    granted = forms.TypedChoiceField(
        choices=[("1", _("Yes")), ("0", _("No"))], coerce=lambda v: v == "1", empty_value=None,
    )


class PrivacyAcceptForm(forms.Form):
    version = forms.CharField(max_length=16, widget=forms.HiddenInput)
    accepted = forms.BooleanField(label=_("I have read and accept this version of the privacy policy"))


class MarketingConsentForm(forms.Form):
    granted = forms.TypedChoiceField(
        choices=[("1", _("Yes")), ("0", _("No"))], coerce=lambda v: v == "1", empty_value=None,
    )


class CloseAccountForm(forms.Form):
    member_no = _text(_("Type your member number to confirm"), required=True, max_length=20,
                      inputmode="numeric", autocomplete="off")

    def __init__(self, *args, member: Member, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member

    def clean_member_no(self) -> str:
        value = self.cleaned_data["member_no"].strip().replace(" ", "")
        if value != self.member.member_no:
            raise forms.ValidationError(_("This is not your member number."))
        return value
