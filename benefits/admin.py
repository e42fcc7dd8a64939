"""Staff pages of benefits (BEN-1, BEN-3): the catalogue with per-tier values inline, and the one
member day / birthday settings row (saved through benefits.services)."""
from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline

from .models import Benefit, MemberDayConfig, TierBenefit
from .services import member_day_config_update


class TierBenefitInline(TabularInline):
    model = TierBenefit
    extra = 0
    fields = ("tier", "value_text", "numeric_value", "brands", "categories")
    ordering = ("tier__rank",)


@admin.register(Benefit)
class BenefitAdmin(ModelAdmin):
    list_display = ("name", "code", "kind", "sort_order", "is_published")
    list_filter = ("kind", "is_published")
    search_fields = ("name", "code")
    inlines = [TierBenefitInline]


@admin.register(MemberDayConfig)
class MemberDayConfigAdmin(ModelAdmin):
    """One row (seeded): never added twice, never deleted; saving keeps the member-day points
    campaign in step."""

    list_display = ("__str__", "member_day_discount_percent", "member_day_points_multiplier", "birthday_window",
                    "birthday_discount_percent", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not MemberDayConfig.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        member_day_config_update(
            member_day_discount_percent=obj.member_day_discount_percent,
            member_day_points_multiplier=obj.member_day_points_multiplier,
            birthday_window=obj.birthday_window, birthday_discount_percent=obj.birthday_discount_percent,
        )
