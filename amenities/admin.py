"""Admin (unfold) of amenities: quota policies per tier and reservable resources with their slots are
configuration, edited here; usage records, loans and bookings are read-only (services write them).
Everything that belongs to a store is limited to the viewer's stores (MEM-9, SEC-3): plate numbers,
loans and bookings of another store stay out of reach."""
from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline

from members.admin_base import ScopedReadOnlyAdmin, StoreScopedAdminMixin

from .models import Booking, GiftWrapUse, Loan, ParkingUse, QuotaPolicy, Resource, Slot


@admin.register(QuotaPolicy)
class QuotaPolicyAdmin(ModelAdmin):
    list_display = ("tier", "parking_hours_per_day", "gift_wraps_per_month", "max_open_loans", "loan_hours")
    list_editable = ("parking_hours_per_day", "gift_wraps_per_month", "max_open_loans", "loan_hours")

    def has_delete_permission(self, request, obj=None):
        return False


class SlotInline(TabularInline):
    model = Slot
    extra = 1
    fields = ("starts_at", "ends_at", "capacity", "booking_deadline_hours", "cancellation_deadline_hours")


@admin.register(Resource)
class ResourceAdmin(StoreScopedAdminMixin, ModelAdmin):
    store_field = "store"
    list_display = ("name", "kind", "store", "is_active")
    list_filter = ("kind", "store", "is_active")
    filter_horizontal = ("eligible_tiers",)
    inlines = [SlotInline]


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
