"""Admin (unfold) of the service desk: time-limit policy, tier shortening, departments and FAQ
articles are maintained here (FAQ saves go through the service so the search tokens stay right);
complaints, their logs, escalations, compensation, ratings and follow-ups are read-only records
limited to the viewer's stores — they change only through the desk pages and services."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.errors import MemberHubError
from members.admin_base import ReadOnlyAdmin, ScopedReadOnlyAdmin

from . import services
from .models import (
    AfterSalesCase,
    AfterSalesEvent,
    AfterSalesHandoff,
    AfterSalesPolicy,
    Compensation,
    Complaint,
    ComplaintEvent,
    ComplaintRating,
    Consultation,
    ConsultationTimeLimit,
    Department,
    Escalation,
    EscalationContact,
    FaqArticle,
    FollowUpCall,
    SeverityLevel,
    SlaPolicy,
    StaffNotice,
    TierSlaShortening,
)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ModelAdmin):
    list_display = ("category", "severity", "accept_hours", "reply_hours", "close_hours", "working_days",
                    "second_level_hours", "updated_at")
    list_editable = ("accept_hours", "reply_hours", "close_hours", "working_days", "second_level_hours")
    list_filter = ("category", "severity")

    def has_add_permission(self, request):  # every combination is seeded; only the hours change
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SeverityLevel)
class SeverityLevelAdmin(ModelAdmin):
    """Each severity's default time limits (issue 16): edited here, applied to every category's policy of the
    severity by the action; a complaint whose category policy is missing is timed by them."""

    list_display = ("severity", "accept_hours", "reply_hours", "close_hours", "description", "updated_at")
    list_editable = ("accept_hours", "reply_hours", "close_hours")  # the wording read in full, edited on the form
    fields = ("severity", "accept_hours", "reply_hours", "close_hours", "description")
    readonly_fields = ("severity",)
    actions = ["apply_to_policies"]

    def has_add_permission(self, request):  # the three severities are seeded; only their hours change
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Apply these hours to every category of the severity"), permissions=["change"])
    def apply_to_policies(self, request, queryset):
        changed = sum(services.severity_defaults_apply(level=level) for level in queryset)
        self.message_user(request, gettext("%(n)d category time limit(s) now use their severity's hours.")
                          % {"n": changed}, messages.SUCCESS)


@admin.register(TierSlaShortening)
class TierSlaShorteningAdmin(ModelAdmin):
    list_display = ("tier", "percent")


@admin.register(Department)
class DepartmentAdmin(ModelAdmin):
    list_display = ("name", "is_active")
    list_filter = ("is_active",)


@admin.register(FaqArticle)
class FaqArticleAdmin(ModelAdmin):
    list_display = ("title", "category", "published", "updated_at")
    list_filter = ("published", "category")
    search_fields = ("title",)
    fields = ("title", "body", "category", "published")

    def save_model(self, request, obj, form, change):
        try:
            services.faq_article_save(article=obj, title=obj.title, body=obj.body, category=obj.category,
                                      published=obj.published, staff=request.user)
        except MemberHubError as exc:  # pragma: no cover - the model form validates the same fields
            messages.error(request, exc.message)


class EventInline(TabularInline):
    model = ComplaintEvent
    fields = ("at", "action", "from_label", "to_label", "actor_display", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("id", "status", "category", "severity", "channel", "store", "member", "received_at",
                    "accept_due", "close_due")
    list_filter = ("status", "category", "severity", "channel")
    search_fields = ("=id", "order_no", "member__member_no")
    list_select_related = ("store", "member")
    inlines = [EventInline]
    readonly_fields = [f.name for f in Complaint._meta.fields]


@admin.register(ComplaintEvent)
class ComplaintEventAdmin(ScopedReadOnlyAdmin):
    store_field = "complaint__store"
    list_display = ("complaint", "at", "action", "from_label", "to_label", "actor_display")
    list_filter = ("action",)
    fields = ("complaint", "at", "action", "from_label", "to_label", "actor_display", "note")
    readonly_fields = fields


@admin.register(Escalation)
class EscalationAdmin(ScopedReadOnlyAdmin):
    store_field = "complaint__store"
    list_display = ("complaint", "after_sales", "kind", "level", "due", "at", "manager")
    list_filter = ("kind", "level")

    def get_queryset(self, request):
        # Store scope over both kinds of case (the mixin filters one path; after-sales rows have no complaint).
        from members import scope

        qs = ModelAdmin.get_queryset(self, request)
        ids = scope.store_ids(request.user)
        if ids is None:
            return qs
        return qs.filter(Q(complaint__store_id__in=ids) | Q(after_sales__store_id__in=ids))


@admin.register(Compensation)
class CompensationAdmin(ScopedReadOnlyAdmin):
    store_field = "complaint__store"
    list_display = ("complaint", "kind", "points", "coupon", "reason", "staff", "at")


@admin.register(ComplaintRating)
class ComplaintRatingAdmin(ScopedReadOnlyAdmin):
    store_field = "complaint__store"
    list_display = ("complaint", "score", "comment", "at")


@admin.register(FollowUpCall)
class FollowUpCallAdmin(ScopedReadOnlyAdmin):
    store_field = "complaint__store"
    list_display = ("complaint", "staff", "at", "reached", "outcome")


@admin.register(Consultation)
class ConsultationAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("id", "kind", "category", "status", "store", "received_at")
    list_filter = ("kind", "category", "status")


@admin.register(StaffNotice)
class StaffNoticeAdmin(ReadOnlyAdmin):
    list_display = ("user", "complaint", "kind", "text", "created_at", "read_at")
    list_filter = ("kind",)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(user=request.user)



# ---------------------------------------------------------------- SD-7..9


class _SeededPolicyAdmin(ModelAdmin):
    def has_add_permission(self, request):  # every combination is seeded; only the values change
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AfterSalesPolicy)
class AfterSalesPolicyAdmin(_SeededPolicyAdmin):
    list_display = ("kind", "priority", "respond_hours", "resolve_hours", "working_days", "second_level_hours",
                    "satisfaction_days", "updated_at")
    list_editable = ("respond_hours", "resolve_hours", "working_days", "second_level_hours", "satisfaction_days")
    list_filter = ("kind", "priority")


@admin.register(ConsultationTimeLimit)
class ConsultationTimeLimitAdmin(_SeededPolicyAdmin):
    list_display = ("channel", "reply_hours", "working_days", "updated_at")
    list_editable = ("reply_hours", "working_days")


class EscalationContactForm(forms.ModelForm):
    mobile = forms.CharField(label=_("mobile"), required=False, max_length=20,
                             help_text=_("Stored encrypted. Leave empty to keep the number on file."))
    remove_mobile = forms.BooleanField(label=_("remove the mobile number"), required=False)

    class Meta:
        model = EscalationContact
        fields = ("user", "email", "by_sms", "by_email", "regional_stores")


@admin.register(EscalationContact)
class EscalationContactAdmin(ModelAdmin):
    """SMS / e-mail addresses of managers for escalations (SD-9); saved through the service."""

    form = EscalationContactForm
    list_display = ("user", "mobile_masked", "email", "by_sms", "by_email")
    readonly_fields = ("mobile_masked",)
    filter_horizontal = ("regional_stores",)
    search_fields = ("user__username",)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        mobile = "" if data.get("remove_mobile") else (data.get("mobile") or None)
        try:
            saved = services.escalation_contact_save(
                user=data["user"], mobile=mobile, email=data.get("email", ""), by_sms=data.get("by_sms", False),
                by_email=data.get("by_email", False), regional_stores=data.get("regional_stores") or [])
        except MemberHubError as exc:
            messages.error(request, "; ".join(sum(exc.fields.values(), [])) if exc.fields else exc.message)
            saved = EscalationContact.objects.get_or_create(user=data["user"])[0]
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        """The stores were set by the service in save_model."""


class AfterSalesEventInline(TabularInline):
    model = AfterSalesEvent
    fields = ("at", "action", "from_label", "to_label", "actor_display", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AfterSalesHandoffInline(TabularInline):
    model = AfterSalesHandoff
    fields = ("vendor", "reference", "sent_at", "sent_by", "returned_at", "returned_by", "return_note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AfterSalesCase)
class AfterSalesCaseAdmin(ScopedReadOnlyAdmin):
    store_field = "store"
    list_display = ("id", "status", "kind", "priority", "channel", "store", "member", "received_at", "respond_due",
                    "resolve_due", "satisfaction_score")
    list_filter = ("status", "kind", "priority", "channel")
    search_fields = ("=id", "order_no", "member__member_no", "product")
    list_select_related = ("store", "member")
    inlines = [AfterSalesHandoffInline, AfterSalesEventInline]
    readonly_fields = [f.name for f in AfterSalesCase._meta.fields]


@admin.register(AfterSalesHandoff)
class AfterSalesHandoffAdmin(ScopedReadOnlyAdmin):
    store_field = "case__store"
    list_display = ("case", "vendor", "reference", "sent_at", "returned_at")
    search_fields = ("vendor", "reference")
