"""Staff admin of partners, offers and events. Actions call services. Partners and offers are chain-wide;
events, their registrations and members' redemption codes are limited to the viewer's stores (SEC-3)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from core.errors import MemberHubError
from members.admin_base import ScopedReadOnlyAdmin, StoreScopedAdminMixin

from .models import Event, Partner, PartnerOffer, RedemptionCode, Registration
from .selectors import event_outcome
from .services import event_invite, partner_key_rotate


@admin.register(Partner)
class PartnerAdmin(ModelAdmin):
    list_display = ["name", "kind", "contact", "is_active", "has_key"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    actions = ["rotate_key"]

    @admin.display(boolean=True, description=_("API key set"))
    def has_key(self, obj) -> bool:
        return bool(obj.api_key_hash)

    @admin.action(description=_("Issue a new API key (shown once)"))
    def rotate_key(self, request, queryset):
        for partner in queryset:
            key = partner_key_rotate(partner=partner, actor=request.user,
                                     ip=request.META.get("REMOTE_ADDR") or None)
            self.message_user(request, gettext("New API key of %(partner)s: %(key)s") % {"partner": partner,
                                                                                          "key": key},
                              messages.WARNING)


@admin.register(PartnerOffer)
class PartnerOfferAdmin(ModelAdmin):
    list_display = ["title", "partner", "valid_from", "valid_until", "per_member_limit", "is_active"]
    list_filter = ["partner", "is_active"]
    filter_horizontal = ["tiers"]


@admin.register(RedemptionCode)
class RedemptionCodeAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ["code", "offer", "member", "status", "issued_at", "used_at"]
    list_filter = ["status", "offer__partner"]
    search_fields = ["code", "member__member_no"]
    readonly_fields = [f.name for f in RedemptionCode._meta.fields]


@admin.register(Event)
class EventAdmin(StoreScopedAdminMixin, ModelAdmin):
    store_field = "store"
    list_display = ["title", "store", "starts_at", "ends_at", "capacity", "guest_allowance", "budget", "cost"]
    list_filter = ["store"]
    filter_horizontal = ["audience_tiers", "audience_tags"]
    # The outcome is recorded on the desk event page through event_outcome_record (audited), not here.
    readonly_fields = ["cost", "lessons_learned", "outcome_recorded_at", "outcome_recorded_by"]
    actions = ["invite", "outcome"]

    @admin.action(description=_("Send invitations to the audience"))
    def invite(self, request, queryset):
        for event in queryset:
            try:
                n = event_invite(event=event)
                self.message_user(request, gettext("%(event)s: %(n)d new invitations.") % {"event": event, "n": n})
            except (MemberHubError, ValueError) as exc:
                self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description=_("Show the outcome report"))
    def outcome(self, request, queryset):
        for event in queryset:
            self.message_user(request, f"{event}: {event_outcome(event)}")


@admin.register(Registration)
class RegistrationAdmin(ScopedReadOnlyAdmin):
    """Sign-ups are made by members on the portal (event_sign_up); here they are only looked up."""

    store_field = "event__store"
    list_display = ["event", "member", "guests", "status", "registered_at"]
    list_filter = ["status"]
    search_fields = ["=member__member_no", "event__title"]
    list_select_related = ["event", "member"]
