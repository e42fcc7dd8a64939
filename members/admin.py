"""Admin (unfold) of members and their records.

Store scope (MEM-9, SEC-3) applies to every list, detail and foreign-key choice; members are
read-only here (their data changes through desk change requests and services), history and log
tables are append-only, and personal data shows masked only."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from import_export import fields as ie_fields
from import_export.admin import ExportMixin
from import_export.formats import base_formats
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RelatedDropdownFilter
from unfold.contrib.import_export.forms import ExportForm
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core import crypto, replica
from core.errors import MemberHubError
from core.exports import SafeModelResource

from . import scope, selectors, services
from .admin_base import (
    ReadOnlyAdmin,
    ScopedReadOnlyAdmin,
    ScopedStoreFilter,
    StoreScopedAdminMixin,
    StoreScopedFKMixin,
)
from .api_auth import device_create
from .models import (
    Brand,
    ChangeRequest,
    ConsentLog,
    CorporateProfile,
    Device,
    GuardianConsent,
    Member,
    MemberChange,
    MemberSettings,
    PrivacyPolicy,
    ProductCategory,
    RetentionPurge,
    RetentionRule,
    SecurityIncident,
    SmsCode,
    StaffProfile,
    Store,
    Tag,
    Tier,
)
from .validation import normalize_mobile

# ---------------------------------------------------------------- stores, staff, tiers


@admin.register(Store)
class StoreAdmin(StoreScopedAdminMixin, ModelAdmin):
    store_field = "pk"
    list_display = ("code", "name", "city", "manager", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "city")
    list_select_related = ("manager",)

    def has_delete_permission(self, request, obj=None):
        return False  # members, staff and ledgers reference stores; deactivate instead


@admin.register(Brand, ProductCategory)
class CatalogueAdmin(ModelAdmin):
    """The catalogue the desk's purchase lines choose from; the code is what lines carry, so it stays."""

    list_display = ("code", "name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False  # purchases and benefit rules name these codes; deactivate instead


class StaffProfileInline(StoreScopedFKMixin, StackedInline):
    model = StaffProfile
    can_delete = False
    fields = ("display_name", "store", "chain_wide")
    verbose_name_plural = _("staff profile")

    def get_readonly_fields(self, request, obj=None):
        # Only a chain-wide administrator may widen someone's scope to the whole chain.
        return () if scope.is_chain_wide(request.user) else ("chain_wide",)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(StoreScopedAdminMixin, BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    inlines = [StaffProfileInline]
    list_display = ("username", "staff_name", "staff_store", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_active", "groups")
    list_select_related = ("staff_profile", "staff_profile__store")
    store_field = "staff_profile__store"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("staff_profile", "staff_profile__store")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly

    @admin.display(description=_("display name"))
    def staff_name(self, obj):
        profile = getattr(obj, "staff_profile", None)
        return profile.display_name if profile else ""

    @admin.display(description=_("store"))
    def staff_store(self, obj):
        profile = getattr(obj, "staff_profile", None)
        if profile is None:
            return ""
        return gettext("all stores") if profile.chain_wide else (profile.store or "")


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


@admin.register(StaffProfile)
class StaffProfileAdmin(StoreScopedAdminMixin, ModelAdmin):
    store_field = "store"
    list_display = ("user", "display_name", "store", "chain_wide")
    list_filter = ("chain_wide",)
    search_fields = ("user__username", "display_name")
    list_select_related = ("user", "store")

    def get_readonly_fields(self, request, obj=None):
        readonly = ["user"] if obj else []
        if not scope.is_chain_wide(request.user):
            readonly.append("chain_wide")
        return readonly


class TierAdminForm(forms.ModelForm):
    """Every tier rule with what it means for the nightly evaluation (TIER-1..4)."""

    class Meta:
        model = Tier
        fields = ("code", "name", "rank", "upgrade_amount", "upgrade_visits", "retention_amount", "points_rate",
                  "confirmation", "protection_months", "offset_cap_percent", "immediate_upgrade")
        help_texts = {
            "rank": _("Order of the tiers: 0 is the entry tier, higher is better. Upgrades go up, downgrades one "
                      "step down."),
            "upgrade_amount": _("Paid amount (after refunds) in the rolling 12 months that reaches this tier. "
                                "0 means no amount threshold: the tier is then reached by visits only, or only "
                                "by a manual grant."),
            "upgrade_visits": _("Shopping days in the rolling 12 months that reach this tier; empty means no "
                                "visits threshold. Reaching either threshold qualifies."),
            "retention_amount": _("At the member's yearly evaluation date, a rolling amount below this moves "
                                  "the member one tier down (not while protected, not below a manual tier). "
                                  "0 means the tier is always kept."),
            "points_rate": _("Points per yuan actually paid for members of this tier (fractions round down)."),
            "confirmation": _("Manual confirmation applies to changes INTO this tier (upgrades and downgrades "
                              "to it): the nightly evaluation puts them in the tier proposal queue for an "
                              "operations manager instead of applying them."),
            "protection_months": _("After a change into this tier, no downgrade for this many months. "
                                   "0 protection months means none."),
            "offset_cap_percent": _("At most this percentage of a bill can be paid with points (cash offset) "
                                    "by members of this tier."),
            "immediate_upgrade": _("Upgrade on the purchase that crosses the threshold instead of the next "
                                   "nightly evaluation (only when the tier's changes are automatic)."),
        }


@admin.register(Tier)
class TierAdmin(ModelAdmin):
    form = TierAdminForm
    list_display = ("rank", "code", "name", "upgrade_amount", "upgrade_visits", "retention_amount", "points_rate",
                    "confirmation", "protection_months", "offset_cap_percent", "immediate_upgrade")
    list_display_links = ("rank", "code", "name")
    ordering = ("rank",)
    fieldsets = (
        (None, {"fields": ("code", "name", "rank")}),
        (_("Upgrade"), {"fields": ("upgrade_amount", "upgrade_visits", "immediate_upgrade")}),
        (_("Downgrade and protection"), {"fields": ("retention_amount", "protection_months")}),
        (_("Confirmation"), {"fields": ("confirmation",)}),
        (_("Points"), {"fields": ("points_rate", "offset_cap_percent")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------- members


class MemberExportResource(SafeModelResource):
    """Member list export: masked values only (SEC-2); never the encrypted columns or hashes. Every cell
    goes through core.exports.safe_cell (SEC-5: no live formula, no control character)."""

    member_no = ie_fields.Field(attribute="member_no", column_name=_("member number"))
    name = ie_fields.Field(column_name=pgettext_lazy("person", "name"))
    mobile = ie_fields.Field(attribute="mobile_masked", column_name=_("mobile"))
    id_number = ie_fields.Field(attribute="id_number_masked", column_name=_("ID number"))
    kind = ie_fields.Field(column_name=_("kind"))
    status = ie_fields.Field(column_name=_("status"))
    tier = ie_fields.Field(attribute="tier__name", column_name=_("tier"))
    home_store = ie_fields.Field(attribute="home_store__code", column_name=_("home store"))
    province = ie_fields.Field(attribute="province", column_name=_("province"))
    city = ie_fields.Field(attribute="city", column_name=_("city"))
    channel = ie_fields.Field(column_name=_("sign-up channel"))
    marketing_consent = ie_fields.Field(attribute="marketing_consent", column_name=_("marketing consent"))
    created_at = ie_fields.Field(column_name=_("registered at"))

    class Meta:
        model = Member
        fields = ("member_no", "name", "mobile", "id_number", "kind", "status", "tier", "home_store", "province",
                  "city", "channel", "marketing_consent", "created_at")
        export_order = fields

    def dehydrate_name(self, member):
        return crypto.mask_name(member.name)

    def dehydrate_kind(self, member):
        return member.get_kind_display()

    def dehydrate_status(self, member):
        return member.get_status_display()

    def dehydrate_channel(self, member):
        return member.get_channel_display()

    def dehydrate_created_at(self, member):
        return timezone.localtime(member.created_at).strftime("%Y-%m-%d %H:%M")


class CorporateProfileInline(TabularInline):
    model = CorporateProfile
    fields = ("company_name", "credit_code", "contact_person")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0


class StatusActionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


MEMBER_FIELDS = (
    "member_no", "kind", "status", "status_reason", "name", "gender", "birthday", "mobile_masked",
    "id_number_masked", "province", "city", "district", "address_masked", "occupation", "email", "home_store",
    "tier", "channel", "created_by", "reviewed_by", "reviewed_at", "privacy_version", "marketing_consent",
    "created_at", "updated_at", "closed_at", "next_review_on", "tag_names", "desk_link",
)


@admin.register(Member)
class MemberAdmin(StoreScopedAdminMixin, ExportMixin, ModelAdmin):
    """Read-only: sign-up, data changes and status go through the desk and the services."""

    store_field = "home_store"  # the selector below applies the same rule

    resource_classes = [MemberExportResource]
    export_form_class = ExportForm
    formats = [base_formats.CSV, base_formats.XLSX]
    list_display = ("member_no", "name", "mobile_masked", "tier", "status", "home_store", "kind", "channel",
                    "created_at")
    list_filter = (
        ("status", ChoicesDropdownFilter),
        ("tier", RelatedDropdownFilter),
        ("home_store", ScopedStoreFilter),
        ("kind", ChoicesDropdownFilter),
        ("channel", ChoicesDropdownFilter),
        ("member_tags__tag", RelatedDropdownFilter),
    )
    list_filter_submit = True
    search_fields = ("=member_no", "^name")
    search_help_text = _("Member number, start of the name, or the full mobile number")
    list_select_related = ("tier", "home_store")
    fields = MEMBER_FIELDS
    readonly_fields = MEMBER_FIELDS
    inlines = [CorporateProfileInline]
    actions = ["suspend_members", "disqualify_members", "reinstate_members"]
    list_per_page = 50

    def get_queryset(self, request):
        return selectors.member_list_for_staff(request.user)

    def get_search_results(self, request, queryset, search_term):
        """Besides number and name, an exact mobile number finds its member through the lookup hash."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = (search_term or "").strip()
        if term:
            try:
                mobile = normalize_mobile(term)
            except ValueError:
                return results, may_have_duplicates
            results = results | queryset.filter(mobile_hash=crypto.lookup_hash(mobile))
        return results, may_have_duplicates

    def has_add_permission(self, request):
        return False  # desk sign-up goes through the review queue

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # members are closed (anonymised), never deleted

    def has_export_permission(self, request):
        return request.user.has_perm("members.export_member")

    def has_change_status_permission(self, request):
        return request.user.has_perm("members.change_member_status")

    def get_export_data(self, file_format, request, queryset, **kwargs):
        with replica.reads():  # the rows from the read replica when one is configured; the record below: primary
            data = super().get_export_data(file_format, request, queryset, **kwargs)
        services.member_export_record(staff=request.user, rows=queryset.count(), source="admin",
                                      ip=request.META.get("REMOTE_ADDR") or None)
        return data

    @admin.display(description=_("tags"))
    def tag_names(self, obj):
        return ", ".join(mt.tag.name for mt in obj.member_tags.select_related("tag").order_by("tag__name"))

    @admin.display(description=_("desk page"))
    def desk_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("desk:member", args=[obj.member_no]),
                           gettext("Open the member's desk page"))

    def _status_action(self, request, queryset, action: str, title):
        if "apply" in request.POST:
            form = StatusActionForm(request.POST)
            if form.is_valid():
                done = 0
                for member in queryset.order_by("pk"):
                    try:
                        services.member_set_status(member=member, staff=request.user, action=action,
                                                   reason=form.cleaned_data["reason"])
                        done += 1
                    except MemberHubError as exc:
                        self.message_user(request, f"{member.member_no}: {exc.message}", messages.ERROR)
                if done:
                    self.message_user(request, gettext("%(n)d member(s) changed.") % {"n": done}, messages.SUCCESS)
                return None
        else:
            form = StatusActionForm()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "members": queryset,
            "action": request.POST.get("action"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "desk/admin/member_status_action.html", context)

    @admin.action(description=_("Suspend selected members"), permissions=["change_status"])
    def suspend_members(self, request, queryset):
        return self._status_action(request, queryset, "suspend", gettext("Suspend members"))

    @admin.action(description=_("Disqualify selected members"), permissions=["change_status"])
    def disqualify_members(self, request, queryset):
        return self._status_action(request, queryset, "disqualify", gettext("Disqualify members"))

    @admin.action(description=_("Reinstate selected members"), permissions=["change_status"])
    def reinstate_members(self, request, queryset):
        return self._status_action(request, queryset, "reinstate", gettext("Reinstate members"))


# ---------------------------------------------------------------- member records (append-only)


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("member_no", "status", "summary", "channel", "requested_by", "requested_at", "reviewed_by",
                    "reviewed_at", "review_link")
    list_filter = (("status", ChoicesDropdownFilter), ("channel", ChoicesDropdownFilter))
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "requested_by", "reviewed_by")
    fields = ("member", "status", "channel", "summary", "requested_by", "requested_at", "reviewed_by",
              "reviewed_at", "reason", "review_link")  # never payload_enc
    readonly_fields = fields

    # The link to the desk's review queue only for those who may review (the auditor reads, never reviews).
    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if request.user.has_perm("members.review_member") else [f for f in shown if f != "review_link"]

    def get_fields(self, request, obj=None):
        shown = super().get_fields(request, obj)
        return shown if request.user.has_perm("members.review_member") else [f for f in shown if f != "review_link"]

    @admin.display(description=_("member number"), ordering="member__member_no")
    def member_no(self, obj):
        return obj.member.member_no

    @admin.display(description=_("review"))
    def review_link(self, obj):
        if obj.status != ChangeRequest.Status.PENDING:
            return ""
        return format_html('<a href="{}#change-{}">{}</a>', reverse("desk:reviews"), obj.pk,
                           gettext("Review at the desk"))


@admin.register(MemberChange)
class MemberChangeAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("at", "member", "field_label", "old_label", "new_label", "actor_display", "channel_label")
    list_filter = ("channel",)  # the field filter would list stored field names, not words
    fields = ("at", "member", "field_label", "old_label", "new_label", "actor_display", "channel_label",
              "change_request")
    readonly_fields = fields
    search_fields = ("=member__member_no", "actor_label")
    list_select_related = ("member",)
    date_hierarchy = "at"


@admin.register(ConsentLog)
class ConsentLogAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("at", "member", "kind", "granted", "version", "channel", "actor")
    list_filter = ("kind", "granted", "channel")
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "actor")
    date_hierarchy = "at"


@admin.register(SmsCode)
class SmsCodeAdmin(ReadOnlyAdmin):
    """Only the facts needed to follow up abuse; neither the code nor the mobile is shown."""

    list_display = ("created_at", "purpose", "ip", "expires_at", "used_at", "attempts")
    list_filter = ("purpose",)
    fields = ("purpose", "ip", "created_at", "expires_at", "used_at", "attempts")
    readonly_fields = fields
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # Codes belong to no store; only chain-wide staff see them.
        qs = super().get_queryset(request)
        return qs if scope.is_chain_wide(request.user) else qs.none()


# ---------------------------------------------------------------- tags


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ("name", "kind", "rule", "description")

    def clean(self):
        cleaned = super().clean()
        rule = cleaned.get("rule")
        kind = cleaned.get("kind")
        if rule is None:
            return cleaned
        if not isinstance(rule, dict):
            self.add_error("rule", gettext("The rule must be a JSON object, e.g. {\"tier\": [\"gold\"]}."))
            return cleaned
        if kind == Tag.Kind.RULE and not rule:
            self.add_error("rule", gettext("A rule tag needs a rule."))
            return cleaned
        if kind == Tag.Kind.MANUAL and rule:
            self.add_error("rule", gettext("A manual tag has no rule; choose the kind 'rule' or empty the rule."))
            return cleaned
        try:
            str(selectors.rule_queryset(rule).query)
        except (ValueError, TypeError) as exc:
            self.add_error("rule", gettext("Invalid rule: %(error)s. Known keys: %(keys)s.") % {
                "error": exc, "keys": ", ".join(sorted(selectors.RULE_KEYS))})
        return cleaned


@admin.register(Tag)
class TagAdmin(ModelAdmin):
    form = TagForm
    list_display = ("name", "kind", "description", "rule")
    list_filter = ("kind",)
    search_fields = ("name",)


# ---------------------------------------------------------------- devices


class DeviceAddForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = ("name", "store")


@admin.register(Device)
class DeviceAdmin(StoreScopedAdminMixin, ModelAdmin):
    """Tills and staff apps. The token is shown once, on the page right after creation."""

    store_field = "store"
    list_display = ("name", "key_prefix", "store", "is_active", "last_seen_at", "created_at")
    list_filter = ("is_active", ("store", ScopedStoreFilter))
    search_fields = ("name", "=key_prefix")
    list_select_related = ("store",)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = DeviceAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "store")
        return ("name", "store", "key_prefix", "is_active", "created_at", "last_seen_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("store", "key_prefix", "created_at", "last_seen_at")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke by clearing "active"; the audit trail keeps the device

    def save_model(self, request, obj, form, change):
        if change:
            services.device_update(device=obj, staff=request.user, name=obj.name, is_active=obj.is_active,
                                   ip=request.META.get("REMOTE_ADDR") or None)
            return
        scope.require_store(request.user, obj.store)
        device, token = device_create(name=obj.name, store=obj.store)
        obj.pk = device.pk
        obj.key_prefix = device.key_prefix
        obj.key_hash = device.key_hash
        obj.created_at = device.created_at
        obj._state.adding = False
        obj._state.db = device._state.db
        request._new_device_token = token

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "_new_device_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Device token"),
            "opts": self.model._meta,
            "device": obj,
            "token": token,
            "changelist_url": reverse("admin:members_device_changelist"),
        }
        response = TemplateResponse(request, "desk/admin/device_token.html", context)
        response["Cache-Control"] = "no-store"
        return response


# ---------------------------------------------------------------- member rights (issue 15)


@admin.register(MemberSettings)
class MemberSettingsAdmin(ModelAdmin):
    """One row (seeded): the periodic re-review interval (MEM-5) and the guardian age (PIPL art. 31)."""

    list_display = ("__str__", "review_interval_days", "guardian_age", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not MemberSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class PrivacyPolicyForm(forms.ModelForm):
    class Meta:
        model = PrivacyPolicy
        fields = ("version", "title", "effective_at", "summary_of_changes", "text")


@admin.register(PrivacyPolicy)
class PrivacyPolicyAdmin(ModelAdmin):
    """Privacy policy texts per version (MEM-6). A version in effect is read-only: a change is a new version,
    and members accept it at their next portal visit. Saved through services.privacy_policy_save (audited)."""

    form = PrivacyPolicyForm
    list_display = ("version", "title", "effective_at", "in_effect", "members_accepted", "created_by")
    search_fields = ("version", "title")
    list_select_related = ("created_by",)

    def get_queryset(self, request):
        from django.db.models import Count, OuterRef, Subquery

        accepted = (Member.objects.filter(privacy_version=OuterRef("version")).order_by()
                    .values("privacy_version").annotate(n=Count("pk")).values("n")[:1])
        current = (PrivacyPolicy.objects.filter(effective_at__lte=timezone.now()).order_by("-effective_at")
                   .values("pk")[:1])  # the rule of selectors.privacy_policy_current, in the list's one query
        return super().get_queryset(request).annotate(accepted_count=Subquery(accepted),
                                                      current_pk=Subquery(current))

    @admin.display(description=_("current"), boolean=True)
    def in_effect(self, obj):
        return obj.pk == getattr(obj, "current_pk", None)

    @admin.display(description=_("members who accepted it"))
    def members_accepted(self, obj):
        return getattr(obj, "accepted_count", None) or 0

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.effective_at <= timezone.now():
            return ("version", "title", "effective_at", "summary_of_changes", "text")
        return ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            saved = services.privacy_policy_save(staff=request.user, policy=obj if change else None,
                                                 data=form.cleaned_data)
        except MemberHubError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = saved.pk


@admin.register(GuardianConsent)
class GuardianConsentAdmin(ScopedReadOnlyAdmin):
    store_field = "member__home_store"
    list_display = ("at", "member", "relation", "guardian_mobile_masked", "verified_how", "channel", "actor")
    list_filter = (("verified_how", ChoicesDropdownFilter),)
    search_fields = ("=member__member_no",)
    list_select_related = ("member", "actor")
    fields = ("member", "at", "relation", "guardian_mobile_masked", "verified_how", "channel", "actor")


class RetentionRuleForm(forms.ModelForm):
    class Meta:
        model = RetentionRule
        fields = ("target", "keep_days", "action", "is_active", "note")

    def clean(self):
        from core.retention import retention_target

        cleaned = super().clean()
        target = retention_target(cleaned.get("target") or "")
        if target is None:
            from core.retention import retention_targets

            known = ", ".join(t.key for t in retention_targets())
            self.add_error("target", gettext("Unknown data set. Known: %(known)s.") % {"known": known})
        elif cleaned.get("action") and cleaned["action"] not in target.actions:
            self.add_error("action", gettext("This data set can only be: %(actions)s.") % {
                "actions": ", ".join(str(RetentionRule.Action(a).label) for a in target.actions)})
        return cleaned


@admin.register(RetentionRule)
class RetentionRuleAdmin(ModelAdmin):
    """保存期限表: what is kept how long; the nightly job apply_retention purges or anonymises the rest."""

    form = RetentionRuleForm
    list_display = ("target", "target_label", "keep_days", "action", "is_active", "note", "updated_at")
    list_filter = ("is_active", ("action", ChoicesDropdownFilter))

    @admin.display(description=_("data set"))
    def target_label(self, obj):
        from core.retention import retention_target

        target = retention_target(obj.target)
        return target.label if target else "—"

    def has_delete_permission(self, request, obj=None):
        return False  # the purge register references its rules; switch a rule off instead


@admin.register(RetentionPurge)
class RetentionPurgeAdmin(ReadOnlyAdmin):
    """The purge register (for auditors): rows purged or anonymised per rule per run, by which job, when."""

    list_display = ("at", "target", "action", "keep_days", "cutoff", "rows", "run_by", "job_run")
    list_filter = ("target", ("action", ChoicesDropdownFilter))
    list_select_related = ("job_run",)
    date_hierarchy = "at"


class SecurityIncidentForm(forms.ModelForm):
    class Meta:
        model = SecurityIncident
        fields = services.INCIDENT_FIELDS

    def clean(self):
        cleaned = super().clean()
        for field, errors in services.incident_errors(cleaned).items():
            for error in errors:
                self.add_error(field if field in self.fields else None, error)
        return cleaned


@admin.register(SecurityIncident)
class SecurityIncidentAdmin(ModelAdmin):
    """安全事件登记 for auditors and the data-protection role: saved through services.incident_save (audited)."""

    form = SecurityIncidentForm
    list_display = ("detected_at", "title", "severity", "status", "members_affected", "handled_by",
                    "members_notified_at", "authority_notified_at", "closed_at")
    list_filter = (("status", ChoicesDropdownFilter), ("severity", ChoicesDropdownFilter))
    search_fields = ("title", "description")
    list_select_related = ("handled_by",)
    readonly_fields = ("recorded_by", "recorded_at", "closed_at", "updated_at")
    date_hierarchy = "detected_at"

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.incident_save(staff=request.user, incident=obj if change else None,
                                       data=form.cleaned_data)
        obj.pk = saved.pk


from . import admin_audit  # noqa: E402,F401  (the audit log's admin: store-scoped, so not in core)
