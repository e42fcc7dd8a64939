"""Admin (unfold) of the evaluation: the closeness weights and lifecycle rules (one row each, seeded),
referrals (recorded through the service), segments (saved through the service) and the snapshots,
read-only and store-scoped (MEM-9)."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from members.admin_base import ReadOnlyAdmin, ScopedReadOnlyAdmin, StoreScopedAdminMixin

from . import services
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
    class Meta:
        model = Segment
        fields = ("name", "description", "definition")

    def clean_definition(self):
        definition = self.cleaned_data["definition"]
        errors = segment_definition_errors(definition)
        if errors:
            raise ValidationError(errors)
        return definition


@admin.register(Segment)
class SegmentAdmin(ModelAdmin):
    form = SegmentForm
    list_display = ("name", "description", "created_by", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        saved = services.segment_save(name=obj.name, description=obj.description, definition=obj.definition,
                                      staff=request.user, segment=obj if change else None)
        obj.pk = saved.pk
