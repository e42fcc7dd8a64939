"""Admin (unfold) of messaging: templates (editable, with a preview for a sample member), the
message log (read-only; failed messages can be retried through the service), inbound SMS
(read-only), the settings singleton and the holiday calendar. The message log and inbound SMS are
limited to the viewer's stores by the member's home store; rows without a member are chain-wide."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import ChoicesDropdownFilter

from core.errors import MemberHubError
from members.admin_base import ScopedReadOnlyAdmin
from members.models import Member

from .models import (
    ChannelPreferenceLog,
    Holiday,
    InboundMessage,
    Message,
    MessageTemplate,
    MessagingConfig,
    _default_rate_limits,
)
from .services import message_preview, message_retry


def _sample_member(member_no: str | None) -> Member:
    if member_no:
        member = Member.objects.filter(member_no=member_no.strip()).first()
        if member:
            return member
    return Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk").first() or Member(
        name="张三", member_no="M00000000", status=Member.Status.ACTIVE)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ModelAdmin):
    list_display = ("code", "channel", "kind", "name", "provider_template_code", "respects_quiet_hours", "active",
                    "updated_at")
    list_filter = (("kind", ChoicesDropdownFilter), ("channel", ChoicesDropdownFilter), "active")
    search_fields = ("code", "name", "body")
    readonly_fields = ("preview", "updated_at")
    actions = ["preview_action"]
    fieldsets = (
        (None, {"fields": ("code", "channel", "kind", "name", "active")}),
        (_("Text"), {"fields": ("subject", "body", "preview")}),
        (_("Provider"), {"fields": ("provider_template_code", "provider_param_names", "respects_quiet_hours",
                                    "updated_at")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # messages reference templates; switch off instead

    def get_urls(self):
        return [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view),
                 name="messaging_messagetemplate_preview"),
            *super().get_urls(),
        ]

    @admin.display(description=_("Preview"))
    def preview(self, obj):
        if not obj or not obj.pk:
            return gettext("Save the template to preview it.")
        result = message_preview(template=obj, member=_sample_member(None))
        url = reverse("admin:messaging_messagetemplate_preview", args=[obj.pk])
        return format_html('<div style="white-space:pre-wrap">{}</div><a class="text-primary-600" href="{}">{}</a>',
                           result["text"], url, gettext("Preview with another member"))

    @admin.action(description=_("Preview with a sample member"))
    def preview_action(self, request, queryset):
        template = queryset.first()
        return self.preview_view(request, template.pk) if template else None

    def preview_view(self, request, pk: int):
        template = get_object_or_404(MessageTemplate, pk=pk)
        if not self.has_view_permission(request, template):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        member_no = request.GET.get("member_no") or ""
        member = _sample_member(member_no)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Preview: %(template)s") % {"template": template},
            "opts": self.model._meta,
            "template_obj": template,
            "member": member,
            "member_no": member_no,
            "preview": message_preview(template=template, member=member),
        }
        return TemplateResponse(request, "messaging/admin/template_preview.html", context)


@admin.register(Message)
class MessageAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("created_at", "member", "channel", "kind", "event_key", "status", "attempts", "provider",
                    "provider_id", "scheduled_for", "sent_at", "delivered_at")
    list_filter = (("status", ChoicesDropdownFilter), ("kind", ChoicesDropdownFilter),
                   ("channel", ChoicesDropdownFilter), "provider")
    search_fields = ("event_key", "provider_id", "member__member_no")
    list_select_related = ("member",)
    raw_id_fields = ("member", "template")
    readonly_fields = [f.name for f in Message._meta.fields if f.name not in ("mobile_enc", "mobile_hash", "secret_enc")]
    exclude = ("mobile_enc", "mobile_hash", "secret_enc", "params")
    actions = ["retry_failed"]
    show_full_result_count = False

    @admin.action(description=_("Retry failed messages"), permissions=["retry"])
    def retry_failed(self, request, queryset):
        done = 0
        for message in queryset.filter(status=Message.Status.FAILED).order_by("pk"):
            try:
                message_retry(message=message)
                done += 1
            except MemberHubError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        self.message_user(request, gettext("%(n)d message(s) queued again.") % {"n": done}, messages.SUCCESS)

    def has_retry_permission(self, request):
        return request.user.has_perm("messaging.change_message")


@admin.register(InboundMessage)
class InboundMessageAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("received_at", "provider", "mobile_masked", "member", "text", "action")
    list_filter = ("provider", ("action", ChoicesDropdownFilter))
    search_fields = ("member__member_no", "text")
    list_select_related = ("member",)
    exclude = ("mobile_hash",)


@admin.register(ChannelPreferenceLog)
class ChannelPreferenceLogAdmin(ScopedReadOnlyAdmin):
    """Who turned which channel on or off (the member on the portal, or staff); append-only."""

    store_field = "member__home_store"
    list_display = ("at", "member", "channel", "enabled", "actor_display")
    list_filter = (("channel", ChoicesDropdownFilter), "enabled")
    search_fields = ("member__member_no",)
    list_select_related = ("member",)


# The SMS providers the rate limits are set for (messaging.providers), with their names in the form.
RATE_LIMIT_PROVIDERS = {"aliyun": _("Aliyun SMS"), "tencent": _("Tencent Cloud SMS")}


def _rate_field(label):
    return forms.IntegerField(
        label=format_lazy("{}{}", label, _(": messages per second")), required=False, min_value=1, max_value=100_000,
        help_text=_("Empty: not limited. The provider refuses messages above its contracted rate."))


class MessagingConfigForm(forms.ModelForm):
    """The settings, with the rate limits as one number field per SMS provider instead of JSON
    (issue 16). Empty = that provider is not limited; limits of other providers already stored are kept."""

    rate_aliyun = _rate_field(RATE_LIMIT_PROVIDERS["aliyun"])
    rate_tencent = _rate_field(RATE_LIMIT_PROVIDERS["tencent"])

    class Meta:
        model = MessagingConfig
        fields = [f.name for f in MessagingConfig._meta.concrete_fields
                  if f.editable and f.name not in ("id", "rate_limits")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limits = dict(self.instance.rate_limits or {}) if self.instance.pk else _default_rate_limits()
        for name in RATE_LIMIT_PROVIDERS:
            self.initial.setdefault(f"rate_{name}", limits.get(name))

    def save(self, commit=True):
        limits = {k: v for k, v in (self.instance.rate_limits or {}).items() if k not in RATE_LIMIT_PROVIDERS}
        for name in RATE_LIMIT_PROVIDERS:
            value = self.cleaned_data.get(f"rate_{name}")
            if value:
                limits[name] = value
        self.instance.rate_limits = limits
        return super().save(commit=commit)


@admin.register(MessagingConfig)
class MessagingConfigAdmin(ModelAdmin):
    form = MessagingConfigForm
    list_display = ("__str__", "quiet_hours_enabled", "quiet_start", "quiet_end", "marketing_cap",
                    "marketing_cap_days", "points_earned_notice", "max_attempts", "backoff_base_seconds",
                    "rate_limits_display")

    @admin.display(description=_("rate limits (messages per second per provider)"))
    def rate_limits_display(self, obj):
        limits = obj.rate_limits or {}
        return "；".join(f"{RATE_LIMIT_PROVIDERS.get(k, k)} {v}" for k, v in sorted(limits.items())) or "—"

    def has_add_permission(self, request):
        return not MessagingConfig.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Holiday)
class HolidayAdmin(ModelAdmin):
    list_display = ("date", "name", "template_code", "active")
    list_filter = ("active",)
    date_hierarchy = "date"


from . import campaign_admin  # noqa: E402,F401
