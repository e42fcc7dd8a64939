"""Forms of the desk's paid-membership pages; they only shape input (rules in plans.services)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import plan_list_for_sale


class MembershipBuyForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=plan_list_for_sale(), empty_label=None)
    amount = forms.DecimalField(label=_("Amount received (yuan)"), max_digits=12, decimal_places=2, min_value=0)
    receipt_no = forms.CharField(label=_("Receipt number"), max_length=64,
                                 help_text=_("the cashier's receipt of the fee: a resubmitted form with the same receipt buys once"))
    # What the page showed (the current end, or empty): a sale another desk made meanwhile is refused.
    seen_ends_on = forms.CharField(required=False, widget=forms.HiddenInput)


class MembershipRefundForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))
