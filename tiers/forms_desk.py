"""Forms of the desk's tier pages (TIER-4). They only shape input: the rules live in tiers.services."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.forms_desk import DateInput
from members.models import Tier


class TierGrantForm(forms.Form):
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.order_by("rank"), empty_label=None)
    until = forms.DateField(label=_("Until"), widget=DateInput,
                            help_text=_("The member keeps at least this tier through this date."))
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
