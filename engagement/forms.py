"""Desk form of an event's outcome: budget, actual cost, sales window, lessons learned (seed 002 六)."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LESSONS_MAX_LENGTH, SALES_WINDOW_DAYS_MAX, Event
from .services import EVENT_MONEY_MAX


class EventOutcomeForm(forms.Form):
    budget = forms.DecimalField(label=_("Budget (yuan)"), max_digits=12, decimal_places=2, min_value=Decimal("0"),
                                max_value=EVENT_MONEY_MAX)
    cost = forms.DecimalField(label=_("Actual cost (yuan)"), max_digits=12, decimal_places=2, min_value=Decimal("0"),
                              max_value=EVENT_MONEY_MAX, required=False,
                              help_text=_("venue, materials, staff and promotion together"))
    sales_window_days = forms.IntegerField(label=_("Sales window after the event (days)"), min_value=0,
                                           max_value=SALES_WINDOW_DAYS_MAX)
    lessons_learned = forms.CharField(label=_("Lessons learned"), required=False, max_length=LESSONS_MAX_LENGTH,
                                      widget=forms.Textarea(attrs={"rows": 4}))

    @classmethod
    def for_event(cls, event: Event, data=None) -> EventOutcomeForm:
        return cls(data, initial={"budget": event.budget, "cost": event.cost,
                                  "sales_window_days": event.sales_window_days,
                                  "lessons_learned": event.lessons_learned})
