"""Admin (unfold) of amenities: quota policies per tier and reservable resources with their slots are
configuration, edited here; usage records, loans and bookings are read-only (services write them).
Everything that belongs to a store is limited to the viewer's stores (MEM-9, SEC-3): plate numbers,
loans and bookings of another store stay out of reach."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import models
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSplitDateTimeVerticalWidget,
    UnfoldAdminTextInputWidget,
)

from core.errors import MemberHubError
from members.admin_base import ScopedReadOnlyAdmin, StoreScopedAdminMixin

from .models import Booking, GiftWrapUse, Loan, ParkingUse, QuotaPolicy, Resource, Slot
from .slot_patterns import slots_generate

WEEKDAYS = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")), (6, _("Sun"))]


class SlotPatternForm(forms.Form):
    """A weekly pattern: the dates, the weekdays, the start times of a day, and each slot's length and places."""

    date_from = forms.DateField(label=_("First date"), widget=UnfoldAdminTextInputWidget(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Last date"), widget=UnfoldAdminTextInputWidget(attrs={"type": "date"}))
    weekdays = forms.TypedMultipleChoiceField(label=_("Weekdays"), choices=WEEKDAYS, coerce=int,
                                              widget=UnfoldAdminCheckboxSelectMultipleWidget)
    times = forms.CharField(label=_("Start times"), widget=UnfoldAdminTextInputWidget,
                            help_text=_("24-hour times separated by commas, e.g. 10:00, 14:00, 16:30"))
    duration_minutes = forms.IntegerField(label=_("Length (minutes)"), min_value=5, max_value=24 * 60, initial=60,
                                          widget=UnfoldAdminIntegerFieldWidget)
    capacity = forms.IntegerField(label=_("Places per slot"), min_value=1, max_value=1000, initial=1,
                                  widget=UnfoldAdminIntegerFieldWidget)
    booking_deadline_hours = forms.IntegerField(label=_("Book up to (hours before)"), min_value=0, max_value=720,
                                                initial=0, widget=UnfoldAdminIntegerFieldWidget)
    cancellation_deadline_hours = forms.IntegerField(label=_("Cancel up to (hours before)"), min_value=0,
                                                     max_value=720, initial=2, widget=UnfoldAdminIntegerFieldWidget)

    def clean_times(self) -> list[dt.time]:
        parsed = []
        for part in self.cleaned_data["times"].replace("，", ",").replace("：", ":").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                parsed.append(dt.datetime.strptime(part, "%H:%M").time())
            except ValueError:
                raise forms.ValidationError(gettext("%(value)s is not a time like 14:00.") % {"value": part}) from None
        if not parsed:
            raise forms.ValidationError(gettext("Enter at least one start time."))
        return parsed

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", gettext("The last date is before the first."))
        return data


@admin.register(QuotaPolicy)
class QuotaPolicyAdmin(ModelAdmin):
    list_display = ("tier", "parking_hours_per_day", "gift_wraps_per_month", "max_open_loans", "loan_hours")
    list_editable = ("parking_hours_per_day", "gift_wraps_per_month", "max_open_loans", "loan_hours")

    def has_delete_permission(self, request, obj=None):
        return False


class SlotInline(TabularInline):
    """The resource's slots, 20 a page (a weekly pattern makes hundreds), the date above the time so the five
    columns fit a 1366 px screen (seen in the admin screenshot: the split widgets made the page scroll sideways)."""

    model = Slot
    extra = 1
    per_page = 20
    fields = ("starts_at", "ends_at", "capacity", "booking_deadline_hours", "cancellation_deadline_hours")
    formfield_overrides = {models.DateTimeField: {"widget": UnfoldAdminSplitDateTimeVerticalWidget}}


@admin.register(Resource)
class ResourceAdmin(StoreScopedAdminMixin, ModelAdmin):
    store_field = "store"
    list_display = ("name", "kind", "store", "is_active")
    list_filter = ("kind", "store", "is_active")
    inlines = [SlotInline]
    # the tiers as checkboxes: the two-box selector made the page scroll sideways at 1366 px (admin screenshot)
    formfield_overrides = {models.ManyToManyField: {"widget": UnfoldAdminCheckboxSelectMultipleWidget}}
    actions = ["generate_slots"]

    @admin.action(description=_("Generate slots from a weekly pattern"), permissions=["change"])
    def generate_slots(self, request, queryset):
        """Slots for the chosen resources from a weekly pattern; re-running it adds only what is missing."""
        resources = list(queryset.order_by("pk"))
        if "apply" in request.POST:
            form = SlotPatternForm(request.POST)
            if form.is_valid():
                d = form.cleaned_data
                try:
                    result = slots_generate(
                        resources=resources, date_from=d["date_from"], date_to=d["date_to"],
                        weekdays=set(d["weekdays"]), times=d["times"], duration_minutes=d["duration_minutes"],
                        capacity=d["capacity"], booking_deadline_hours=d["booking_deadline_hours"],
                        cancellation_deadline_hours=d["cancellation_deadline_hours"])
                except MemberHubError as exc:
                    form.add_error(None, exc.message)
                else:
                    times = ", ".join(t.strftime("%H:%M") for t in sorted(d["times"]))
                    for resource in resources:
                        self.log_change(request, resource, gettext(
                            "Slots generated: %(first)s to %(last)s, %(times)s, %(created)d new") % {
                            "first": d["date_from"], "last": d["date_to"], "times": times,
                            "created": result.created})
                    self.message_user(request, gettext(
                        "%(created)d slot(s) created; %(existing)d of the pattern existed already and were kept."
                    ) % {"created": result.created, "existing": result.existing}, messages.SUCCESS)
                    return None
        else:
            today = timezone.localdate()
            form = SlotPatternForm(initial={"date_from": today + dt.timedelta(days=1),
                                            "date_to": today + dt.timedelta(days=28),
                                            "weekdays": [1, 2, 3, 4, 5, 6], "times": "10:00, 14:00, 16:00"})
        return TemplateResponse(request, "amenities/admin/slot_pattern.html", {
            **self.admin_site.each_context(request),
            "title": gettext("Generate slots from a weekly pattern"), "opts": self.model._meta,
            "form": form, "resources": resources, "action": request.POST.get("action"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME, "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        })


@admin.register(ParkingUse)
class ParkingUseAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("used_on", "member", "plate_number", "hours", "store", "staff")
    list_filter = ("store",)
    list_select_related = ("member", "store", "staff")


@admin.register(GiftWrapUse)
class GiftWrapUseAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("used_on", "member", "count", "store", "staff")
    list_select_related = ("member", "store", "staff")


@admin.register(Loan)
class LoanAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("item_kind", "item_number", "member", "store", "lent_at", "due_at", "returned_at")
    list_filter = ("item_kind", "store")
    list_select_related = ("member", "store")


@admin.register(Booking)
class BookingAdmin(ScopedReadOnlyAdmin):
    store_field = "slot__resource__store"  # where the booked resource is, as on the desk day list
    list_display = ("slot", "member", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("slot__resource", "member")
