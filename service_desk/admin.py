"""Admin (unfold) of the service desk: time-limit policy, tier shortening, departments and FAQ
articles are maintained here (FAQ saves go through the service so the search tokens stay right);
complaints, their logs, escalations, compensation, ratings and follow-ups are read-only records
limited to the viewer's stores — they change only through the desk pages and services."""
from __future__ import annotations

from django.contrib import admin, messages
from unfold.admin import ModelAdmin, TabularInline

from core.errors import MemberHubError
from members.admin_base import ReadOnlyAdmin, ScopedReadOnlyAdmin

from . import services
from .models import (
    Compensation,
    Complaint,
    ComplaintEvent,
    ComplaintRating,
    Consultation,
    Department,
    Escalation,
    FaqArticle,
    FollowUpCall,
    SlaPolicy,
    StaffNotice,
    TierSlaShortening,
)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ModelAdmin):
    list_display = ("category", "severity", "accept_hours", "reply_hours", "close_hours", "updated_at")
    list_editable = ("accept_hours", "reply_hours", "close_hours")
    list_filter = ("category", "severity")

    def has_add_permission(self, request):  # every combination is seeded; only the hours change
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
    fields = ("at", "action", "from_status", "to_status", "actor_label", "note")
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
    list_display = ("complaint", "at", "action", "from_status", "to_status", "actor_label")
    list_filter = ("action",)


@admin.register(Escalation)
class EscalationAdmin(ScopedReadOnlyAdmin):
    store_field = "complaint__store"
    list_display = ("complaint", "kind", "due", "at", "manager")
    list_filter = ("kind",)


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

