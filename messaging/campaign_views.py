"""Desk pages of campaign sends (operations manager): list, create / edit a draft, audience
preview after consent and quiet hours, schedule or send now, cancel, progress with failures.

Reads go through messaging.campaigns selectors (store scope), writes through its services."""
from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import replica
from core.errors import MemberHubError
from core.web import need, staff_required
from evaluation.forms import Chips, describe
from evaluation.models import Segment
from members import scope
from members.models import Tag, Tier

from .campaigns import (
    CAMPAIGN_CHANNELS,
    CAMPAIGN_KINDS,
    SendConfirmationNeeded,
    audience_queryset,
    campaign_cancel,
    campaign_create,
    campaign_get_for_staff,
    campaign_list_for_staff,
    campaign_preview,
    campaign_progress,
    campaign_sample,
    campaign_schedule,
    campaign_send_confirmation,
    campaign_send_now,
    campaign_send_test,
    campaign_update,
)
from .models import Campaign, MessageTemplate

PAGE_SIZE = 25


def _segments():
    return list(Segment.objects.order_by("name").values_list("pk", "name"))


class JsonObjectField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value):
        value = (super().to_python(value) or "").strip()
        if not value:
            return {}
        try:
            data = json.loads(value)
        except ValueError:
            raise forms.ValidationError(gettext_lazy("Enter a JSON object, e.g. {\"min_age\": 30}.")) from None
        if not isinstance(data, dict):
            raise forms.ValidationError(gettext_lazy("Enter a JSON object, e.g. {\"min_age\": 30}."))
        return data

    def prepare_value(self, value):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.get_channel_display()} · {obj.get_kind_display()}）"


class CampaignForm(forms.Form):
    """The campaign's message and audience. The audience is a saved segment (built with chips on the
    segment page), narrowed by tiers / tags / home stores picked here as chips; nobody types JSON.
    Conditions an older campaign holds beyond these (saved-filter keys) are kept as they are."""

    name = forms.CharField(label=gettext_lazy("Campaign name"), max_length=100)
    template = TemplateChoiceField(
        label=gettext_lazy("Template"),
        queryset=MessageTemplate.objects.filter(active=True, kind__in=CAMPAIGN_KINDS, channel__in=CAMPAIGN_CHANNELS)
        .order_by("kind", "name"))
    text = forms.CharField(label=gettext_lazy("Message text"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=gettext_lazy("Fills {text} in the template, the same for every recipient; "
                                                  "{name} and {member_no} in the template are filled per member."))
    params = JsonObjectField(label=gettext_lazy("Other template values (advanced)"), required=False,
                             help_text=gettext_lazy("Only for templates with placeholders other than {text}, "
                                                    "e.g. {\"title\": \"...\"}."))
    segment = forms.TypedChoiceField(label=gettext_lazy("Segment"), required=False, coerce=int, empty_value=None,
                                     help_text=gettext_lazy("Build segments with chips on the segment page."))
    tiers = forms.ModelMultipleChoiceField(label=gettext_lazy("Tiers"), queryset=Tier.objects.order_by("rank"),
                                           required=False, to_field_name="code", widget=Chips())
    tags = forms.ModelMultipleChoiceField(label=gettext_lazy("Tags"), queryset=Tag.objects.order_by("name"),
                                          required=False, to_field_name="name", widget=Chips())
    stores = forms.ModelMultipleChoiceField(label=gettext_lazy("Home stores"), queryset=Tier.objects.none(),
                                            required=False, to_field_name="code", widget=Chips())

    def __init__(self, *args, user, extra_audience: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = scope.stores_for(user).order_by("code")
        self.fields["segment"].choices = [("", gettext_lazy("— none: tiers, tags and stores below"))] + _segments()
        self.extra_audience = dict(extra_audience or {})

    def template_params(self) -> dict:
        """The template values: the message text as {text}, plus any other values given."""
        params = dict(self.cleaned_data.get("params") or {})
        if self.cleaned_data.get("text"):
            params["text"] = self.cleaned_data["text"]
        return params

    def audience(self) -> dict:
        data = self.cleaned_data
        audience = dict(self.extra_audience)
        for key in ("tags", "tiers", "stores"):
            values = [getattr(o, self.fields[key].to_field_name) for o in data.get(key) or []]
            if values:
                audience[key] = values
        return audience

    @classmethod
    def initial_for(cls, campaign: Campaign) -> tuple[dict, dict]:
        """(form initial, the audience keys the form has no chips for)."""
        audience = dict(campaign.audience or {})
        lists = {k: audience.pop(k, []) for k in ("tags", "tiers", "stores")}
        params = dict(campaign.params or {})
        text = params.pop("text", "")
        return ({"name": campaign.name, "template": campaign.template_id, "text": text, "params": params,
                 "segment": campaign.segment_id, **lists}, audience)


def _add_domain_error(form: forms.Form, exc: MemberHubError) -> None:
    for field, errors in (exc.fields or {}).items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    form.add_error(None, exc.message)


@require_GET
@staff_required
def campaign_list(request):
    need(request.user, "messaging.view_campaign")
    page = Paginator(campaign_list_for_staff(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "messaging/campaigns/list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@staff_required
def campaign_new(request):
    need(request.user, "messaging.add_campaign")
    initial = {}
    if request.GET.get("segment", "").isdigit():
        initial["segment"] = int(request.GET["segment"])
    form = CampaignForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(user=request.user, name=form.cleaned_data["name"],
                                       template=form.cleaned_data["template"], audience=form.audience(),
                                       segment_id=form.cleaned_data["segment"], params=form.template_params())
        except MemberHubError as exc:
            _add_domain_error(form, exc)
        else:
            messages.success(request, _("Draft saved. Check the audience, then schedule it."))
            return redirect("campaign_desk:detail", pk=campaign.pk)
    return render(request, "messaging/campaigns/form.html", _form_context(request, form, None))


@require_http_methods(["GET", "POST"])
@staff_required
def campaign_edit(request, pk: int):
    need(request.user, "messaging.change_campaign")
    campaign = campaign_get_for_staff(request.user, pk)
    initial, extra = CampaignForm.initial_for(campaign)
    form = CampaignForm(request.POST or None, user=request.user, initial=initial, extra_audience=extra)
    if request.method == "POST" and form.is_valid():
        try:
            campaign_update(campaign=campaign, user=request.user, name=form.cleaned_data["name"],
                            template=form.cleaned_data["template"], audience=form.audience(),
                            segment_id=form.cleaned_data["segment"], params=form.template_params())
        except MemberHubError as exc:
            _add_domain_error(form, exc)
        else:
            messages.success(request, _("Draft saved."))
            return redirect("campaign_desk:detail", pk=campaign.pk)
    return render(request, "messaging/campaigns/form.html", _form_context(request, form, campaign))


AUDIENCE_FIELDS = ("segment", "tiers", "tags", "stores")


def _audience_count(request, *, audience: dict, segment_id: int | None) -> tuple[int | None, str]:
    """Members an audience addresses now (before consent), within the caller's stores."""
    if not audience and not segment_id:
        return None, ""
    try:
        with replica.reads():
            return audience_queryset(audience=audience, segment_id=segment_id,
                                     store_ids=scope.store_ids(request.user)).count(), ""
    except MemberHubError as exc:
        return None, exc.message


def _form_context(request, form: CampaignForm, campaign: Campaign | None) -> dict:
    count, error = None, ""
    if not form.is_bound:
        audience = {**form.extra_audience, **{k: form.initial[k] for k in ("tags", "tiers", "stores")
                                                if form.initial.get(k)}}
        count, error = _audience_count(request, audience=audience, segment_id=form.initial.get("segment"))
    elif not any(k in form.errors for k in AUDIENCE_FIELDS):
        count, error = _audience_count(request, audience=form.audience(), segment_id=form.cleaned_data.get("segment"))
    return {"form": form, "campaign": campaign, "audience_count": count, "audience_error": error,
            "extra_audience": describe(form.extra_audience) if form.extra_audience else []}


@require_POST
@staff_required
def campaign_audience_count(request):
    """htmx: the live audience count of the campaign form (segment ∩ tiers ∩ tags ∩ stores)."""
    need(request.user, "messaging.view_campaign")
    extra = {}
    if request.POST.get("campaign", "").isdigit():  # the edit page: keep the draft's other conditions
        extra = CampaignForm.initial_for(campaign_get_for_staff(request.user, int(request.POST["campaign"])))[1]
    form = CampaignForm(request.POST, user=request.user, extra_audience=extra)
    form.is_valid()
    count, error = None, ""
    if any(k in form.errors for k in AUDIENCE_FIELDS):
        error = " ".join(" ".join(form.errors[k]) for k in AUDIENCE_FIELDS if k in form.errors)
    else:
        count, error = _audience_count(request, audience=form.audience(), segment_id=form.cleaned_data.get("segment"))
    return render(request, "messaging/campaigns/_audience_count.html",
                  {"audience_count": count, "audience_error": error})


def _detail_context(request, campaign: Campaign) -> dict:
    preview = None
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        try:
            with replica.reads():  # the audience count is the heavy read; the campaign itself came from the primary
                preview = campaign_preview(campaign=campaign)
        except MemberHubError as exc:
            messages.error(request, exc.message)
    return {"campaign": campaign, "preview": preview, "progress": campaign_progress(campaign),
            "segment_name": (Segment.objects.filter(pk=campaign.segment_id).values_list("name", flat=True).first()
                             if campaign.segment_id else None),
            "audience_words": describe(campaign.audience or {}),
            "live": campaign.status in (Campaign.Status.SCHEDULED, Campaign.Status.PLANNING,
                                        Campaign.Status.SENDING)}


def _message_context(request, campaign: Campaign, test_form: TestSendForm | None = None) -> dict:
    """The message rendered for a sample recipient and the "send a test to me" form (issue 16)."""
    sample = None
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        try:
            sample = campaign_sample(campaign)
        except MemberHubError as exc:
            messages.error(request, exc.message)
    if test_form is None:
        test_form = TestSendForm(initial={"mobile": request.session.get(TEST_MOBILE_SESSION_KEY, "")})
    return {"sample": sample, "test_form": test_form}


@require_GET
@staff_required
def campaign_detail(request, pk: int):
    need(request.user, "messaging.view_campaign")
    campaign = campaign_get_for_staff(request.user, pk)
    return render(request, "messaging/campaigns/detail.html",
                  {**_detail_context(request, campaign), **_message_context(request, campaign)})


@require_GET
@staff_required
def campaign_progress_partial(request, pk: int):
    """htmx: the progress block, polled while the campaign runs."""
    need(request.user, "messaging.view_campaign")
    campaign = campaign_get_for_staff(request.user, pk)
    return render(request, "messaging/campaigns/_progress.html", _detail_context(request, campaign))


class ScheduleForm(forms.Form):
    at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                             input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])


def _confirm_page(request, campaign: Campaign, notice: str = "", status: int = 200):
    """The confirmation of 立即发送: recipients, SMS cost and a token for exactly that count."""
    try:
        confirmation = campaign_send_confirmation(campaign)
    except MemberHubError as exc:
        messages.error(request, exc.message)
        return redirect("campaign_desk:detail", pk=campaign.pk)
    return render(request, "messaging/campaigns/confirm.html",
                  {"campaign": campaign, "confirmation": confirmation, "notice": notice}, status=status)


@require_POST
@staff_required
def campaign_schedule_view(request, pk: int):
    """Schedule at a time, or send now: sending now takes two POSTs, the first (without a
    confirmation token) answers with the confirmation page and sends nothing (issue 16)."""
    need(request.user, "messaging.send_campaign")
    campaign = campaign_get_for_staff(request.user, pk)
    form = ScheduleForm(request.POST)
    at = form.cleaned_data["at"] if form.is_valid() else None
    if at is None or at <= timezone.now():
        if campaign.status != Campaign.Status.DRAFT:
            messages.error(request, _("Only a draft campaign can be scheduled."))
            return redirect("campaign_desk:detail", pk=pk)
        try:
            campaign_send_now(campaign=campaign, user=request.user, token=request.POST.get("confirm_token", ""))
        except SendConfirmationNeeded as exc:
            return _confirm_page(request, campaign, notice=exc.message if request.POST.get("confirm_token") else "")
        except MemberHubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Sending has started."))
        return redirect("campaign_desk:detail", pk=pk)
    try:
        campaign = campaign_schedule(campaign=campaign, user=request.user, at=at)
    except MemberHubError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Scheduled for %(at)s.") % {"at": campaign.scheduled_at.strftime("%Y-%m-%d %H:%M")})
    return redirect("campaign_desk:detail", pk=pk)


@require_GET
@staff_required
def campaign_send_now_confirm(request, pk: int):
    """GET of the confirmation page (the "Send now" link works the same without JavaScript)."""
    need(request.user, "messaging.send_campaign")
    campaign = campaign_get_for_staff(request.user, pk)
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(request, _("Only a draft campaign can be scheduled."))
        return redirect("campaign_desk:detail", pk=pk)
    return _confirm_page(request, campaign)


TEST_MOBILE_SESSION_KEY = "messaging:campaign_test_mobile"


class TestSendForm(forms.Form):
    mobile = forms.CharField(label=gettext_lazy("My mobile number"), max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))


@require_POST
@staff_required
def campaign_test_send_view(request, pk: int):
    """"Send a test to me": the sample message to the number the staff member gives (their own;
    staff accounts hold no mobile), remembered in their session for the next test."""
    need(request.user, "messaging.send_campaign")
    campaign = campaign_get_for_staff(request.user, pk)
    form = TestSendForm(request.POST)
    if form.is_valid():
        try:
            campaign_send_test(campaign=campaign, user=request.user, mobile=form.cleaned_data["mobile"])
        except MemberHubError as exc:
            if exc.fields:
                _add_domain_error(form, exc)
            else:
                messages.error(request, exc.message)
        else:
            request.session[TEST_MOBILE_SESSION_KEY] = form.cleaned_data["mobile"]
            messages.success(request, _("A test SMS is on its way to your phone."))
            return redirect("campaign_desk:detail", pk=pk)
    return render(request, "messaging/campaigns/detail.html",
                  {**_detail_context(request, campaign), **_message_context(request, campaign, form)}, status=400)


@require_POST
@staff_required
def campaign_cancel_view(request, pk: int):
    need(request.user, "messaging.send_campaign")
    campaign = campaign_get_for_staff(request.user, pk)
    try:
        campaign_cancel(campaign=campaign, user=request.user)
    except MemberHubError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Campaign cancelled: messages not yet sent will not go out."))
    return redirect("campaign_desk:detail", pk=pk)
