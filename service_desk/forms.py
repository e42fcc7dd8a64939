"""Forms of the desk and portal pages; validation of rules stays in service_desk.services."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members import scope
from members.models import Store

from .models import (
    AfterSalesKind,
    AfterSalesPriority,
    AfterSalesStatus,
    Channel,
    ComplaintCategory,
    ComplaintStatus,
    Consultation,
    Department,
    FaqArticle,
    Severity,
)
from .services import STAFF_CHANNELS


def add_domain_error(form: forms.Form, exc) -> None:
    """Put a domain error's field messages on the form's fields (or on the form)."""
    placed = False
    for field, messages in (getattr(exc, "fields", None) or {}).items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def staff_choices(user):
    qs = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
    ids = scope.store_ids(user)
    return qs if ids is None else qs.filter(staff_profile__store_id__in=ids)


class ComplaintIntakeForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=[(c, Channel(c).label) for c in STAFF_CHANNELS])
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    member_no = forms.CharField(label=_("Member number"), required=False, max_length=20)
    contact_name = forms.CharField(label=_("Customer name (walk-in)"), required=False, max_length=50)
    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.NORMAL)
    order_no = forms.CharField(label=_("Order number"), required=False, max_length=40)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}))
    department = forms.ModelChoiceField(label=_("Department"), required=False,
                                        queryset=Department.objects.filter(is_active=True))
    assignee = forms.ModelChoiceField(label=_("Assignee"), required=False, queryset=get_user_model().objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = scope.stores_for(user)
        self.fields["store"].initial = scope.staff_store(user)
        self.fields["assignee"].queryset = staff_choices(user)


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Open (not closed)"))] + list(ComplaintStatus.choices))
    store = forms.ModelChoiceField(label=_("Store"), required=False, queryset=Store.objects.none())
    category = forms.ChoiceField(label=_("Category"), required=False,
                                 choices=[("", _("All"))] + list(ComplaintCategory.choices))
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = scope.stores_for(user)


class TransitionForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(label=_("Department"), required=False,
                                        queryset=Department.objects.filter(is_active=True))
    assignee = forms.ModelChoiceField(label=_("Assignee"), required=False, queryset=get_user_model().objects.none())
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_choices(user)


class CompensationForm(forms.Form):
    points = forms.IntegerField(label=_("Points"), required=False, min_value=1, max_value=100_000)
    coupon_type = forms.ModelChoiceField(label=_("Coupon"), required=False, queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        from points.models import CouponType

        super().__init__(*args, **kwargs)
        self.fields["coupon_type"].queryset = CouponType.objects.filter(is_active=True).order_by("name")


class FollowUpForm(forms.Form):
    reached = forms.BooleanField(label=_("Customer reached"), required=False)
    outcome = forms.CharField(label=_("Outcome"), widget=forms.Textarea(attrs={"rows": 2}))


class ConsultationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Consultation.Kind.choices)
    category = forms.ChoiceField(label=_("Category"), choices=Consultation.Category.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=[(c, Channel(c).label) for c in STAFF_CHANNELS])
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    member_no = forms.CharField(label=_("Member number"), required=False, max_length=20)
    contact_name = forms.CharField(label=_("Customer name"), required=False, max_length=50)
    question = forms.CharField(label=_("Question or suggestion"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = scope.stores_for(user)
        self.fields["store"].initial = scope.staff_store(user)


class ConsultationAnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=2000)
    faq = forms.ModelChoiceField(label=_("FAQ article"), required=False,
                                 queryset=FaqArticle.objects.filter(published=True))
    department = forms.ModelChoiceField(label=_("Department"), required=False,
                                        queryset=Department.objects.filter(is_active=True))
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class SuggestionDecisionForm(forms.Form):
    adopted = forms.TypedChoiceField(label=_("Decision"), coerce=lambda v: v == "1",
                                     choices=[("1", _("Adopted")), ("0", _("Not adopted"))])
    feedback = forms.CharField(label=_("Feedback to the member"), max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}))


class AfterSalesIntakeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AfterSalesKind.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=AfterSalesPriority.choices,
                                 initial=AfterSalesPriority.STANDARD)
    channel = forms.ChoiceField(label=_("Channel"), choices=[(c, Channel(c).label) for c in STAFF_CHANNELS])
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    member_no = forms.CharField(label=_("Member number"), required=False, max_length=20)
    contact_name = forms.CharField(label=_("Customer name (walk-in)"), required=False, max_length=50)
    order_no = forms.CharField(label=_("Order number"), required=False, max_length=40)
    product = forms.CharField(label=_("Product"), max_length=200)
    description = forms.CharField(label=_("Problem"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    assignee = forms.ModelChoiceField(label=_("Assignee"), required=False, queryset=get_user_model().objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = scope.stores_for(user)
        self.fields["store"].initial = scope.staff_store(user)
        self.fields["assignee"].queryset = staff_choices(user)


class AfterSalesFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Open (not closed)"))] + list(AfterSalesStatus.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All"))] + list(AfterSalesKind.choices))
    store = forms.ModelChoiceField(label=_("Store"), required=False, queryset=Store.objects.none())
    satisfaction = forms.BooleanField(label=_("Satisfaction checks due"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = scope.stores_for(user)


class AfterSalesActionForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    vendor = forms.CharField(label=_("Handed to"), required=False, max_length=100)
    reference = forms.CharField(label=_("Vendor reference"), required=False, max_length=60)


class AfterSalesRatingForm(forms.Form):
    score = forms.TypedChoiceField(label=_("Rating"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)])
    channel = forms.ChoiceField(label=_("Given by"), choices=[("phone", _("Phone call")), ("desk", _("At the desk"))])
    comment = forms.CharField(label=pgettext_lazy("feedback", "Comment"), required=False, max_length=500)


class PortalAfterSalesForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AfterSalesKind.choices)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.filter(is_active=True))
    order_no = forms.CharField(label=_("Order number (optional)"), required=False, max_length=40)
    product = forms.CharField(label=_("Product"), max_length=200)
    description = forms.CharField(label=_("What is wrong?"), widget=forms.Textarea(attrs={"rows": 4}),
                                  max_length=2000)


class PortalComplaintForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.filter(is_active=True))
    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)
    order_no = forms.CharField(label=_("Order number (optional)"), required=False, max_length=40)
    description = forms.CharField(label=_("What happened?"), widget=forms.Textarea(attrs={"rows": 5}),
                                  max_length=2000)


class PortalConsultationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Consultation.Kind.choices)
    category = forms.ChoiceField(label=_("Category"), choices=Consultation.Category.choices)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.filter(is_active=True))
    question = forms.CharField(label=_("Question or suggestion"), widget=forms.Textarea(attrs={"rows": 5}),
                               max_length=2000)


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(label=_("Rating"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)],
                                   widget=forms.RadioSelect)
    comment = forms.CharField(label=pgettext_lazy("feedback", "Comment"), required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 2}))


class ReportForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by_month = forms.BooleanField(label=_("Per month"), required=False)

    def period(self) -> tuple[dt.date, dt.date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        start = data.get("start") or today.replace(day=1)
        end = data.get("end") or today
        return (start, end) if start <= end else (end, start)
