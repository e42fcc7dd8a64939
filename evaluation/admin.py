"""Admin (unfold) of the evaluation: the closeness weights and lifecycle rules (one row each, seeded),
referrals (recorded through the service), segments (saved through the service) and the snapshots,
read-only and store-scoped (MEM-9)."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from members.admin_base import ReadOnlyAdmin, ScopedReadOnlyAdmin, StoreScopedAdminMixin

from . import services
from .forms import GROUPS, SegmentRulesForm, describe
from .models import (
    ClosenessSnapshot,
    ClosenessWeights,
    LifecycleRule,
    LifecycleSnapshot,
    Referral,
    RfmRun,
    RfmSnapshot,
    Segment,
)
from .selectors import segment_definition_errors


class _Singleton(ModelAdmin):
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not self.model.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClosenessWeights)
class ClosenessWeightsAdmin(_Singleton):
    list_display = ("__str__", "amount", "amount_change", "frequency", "response", "events", "referrals",
                    "updated_at")


@admin.register(LifecycleRule)
class LifecycleRuleAdmin(_Singleton):
    list_display = ("__str__", "new_days", "high_value_by_class", "high_value_top_percent", "active_days",
                    "lapsed_days", "updated_at")


@admin.register(RfmRun)
class RfmRunAdmin(ReadOnlyAdmin):
    list_display = ("as_of", "window_days", "population", "mean_recency_days", "mean_frequency", "mean_monetary",
                    "seconds", "computed_at")


@admin.register(RfmSnapshot)
class RfmSnapshotAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("as_of", "member", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
                    "rfm_class", "store", "tier")
    list_filter = ("as_of", "rfm_class")
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "store", "tier")
    show_full_result_count = False


@admin.register(ClosenessSnapshot)
class ClosenessSnapshotAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("as_of", "member", "score", "percentile", "amount", "amount_previous", "frequency", "responses",
                    "events", "referrals", "store")
    list_filter = ("as_of",)
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "store")
    show_full_result_count = False


@admin.register(LifecycleSnapshot)
class LifecycleSnapshotAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("as_of", "member", "stage", "days_since_purchase", "store", "tier")
    list_filter = ("as_of", "stage")
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "store", "tier")
    show_full_result_count = False


class ReferralForm(forms.ModelForm):
    class Meta:
        model = Referral
        fields = ("referrer", "referred", "note")

    def clean(self):
        data = super().clean()
        if data.get("referrer") and data.get("referrer") == data.get("referred"):
            raise ValidationError(_("A member cannot refer themselves."))
        return data


@admin.register(Referral)
class ReferralAdmin(StoreScopedAdminMixin, ModelAdmin):
    store_field = "referred__home_store"
    form = ReferralForm
    list_display = ("created_at", "referrer", "referred", "created_by", "note")
    search_fields = ("=referrer__member_no", "=referred__member_no")
    autocomplete_fields = ("referrer", "referred")
    readonly_fields = ("created_at", "created_by")
    list_select_related = ("referrer", "referred", "created_by")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The form has checked self-referral and uniqueness; the service records who entered it.
        saved = services.referral_record(referrer=obj.referrer, referred=obj.referred, staff=request.user,
                                         note=obj.note)
        obj.pk = saved.pk


class SegmentForm(forms.ModelForm):
    """Name and description, and the conditions as the builder's chips and ranges (not JSON)."""

    class Meta:
        model = Segment
        fields = ("name", "description")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        initial = SegmentRulesForm.initial_from(self.instance.definition if self.instance.pk else {})
        rules = SegmentRulesForm(user=getattr(self, "request_user", None))
        for name, field in rules.fields.items():
            self.fields[name] = field
            if name in initial:
                self.initial[name] = initial[name]

    def clean(self):
        data = super().clean()
        rules = SegmentRulesForm(self.data, user=getattr(self, "request_user", None))
        if not rules.is_valid():
            for name, errors in rules.errors.items():
                for error in errors:
                    if name in self.fields and name not in self.errors:
                        self.add_error(name, error)
            return data
        definition = rules.definition()
        errors = segment_definition_errors(definition)
        if errors:
            raise ValidationError(errors)
        self.instance.definition = definition
        return data


@admin.register(Segment)
class SegmentAdmin(ModelAdmin):
    form = SegmentForm
    list_display = ("name", "description", "conditions", "created_by", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def get_fieldsets(self, request, obj=None):
        groups = [(str(title), {"fields": names}) for title, names in GROUPS]
        return [(None, {"fields": ("name", "description")}), *groups,
                (_("Record"), {"fields": ("created_by", "created_at", "updated_at")})]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = ("name", "description")
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request_user": request.user})

    @admin.display(description=_("Conditions"))
    def conditions(self, obj):
        return "；".join(describe(obj.definition)) or gettext("Every active member")

    def save_model(self, request, obj, form, change):
        saved = services.segment_save(name=obj.name, description=obj.description, definition=obj.definition,
                                      staff=request.user, segment=obj if change else None)
        obj.pk = saved.pk
