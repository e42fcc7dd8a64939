"""Desk forms of member care; they only parse input, the services decide."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Dimension, ImprovementAction


class VisitOutcomeForm(forms.Form):
    reached = forms.TypedChoiceField(
        label=_("Outcome"), choices=[("1", _("Reached")), ("0", _("Not reached"))], coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"), required=False, empty_value=None, coerce=int,
        choices=[("", _("— (not reached)"))] + [(str(i), str(i)) for i in range(1, 6)],
    )
    feedback = forms.CharField(label=_("Feedback"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_needed = forms.BooleanField(label=_("Follow-up needed"), required=False)


class SurveySendForm(forms.Form):
    """Send to everyone, or to a random sample (a size or a percentage; the seed makes it reproducible)."""

    sample_size = forms.IntegerField(label=_("Sample size"), required=False, min_value=1, max_value=100_000)
    sample_percent = forms.DecimalField(label=_("or sample (%)"), required=False, min_value=Decimal("0.01"),
                                        max_value=Decimal("100"), decimal_places=2)
    seed = forms.CharField(label=_("Seed (empty: a new one)"), required=False, max_length=32)
    call_list_only = forms.BooleanField(label=_("Call list only (send no invitations)"), required=False)


class ActionForm(forms.Form):
    dimension = forms.ChoiceField(label=_("Dimension"), choices=Dimension.choices)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    title = forms.CharField(label=_("Title"), max_length=200)
    plan = forms.CharField(label=_("Plan"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int)
    due_on = forms.DateField(label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, stores=(), owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("Whole chain"))] + [(s.pk, str(s)) for s in stores]
        self.fields["owner"].choices = [(u.pk, str(getattr(u, "staff_profile", None) or u.get_username()))
                                        for u in owners]


class ActionUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ImprovementAction.Status.choices)
    evidence = forms.CharField(label=_("Evidence"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    evidence_file_note = forms.CharField(label=_("Evidence file (where it is kept)"), required=False, max_length=300)


class RemeasureForm(forms.Form):
    survey = forms.TypedChoiceField(label=_("Re-measure with survey"), coerce=int)

    def __init__(self, *args, surveys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].choices = [(s.pk, str(s)) for s in surveys]


def add_domain_error(form: forms.Form, exc) -> None:
    """Put a domain error's field messages on the form (unknown fields go to the top)."""
    placed = False
    for field, messages in (exc.fields or {}).items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
            placed = True
    if not placed or exc.message:
        form.add_error(None, exc.message)


def answers_from_post(post, questions) -> dict:
    """The answers of a survey form (portal or desk) as survey services take them: question id to value."""
    answers = {}
    for q in questions:
        values = post.getlist(f"q{q.pk}")
        answers[q.pk] = values if q.kind == "multiple" else (values[0] if values else "")
    return answers
