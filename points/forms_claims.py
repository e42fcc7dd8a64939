"""Forms of points claims (补积分, PTS-11) on the portal and the desk. They only shape input: the window,
the matching and the once-only rule live in points.services.claims."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import Store


class DateInput(forms.DateInput):
    input_type = "date"


class ClaimForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    receipt_no = forms.CharField(label=_("Receipt number"), max_length=64,
                                 help_text=_("The order number printed on the receipt."))
    purchased_on = forms.DateField(label=_("Date of the purchase"), widget=DateInput)
    amount = forms.DecimalField(label=_("Bill amount (yuan)"), max_digits=12, decimal_places=2,
                                min_value=Decimal("0.01"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(is_active=True).order_by("code")

    def clean_receipt_no(self):
        return self.cleaned_data["receipt_no"].strip()


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject")),
                                          ("suspend", _("Suspend the member")), ("dismiss", _("Dismiss"))])
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
