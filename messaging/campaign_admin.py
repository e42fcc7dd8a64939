"""Admin (unfold) of campaign sends: the list with counts, and per campaign its progress by status
and the failed messages with their errors. Campaigns are created and sent from the desk pages
(messaging.campaign_views); the admin changes nothing but can cancel through the service."""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.errors import MemberHubError
from evaluation.forms import describe
from evaluation.models import Segment
from members.models import Tier

from .campaigns import campaign_cancel, campaign_progress
from .models import Campaign


@admin.register(Campaign)
class CampaignAdmin(ModelAdmin):
    list_display = ("name", "template", "status", "scheduled_at", "audience_count", "planned", "sent", "failed",
                    "skipped_frequency_cap", "created_by")
    list_filter = ("status",)
    search_fields = ("name",)
    actions = ["cancel_action"]
    readonly_fields = ("name", "template", "channel", "params", "audience_in_words", "segment_name", "scope_store_ids",
                       "scheduled_at", "status", "audience_count", "skipped_no_consent", "skipped_unreachable",
                       "skipped_channel_off", "skipped_frequency_cap",
                       "planned", "sent", "failed", "cancelled_count", "plan_done", "plan_total", "batches_total",
                       "batches_done", "error", "created_by", "created_at", "planned_at", "finished_at",
                       "cancelled_at", "cancelled_by", "progress")
    fieldsets = (
        (None, {"fields": ("name", "template", "channel", "params", "audience_in_words", "segment_name", "scope_store_ids",
                           "scheduled_at", "status", "created_by", "created_at")}),
        (_("Counts"), {"fields": ("audience_count", "skipped_no_consent", "skipped_unreachable", "skipped_channel_off",
                                  "skipped_frequency_cap", "planned", "sent",
                                  "failed", "cancelled_count", "plan_done", "plan_total", "batches_total",
                                  "batches_done", "planned_at", "finished_at", "cancelled_at", "cancelled_by",
                                  "error")}),
        (_("Per-member result"), {"fields": ("progress",)}),
    )

    def has_add_permission(self, request):
        return False  # created on the desk pages, where the audience is previewed

    @admin.display(description=_("audience"))
    def audience_in_words(self, obj):
        tiers = dict(Tier.objects.values_list("code", "name"))
        return "；".join(describe(obj.audience or {}, tier_names=tiers)) or "—"

    @admin.display(description=_("evaluation segment"))
    def segment_name(self, obj):
        if not obj.segment_id:
            return "—"
        return Segment.objects.filter(pk=obj.segment_id).values_list("name", flat=True).first() or gettext(
            "The segment no longer exists.")

    def has_delete_permission(self, request, obj=None):
        return False  # the message log refers to it

    @admin.display(description=_("Messages by status and failures"))
    def progress(self, obj):
        if not obj or not obj.pk:
            return "—"
        data = campaign_progress(obj)
        counts = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", ((str(label), n) for label, n in
                                                                        data["by_status"]))
        failed = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (m.member.member_no if m.member_id else "—", m.attempts, m.error) for m in data["failed"]))
        return format_html('<table id="campaign-counts">{}</table><h4>{}</h4><table id="campaign-failed">{}</table>',
                           counts, gettext("Failed messages (latest 50)"), failed or "—")

    @admin.action(description=_("Cancel the selected campaigns"), permissions=["change"])
    def cancel_action(self, request, queryset):
        done = 0
        for campaign in queryset.order_by("pk"):
            try:
                campaign_cancel(campaign=campaign, user=request.user)
                done += 1
            except MemberHubError as exc:
                self.message_user(request, f"{campaign}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, gettext("%(n)d campaigns cancelled.") % {"n": done}, messages.SUCCESS)
