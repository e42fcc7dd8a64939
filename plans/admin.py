"""Admin (unfold) of paid membership: plans edited by operations; memberships and their history
read-only and store-scoped (MEM-9). Sales, renewals and refunds go through the desk pages and the
till (plans.services), never through a save here."""
from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter

from members.admin_base import ScopedReadOnlyAdmin

from .models import MembershipEvent, MembershipPlan, PaidMembership


@admin.register(MembershipPlan)
class MembershipPlanAdmin(ModelAdmin):
    list_display = ("name", "code", "price", "duration_months", "grace_days", "extra_points_rate",
                    "offset_cap_increase", "free_parking_hours", "refund_rule", "is_active")
    list_filter = ("is_active", ("refund_rule", ChoicesDropdownFilter))
    search_fields = ("name", "code")
    fieldsets = (
        (None, {"fields": ("name", "code", "price", "duration_months", "is_active")}),
        (_("Dates"), {"fields": ("grace_days", "reminder_days")}),
        (_("Benefits on top of the tier"), {"fields": ("extra_points_rate", "offset_cap_increase",
                                                       "free_parking_hours")}),
        (_("Coupons"), {"fields": ("joining_coupon_type", "joining_coupon_count", "monthly_coupon_type",
                                   "monthly_coupon_count")}),
        (_("Refund"), {"fields": ("refund_rule", "refund_full_within_days")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # memberships refer to their plan; take a plan off sale instead


class MembershipEventInline(TabularInline):
    model = MembershipEvent
    fields = ("occurred_on", "kind", "amount", "ends_on_before", "ends_on_after", "purchase_ref", "actor_label",
              "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PaidMembership)
class PaidMembershipAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("member", "plan", "status", "starts_on", "ends_on", "grace_until", "source", "price_paid",
                    "refunded_amount")
    list_filter = (("status", ChoicesDropdownFilter), "plan", ("source", ChoicesDropdownFilter))
    search_fields = ("=member__member_no", "purchase_ref")
    list_select_related = ("member", "plan")
    date_hierarchy = "ends_on"
    fields = ("member", "plan", "status", "starts_on", "ends_on", "grace_until", "ended_on", "source",
              "purchase_ref", "price_paid", "refunded_amount", "created_at", "changed_at")
    readonly_fields = fields
    inlines = [MembershipEventInline]


@admin.register(MembershipEvent)
class MembershipEventAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("created_at", "member", "kind", "membership", "amount", "ends_on_after", "source",
                    "actor_label")
    list_filter = (("kind", ChoicesDropdownFilter), ("source", ChoicesDropdownFilter))
    search_fields = ("=member__member_no", "purchase_ref")
    list_select_related = ("member", "membership__plan")
    date_hierarchy = "occurred_on"
    fields = ("membership", "member", "kind", "occurred_on", "amount", "ends_on_before", "ends_on_after", "source",
              "purchase_ref", "actor_label", "note", "idem_key", "created_at")
    readonly_fields = fields
