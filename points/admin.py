"""Admin (unfold) of points: operations config (settings, campaigns, gift catalogue, coupon types,
lotteries and their prize tables) is editable; the ledger and every record of a redemption or
adjustment is read-only and append-only — they change only through services, which admin actions
call. Lists are limited to the viewer's store scope."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget, UnfoldAdminTextareaWidget

from core.errors import MemberHubError
from members.admin import StatusActionForm
from members.admin_base import ScopedReadOnlyAdmin, StoreScopedFKMixin

from .models import (
    AbuseCase,
    AbuseRules,
    Adjustment,
    Campaign,
    Consumption,
    Coupon,
    CouponType,
    DeskPosting,
    Draw,
    Entry,
    ExpiryReminder,
    Gift,
    GiftOrder,
    Lot,
    Lottery,
    Offset,
    PointsAccount,
    PointsClaim,
    PointsConfig,
    Prize,
    Purchase,
    Refund,
)
from .services import adjustments, redemption

# ---------------------------------------------------------------- configuration


@admin.register(PointsConfig)
class PointsConfigAdmin(ModelAdmin):
    """One row of chain-wide settings (seeded by a migration): never added twice, never deleted."""

    list_display = ("__str__", "expiry_months", "offset_points_per_yuan", "adjustment_approval_threshold",
                    "refund_policy", "member_day_of_month", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not PointsConfig.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(ModelAdmin):
    list_display = ("name", "starts_at", "ends_at", "multiplier", "bonus_points", "stacking", "is_active")
    list_filter = ("is_active", ("stacking", ChoicesDropdownFilter))
    search_fields = ("name",)
    filter_horizontal = ("stores", "tiers")
    date_hierarchy = "starts_at"


@admin.register(Gift)
class GiftAdmin(ModelAdmin):
    """The gift form in three tabs that fit a 1366 px screen (issue 16): what the member sees (name, text,
    picture, which unfold's widget previews), price and stock, and who may order it when; list thumbnails."""

    list_display = ("thumbnail", "name", "points_cost", "stock", "per_member_limit", "valid_from", "valid_to",
                    "is_active")
    list_display_links = ("thumbnail", "name")
    list_filter = ("is_active", "tiers")
    search_fields = ("name",)
    # unfold's picture widget shows the uploaded picture itself: a second preview beside it made the form
    # scroll sideways at 1366 px (seen in the admin screenshot), so the picture has its own row.
    fieldsets = (
        (_("What the member sees"), {"classes": ["tab"], "fields": ("name", "description", "image")}),
        (_("Points and stock"), {"classes": ["tab"], "fields": (("points_cost", "stock"), "per_member_limit")}),
        # one date-time a row: side by side, Django's 现在/时钟 shortcuts ran past 1366 px (admin screenshot)
        (_("Who may order, and when"), {"classes": ["tab"], "fields": ("valid_from", "valid_to", "is_active", "tiers")}),
    )

    @admin.display(description=_("picture"))
    def thumbnail(self, obj):
        if not obj.image:
            return "—"
        return format_html('<img src="{}" alt="" width="40" height="40" style="object-fit:cover;border-radius:4px">',
                           obj.image.url)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "description":  # a few lines, not a 20-row box that pushes the picture off screen
            kwargs["widget"] = UnfoldAdminTextareaWidget(attrs={"rows": 3})
        if db_field.name == "tiers":  # four tiers as checkboxes: the two-box selector ran past 1366 px
            kwargs["widget"] = UnfoldAdminCheckboxSelectMultipleWidget
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # orders reference gifts; deactivate instead


@admin.register(CouponType)
class CouponTypeAdmin(ModelAdmin):
    list_display = ("name", "face_value", "min_spend", "points_cost", "validity_days", "valid_to", "issue_limit",
                    "issued_count", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    filter_horizontal = ("stores",)
    readonly_fields = ("issued_count",)

    def has_delete_permission(self, request, obj=None):
        return False


class PrizeInline(StoreScopedFKMixin, TabularInline):
    model = Prize
    extra = 0
    fields = ("name", "kind", "weight", "stock", "points", "coupon_type", "gift", "pickup_store")

    def has_delete_permission(self, request, obj=None):
        return False  # draws reference prizes; set the stock to 0 instead


@admin.register(Lottery)
class LotteryAdmin(ModelAdmin):
    list_display = ("name", "points_cost", "starts_at", "ends_at", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    inlines = [PrizeInline]

    def has_delete_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------- ledger (append-only)


@admin.register(PointsAccount)
class PointsAccountAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("member", "balance", "debt", "updated_at")
    search_fields = ("=member__member_no",)
    list_select_related = ("member",)


@admin.register(Entry)
class EntryAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("created_at", "member", "kind", "points", "balance_after", "store", "source_ref", "reason",
                    "staff")
    list_filter = (("kind", ChoicesDropdownFilter),)
    search_fields = ("=member__member_no", "source_ref", "=idem_key")
    list_select_related = ("member", "store", "staff")
    date_hierarchy = "created_at"


@admin.register(Lot)
class LotAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("member", "points", "remaining", "earned_on", "available_on", "expires_on")
    search_fields = ("=member__member_no",)
    list_select_related = ("member",)
    date_hierarchy = "expires_on"


@admin.register(Consumption)
class ConsumptionAdmin(ScopedReadOnlyAdmin):
    store_field = "entry__member__home_store"
    list_display = ("entry", "lot", "points")
    search_fields = ("=entry__member__member_no",)


@admin.register(Purchase)
class PurchaseAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("order_no", "store", "member", "occurred_at", "amount_total", "amount_paid", "points_earned",
                    "amount_refunded", "points_reversed")
    search_fields = ("=order_no", "=member__member_no")
    list_select_related = ("store", "member")
    date_hierarchy = "occurred_at"


@admin.register(Refund)
class RefundAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("refund_no", "store", "purchase", "amount", "points_reversed", "points_as_debt", "cash_deducted",
                    "occurred_at")
    search_fields = ("=refund_no", "=purchase__order_no")
    list_select_related = ("store", "purchase")


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("member", "expires_on", "days_before", "points", "created_at")
    search_fields = ("=member__member_no",)


# ---------------------------------------------------------------- redemption records


def _run(modeladmin, request, queryset, func, done_text) -> None:
    done = 0
    for obj in queryset.order_by("pk"):
        try:
            func(obj)
            done += 1
        except MemberHubError as exc:
            modeladmin.message_user(request, f"#{obj.pk}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_text % {"n": done}, messages.SUCCESS)


@admin.register(GiftOrder)
class GiftOrderAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("id", "created_at", "member", "gift", "quantity", "points", "status", "store", "collected_at")
    list_filter = (("status", ChoicesDropdownFilter), "gift")
    search_fields = ("=member__member_no", "=request_id")
    list_select_related = ("member", "gift", "store")
    actions = ["collect", "cancel"]

    def has_hand_over_permission(self, request):
        return request.user.has_perm("points.change_giftorder")

    @admin.action(description=_("Hand over (collected at the desk)"), permissions=["hand_over"])
    def collect(self, request, queryset):
        _run(self, request, queryset, lambda o: redemption.gift_order_collect(order=o, staff=request.user),
             gettext("%(n)d gift order(s) collected."))

    @admin.action(description=_("Cancel (stock and points back)"), permissions=["hand_over"])
    def cancel(self, request, queryset):
        _run(self, request, queryset, lambda o: redemption.gift_order_cancel(order=o, staff=request.user),
             gettext("%(n)d gift order(s) cancelled."))


@admin.register(Coupon)
class CouponAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("code", "type", "member", "status", "source", "valid_from", "valid_to", "used_at", "used_store",
                    "used_order_no")
    list_filter = (("status", ChoicesDropdownFilter), ("source", ChoicesDropdownFilter), "type")
    search_fields = ("=code", "=member__member_no", "=used_order_no")
    list_select_related = ("type", "member", "used_store")
    exclude = ("idem_key",)
    actions = ["void"]

    def has_void_permission(self, request):
        return request.user.has_perm("points.change_coupon")

    @admin.action(description=_("Void unused coupons"), permissions=["void"])
    def void(self, request, queryset):
        reason = gettext("Voided in the admin by %(user)s") % {"user": request.user.get_username()}
        _run(self, request, queryset, lambda c: redemption.coupon_void(coupon=c, staff=request.user, reason=reason),
             gettext("%(n)d coupon(s) voided."))


@admin.register(Offset)
class OffsetAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("order_no", "store", "member", "bill_amount", "points", "amount", "status", "created_at")
    list_filter = (("status", ChoicesDropdownFilter),)
    search_fields = ("=order_no", "=member__member_no")
    list_select_related = ("store", "member")


@admin.register(Draw)
class DrawAdmin(ScopedReadOnlyAdmin):
    """Every draw with its random value and the prize table it was drawn against (audit)."""

    store_field = "member__home_store"
    list_display = ("id", "created_at", "lottery", "member", "prize", "points_spent", "random_value", "coupon",
                    "gift_order")
    list_filter = ("lottery",)
    search_fields = ("=member__member_no", "=request_id")
    list_select_related = ("lottery", "member", "prize", "coupon", "gift_order")
    date_hierarchy = "created_at"


@admin.register(Adjustment)
class AdjustmentAdmin(ScopedReadOnlyAdmin):
    """Manual adjustments (PTS-7). Requests are made at the desk / API; here a second staff member
    approves or rejects the pending ones."""

    store_field = "member__home_store"
    list_display = ("id", "requested_at", "member", "points", "reason", "status", "requested_by", "approved_by",
                    "decided_at")
    list_filter = (("status", ChoicesDropdownFilter),)
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "requested_by", "approved_by")
    actions = ["approve", "reject"]

    def has_approve_permission(self, request):
        return request.user.has_perm(adjustments.APPROVE_PERM)

    @admin.action(description=_("Approve and apply"), permissions=["approve"])
    def approve(self, request, queryset):
        _run(self, request, queryset,
             lambda a: adjustments.adjustment_approve(adjustment=a, approver=request.user),
             gettext("%(n)d adjustment(s) approved and applied."))

    @admin.action(description=_("Reject with a reason"), permissions=["approve"])
    def reject(self, request, queryset):
        if "apply" in request.POST:
            form = StatusActionForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                _run(self, request, queryset,
                     lambda a: adjustments.adjustment_reject(adjustment=a, approver=request.user, reason=reason),
                     gettext("%(n)d adjustment(s) rejected."))
                return None
        else:
            form = StatusActionForm()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reject adjustments"),
            "opts": self.model._meta,
            "form": form,
            "members": [a.member for a in queryset.select_related("member")],
            "action": request.POST.get("action"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "desk/admin/member_status_action.html", context)


# ---------------------------------------------------------------- desk postings, claims, abuse flags (PTS-11)


@admin.register(AbuseRules)
class AbuseRulesAdmin(ModelAdmin):
    """The abuse flags' thresholds: one row, never added twice, never deleted."""

    list_display = ("__str__", "purchases_per_hour", "refund_share_percent", "quick_redeem_minutes",
                    "clerk_members_per_day", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not AbuseRules.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeskPosting)
class DeskPostingAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("receipt_no", "store", "member", "amount_total", "status", "requested_by", "requested_at",
                    "approved_by")
    list_filter = ("status",)
    search_fields = ("=receipt_no", "=member__member_no")
    list_select_related = ("store", "member", "requested_by", "approved_by")


@admin.register(PointsClaim)
class PointsClaimAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("receipt_no", "store", "member", "purchased_on", "amount", "channel", "status", "points",
                    "created_at")
    list_filter = ("status", "channel")
    search_fields = ("=receipt_no", "=member__member_no")
    list_select_related = ("store", "member")


@admin.register(AbuseCase)
class AbuseCaseAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("flag", "member", "clerk", "store", "detail", "flagged_on", "status", "decided_by")
    list_filter = ("flag", "status")
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "clerk", "store", "decided_by")
