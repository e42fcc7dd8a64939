"""Filters of the dashboard pages. The store choices are the staff member's store scope."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members import scope
from members.models import Tag, Tier

from .selectors import consumption_periods

MAX_DAYS = 366


def _yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


class _ScopedForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=None, required=False, empty_label=_("All my stores"))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["store"].queryset = scope.stores_for(user).only("pk", "code", "name")

    def valid_data(self) -> dict:
        """The fields that are valid (an out-of-scope store is dropped, the dates are kept)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if k not in self.errors}

    def store_ids(self) -> list[int] | None:
        """The stores to show: the chosen one (it is in scope, the choices guarantee it) or the scope."""
        store = self.valid_data().get("store")
        return [store.pk] if store else scope.store_ids(self.user)


class OverviewFilterForm(_ScopedForm):
    date_from = forms.DateField(label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(_("Choose at most %(days)s days.") % {"days": MAX_DAYS})
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        data = self.valid_data()
        end = data.get("date_to") or _yesterday()
        start = data.get("date_from") or end - dt.timedelta(days=29)
        if start > end or (end - start).days >= MAX_DAYS:
            start = end - dt.timedelta(days=29)
        return start, end


class ConsumptionFilterForm(_ScopedForm):
    period = forms.ChoiceField(label=_("Period"), required=False)
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.all(), required=False,
                                  empty_label=_("All tiers"))
    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.only("pk", "name"), required=False,
                                 empty_label=_("All members"))

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["period"].choices = consumption_periods(_yesterday())

    def filters(self) -> dict:
        data = self.valid_data()
        return {"store_ids": self.store_ids(), "period": data.get("period") or f"{_yesterday():%Y-%m}",
                "tier_id": data["tier"].pk if data.get("tier") else None,
                "tag_id": data["tag"].pk if data.get("tag") else None}
