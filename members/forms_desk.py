"""Forms of the staff desk pages. They only shape input: the rules (formats, uniqueness, 4-eyes,
transitions) live in members.services / members.validation, whose domain errors are attached back
to the form field they name (`add_domain_error`)."""
from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.errors import MemberHubError
from core.models import AuditLog

from . import divisions, ecard, scope
from .models import GuardianConsent, Member, Tag, Tier
from .services import CHANGEABLE_FIELDS, STATUS_TRANSITIONS


def add_domain_error(form: forms.Form, exc: MemberHubError) -> None:
    """Show a domain error on the form: each named field gets its messages; the message itself goes
    to the top of the form when no field of this form carries it."""
    placed = False
    for field, messages in (exc.fields or {}).items():
        target = field if field in form.fields else None
        for message in messages:
            if target is None:
                form.add_error(None, f"{field}: {message}")
            else:
                form.add_error(target, message)
        placed = placed or target is not None
    if not placed:
        form.add_error(None, exc.message)


class DateInput(forms.DateInput):
    input_type = "date"


class SearchForm(forms.Form):
    # 100: a scanned e-card QR payload (MH1:<member no>:<time>:<signature>) is about 50 characters.
    q = forms.CharField(
        label=_("Search"), max_length=100, required=False,
        widget=forms.TextInput(attrs={
            "placeholder": _("Scan the e-card, or mobile, last 4 digits + name, member number, ID number"),
            "autofocus": True,
        }),
    )
    # Tags, tier and status filter a search or, without a search text, list members (MEM-7).
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all(), required=False)
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.all(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", "—"), *Member.Status.choices], required=False)

    def clean_q(self) -> str:
        query = (self.cleaned_data.get("q") or "").strip()
        if query.startswith(ecard.PREFIX) and ecard.member_no_from_qr(query) is None:
            raise forms.ValidationError(_(
                "This e-card QR code is invalid or has expired; ask the member to refresh the card and scan again."))
        return query

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {k: data.get(k) for k in ("tag", "tier", "status") if data.get(k)}


class BuyerLinkForm(forms.Form):
    buyer_no = forms.CharField(label=_("Buyer's member number"), max_length=20)
    action = forms.ChoiceField(choices=[("link", pgettext_lazy("buyer", "Link")), ("unlink", _("Unlink"))], initial="link")


class RereviewForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[
        ("confirmed", _("Data confirmed")), ("suspend", _("Suspend")), ("disqualify", _("Disqualify")),
    ])
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class DivisionFieldsMixin:
    """Province, city and district chosen from GB/T 2260 (members.divisions): three dependent selects whose
    options follow the bound values (the page refreshes the lower ones with htmx, desk:divisions); the form
    checks each lies within the one above and gives the deepest chosen as `division_code`."""

    def _setup_divisions(self, initial_code: str = "") -> None:
        self.division_now = initial_code if divisions.names_for(initial_code) else ""
        province, city, district = divisions.path_of(initial_code)
        bound = self.is_bound
        province = self.data.get(self.add_prefix("province"), "") if bound else province
        city = self.data.get(self.add_prefix("city"), "") if bound else city
        empty = [("", "—")]
        attrs = {"hx-get": reverse_lazy("desk:divisions"), "hx-trigger": "change", "hx-swap": "innerHTML"}
        self.fields["province"] = forms.ChoiceField(
            label=_("Province"), required=False, initial=province,
            choices=[*empty, *((d.code, d.name) for d in divisions.provinces())],
            widget=forms.Select(attrs={**attrs, "hx-target": "#id_city", "data-division": "province"}))
        self.fields["city"] = forms.ChoiceField(
            label=_("City"), required=False, initial=city,
            choices=[*empty, *((d.code, d.name) for d in divisions.children_of(province))],
            widget=forms.Select(attrs={**attrs, "hx-target": "#id_district", "data-division": "city"}))
        self.fields["district"] = forms.ChoiceField(
            label=_("District"), required=False, initial=district,
            choices=[*empty, *((d.code, d.name) for d in divisions.children_of(city))],
            widget=forms.Select(attrs={"data-division": "district"}))
        names = [n for n in self.fields if n not in ("province", "city", "district")]
        at = names.index("id_number") + 1 if "id_number" in names else len(names)
        self.order_fields([*names[:at], "province", "city", "district", *names[at:]])

    def division_code(self) -> str:
        data = self.cleaned_data
        return data.get("district") or data.get("city") or data.get("province") or ""


class DeskSignupForm(DivisionFieldsMixin, forms.Form):
    """Desk sign-up of a personal or corporate member (MEM-1, MEM-2)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Member.Kind.choices, initial=Member.Kind.PERSONAL,
                             widget=forms.RadioSelect)
    name = forms.CharField(label=_("Name"), max_length=50, required=False,
                           help_text=_("For a corporate member, leave empty to use the company name."))
    mobile = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=Member.Gender.choices, initial=Member.Gender.UNKNOWN)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DateInput)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=18, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    occupation = forms.CharField(label=_("Occupation"), max_length=50, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    company_name = forms.CharField(label=_("Company name"), max_length=100, required=False)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False)
    contact_person = forms.CharField(label=_("Contact person"), max_length=50, required=False)
    store = forms.ModelChoiceField(label=_("Home store"), queryset=None, required=False)
    privacy_accepted = forms.BooleanField(
        label=_("The member has read and accepts the privacy policy"), required=False
    )
    marketing = forms.BooleanField(label=_("The member agrees to receive marketing messages"), required=False)
    id_number_consent = forms.BooleanField(
        label=_("The member separately agrees that the ID number is stored (sensitive personal information)"),
        required=False,
    )
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=50, required=False,
                                    help_text=_("Only for a member under 14 (PIPL art. 31)."))
    guardian_relation = forms.CharField(label=_("Relation to the child"), max_length=20, required=False)
    guardian_mobile = forms.CharField(label=_("Guardian's mobile"), max_length=20, required=False)
    guardian_verified_how = forms.ChoiceField(label=_("How the guardian was verified"), required=False,
                                              choices=[("", "—"), *GuardianConsent.Verification.choices])

    PERSONAL_FIELDS = ("name", "mobile", "gender", "birthday", "id_number", "address", "occupation", "email")
    CORPORATE_FIELDS = ("company_name", "credit_code", "contact_person")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self._setup_divisions()
        self.fields["store"].queryset = scope.stores_for(user)
        own = scope.staff_store(user)
        if scope.is_chain_wide(user):
            self.fields["store"].initial = own
        else:
            # Staff of one store always register into it (MEM-9); no choice to offer.
            del self.fields["store"]

    def is_corporate(self) -> bool:
        return self.cleaned_data.get("kind") == Member.Kind.CORPORATE

    def clean(self):
        """The company block belongs to a corporate member only: required there, refused on a personal one
        (the page hides it for a personal member; this is the rule, whatever the page sent)."""
        cleaned = super().clean()
        filled = [k for k in self.CORPORATE_FIELDS if (cleaned.get(k) or "").strip()]
        if cleaned.get("kind") == Member.Kind.CORPORATE:
            for key in self.CORPORATE_FIELDS:
                if key not in filled:
                    self.add_error(key, _("Required for a corporate member."))
        else:
            for key in filled:
                self.add_error(key, _("Only a corporate member has company details; choose the corporate kind "
                                      "or leave this empty."))
        return cleaned

    def member_data(self) -> dict:
        data = {k: self.cleaned_data.get(k) for k in self.PERSONAL_FIELDS}
        data = {k: v for k, v in data.items() if v not in (None, "")}
        if code := self.division_code():
            data["division_code"] = code
        if self.is_corporate() and not data.get("name"):
            data["name"] = self.cleaned_data.get("company_name", "")
        data.setdefault("name", "")
        data.setdefault("mobile", "")
        return data

    def corporate_data(self) -> dict | None:
        if not self.is_corporate():
            return None
        return {k: self.cleaned_data.get(k, "") for k in self.CORPORATE_FIELDS}

    def guardian_data(self) -> dict:
        return {k: self.cleaned_data.get(k, "") for k in GUARDIAN_FORM_FIELDS}


GUARDIAN_FORM_FIELDS = ("guardian_name", "guardian_relation", "guardian_mobile", "guardian_verified_how")


STATUS_ACTION_LABELS = {"suspend": _("Suspend"), "disqualify": _("Disqualify"), "reinstate": _("Reinstate")}


class StatusForm(forms.Form):
    """Suspend / disqualify / reinstate with a reason (MEM-5)."""

    action = forms.ChoiceField(label=_("Action"), choices=[(k, STATUS_ACTION_LABELS.get(k, k)) for k in STATUS_TRANSITIONS])
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TagAddForm(forms.Form):
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.filter(kind=Tag.Kind.MANUAL))

    def __init__(self, *args, member: Member | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if member is not None:
            self.fields["tag"].queryset = Tag.objects.filter(kind=Tag.Kind.MANUAL).exclude(member_tags__member=member)


class ConsentForm(forms.Form):
    granted = forms.TypedChoiceField(
        label=_("Marketing messages"), coerce=lambda v: v == "1",
        choices=[("1", _("Opt in")), ("0", _("Opt out"))],
    )


class ChangeRequestForm(DivisionFieldsMixin, forms.Form):
    """变更申请 at the desk (MEM-4): only the fields filled in are proposed."""

    name = forms.CharField(label=_("Name"), max_length=50, required=False)
    gender = forms.ChoiceField(label=_("Gender"), required=False,
                               choices=[("", _("(no change)")), *Member.Gender.choices])
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DateInput)
    mobile = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=18, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    occupation = forms.CharField(label=_("Occupation"), max_length=50, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    sms_code = forms.CharField(label=_("Code the member read out from the new mobile"), max_length=6,
                               required=False, help_text=_("Only when the mobile number changes."))
    id_number_consent = forms.BooleanField(
        label=_("The member separately agrees that the ID number is stored (sensitive personal information)"),
        required=False,
    )

    def __init__(self, *args, member: Member | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_divisions(member.division_code if member is not None else "")

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.changes(cleaned):
            raise forms.ValidationError(_("Fill in at least one field to change."))
        return cleaned

    def changes(self, cleaned: dict | None = None) -> dict:
        cleaned = self.cleaned_data if cleaned is None else cleaned
        out = {}
        code = cleaned.get("district") or cleaned.get("city") or cleaned.get("province") or ""
        if code and code != self.division_now:
            out["division_code"] = code
        for key in CHANGEABLE_FIELDS:
            if key in ("division_code", "province", "city", "district"):
                continue
            value = cleaned.get(key)
            if value not in (None, ""):
                out[key] = value.strip() if isinstance(value, str) else value
        return out


class GuardianConsentForm(forms.Form):
    """The guardian's consent recorded after sign-up, e.g. for a pending child's sign-up (PIPL art. 31)."""

    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=50)
    guardian_relation = forms.CharField(label=_("Relation to the child"), max_length=20)
    guardian_mobile = forms.CharField(label=_("Guardian's mobile"), max_length=20)
    guardian_verified_how = forms.ChoiceField(label=_("How the guardian was verified"),
                                              choices=GuardianConsent.Verification.choices)


class IdNumberConsentForm(forms.Form):
    granted = forms.TypedChoiceField(
        label=_("Storing the ID number"), coerce=lambda v: v == "1",
        choices=[("1", _("Consent given")), ("0", _("Consent withdrawn (erases the ID number)"))],
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


class AuditFilterForm(forms.Form):
    staff = forms.CharField(label=_("Staff"), max_length=150, required=False)
    member_no = forms.CharField(label=_("Member number"), max_length=20, required=False)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("All actions")), *AuditLog.Action.choices])
    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=DateInput)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
