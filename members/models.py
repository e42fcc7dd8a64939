"""Stores, staff scope, tiers, members and everything that records a change to a member.

Sensitive values (mobile, ID number, address detail) are stored encrypted (`*_enc`), with a keyed
hash for exact lookup (`*_hash`) and a masked copy for lists (`*_masked`); see core.crypto.
"""
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.actors import ActorLabelled


class Store(models.Model):
    code = models.CharField(_("store code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("store manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="managed_stores",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Brand(models.Model):
    """The catalogue's brands (商品目录): what a purchase line's `brand` holds (the code) and what the desk
    chooses from; tier discounts and points campaigns name the same codes."""

    code = models.CharField(_("brand code"), max_length=64, unique=True)
    name = models.CharField(pgettext_lazy("brand", "name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name if self.name == self.code else f"{self.name} ({self.code})"


class ProductCategory(models.Model):
    """The catalogue's product categories (品类): what a purchase line's `category` holds (the code)."""

    code = models.CharField(_("category code"), max_length=64, unique=True)
    name = models.CharField(pgettext_lazy("category", "name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name if self.name == self.code else f"{self.name} ({self.code})"


class StaffProfile(models.Model):
    """A staff account's store; `chain_wide` lets it see and act on every store (MEM-9)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile", verbose_name=_("user"))
    store = models.ForeignKey(Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.PROTECT)
    chain_wide = models.BooleanField(_("chain-wide"), default=False)
    display_name = models.CharField(_("display name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(chain_wide=True) | Q(store__isnull=False), name="staff_has_store_or_chain_wide"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class Tier(models.Model):
    """Membership tiers (TIER-1): names, order, thresholds, points rate, confirmation mode."""

    class Confirmation(models.TextChoices):
        AUTOMATIC = "auto", _("Automatic")
        MANUAL = "manual", _("Manual confirmation by operations")

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=32)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("0 is the entry tier"))
    upgrade_amount = models.DecimalField(
        _("upgrade threshold (yuan, rolling 12 months)"), max_digits=12, decimal_places=2, default=0
    )
    upgrade_visits = models.PositiveIntegerField(
        _("upgrade threshold (visits, rolling 12 months)"), null=True, blank=True,
        help_text=_("optional; reaching either threshold qualifies"),
    )
    retention_amount = models.DecimalField(
        _("retention threshold (yuan, rolling 12 months)"), max_digits=12, decimal_places=2, default=0
    )
    points_rate = models.DecimalField(_("points per yuan"), max_digits=6, decimal_places=2, default=1)
    confirmation = models.CharField(
        _("tier changes"), max_length=8, choices=Confirmation.choices, default=Confirmation.AUTOMATIC
    )
    protection_months = models.PositiveSmallIntegerField(_("protection after a change (months)"), default=12)
    offset_cap_percent = models.PositiveSmallIntegerField(
        _("points offset cap (percent of the bill)"), default=50
    )
    immediate_upgrade = models.BooleanField(
        _("upgrade immediately on the purchase that crosses the threshold"), default=False
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(points_rate__gte=0), name="tier_points_rate_non_negative"),
            models.CheckConstraint(condition=Q(offset_cap_percent__lte=100), name="tier_offset_cap_max_100"),
        ]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CLOSED = "closed", pgettext_lazy("member status", "Closed")

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        CORPORATE = "corporate", _("Corporate")

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")
        UNKNOWN = "U", _("Not stated")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        DESK = "desk", _("Front desk")
        TILL = "till", _("Till")
        IMPORT = "import", _("Import")

    member_no = models.CharField(_("member number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PERSONAL)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, default=Gender.UNKNOWN)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    mobile_enc = models.TextField(null=True, blank=True)
    mobile_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    mobile_masked = models.CharField(_("mobile"), max_length=16, blank=True)
    id_number_enc = models.TextField(null=True, blank=True)
    id_number_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    id_number_masked = models.CharField(_("ID number"), max_length=24, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=20, blank=True)
    district = models.CharField(_("district"), max_length=20, blank=True)
    # GB/T 2260 code of the deepest division chosen (6 digits: 440000 province, 440300 city, 440305 district);
    # province/city/district above hold its names (members.divisions), empty code = typed by hand or imported.
    division_code = models.CharField(_("division code"), max_length=6, blank=True)
    address_enc = models.TextField(null=True, blank=True)
    address_masked = models.CharField(_("address"), max_length=40, blank=True)
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    home_store = models.ForeignKey(Store, verbose_name=_("home store"), on_delete=models.PROTECT, related_name="members")
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="members")
    channel = models.CharField(_("sign-up channel"), max_length=16, choices=Channel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("registered by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    status_reason = models.CharField(_("status reason"), max_length=500, blank=True)
    privacy_version = models.CharField(_("privacy policy version"), max_length=16, blank=True)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    id_number_consent = models.BooleanField(
        _("consent to store the ID number"), default=False,
        help_text=_("sensitive personal information (PIPL art. 28-29): stored only with this separate consent"),
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True, db_index=True)
    # Indexed: the consumption cube's nightly refresh finds the members changed since its mark.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    next_review_on = models.DateField(_("next periodic review"), null=True, blank=True)
    tier_since = models.DateField(_("tier since"), null=True, blank=True)
    tier_protected_until = models.DateField(_("tier protected until"), null=True, blank=True)
    tier_floor = models.ForeignKey(
        Tier, verbose_name=_("manual tier floor"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tier_floor_until = models.DateField(_("manual tier until"), null=True, blank=True)
    tier_evaluation_day = models.DateField(
        _("yearly tier evaluation date"), null=True, blank=True,
        help_text=_("month and day of the yearly downgrade check; defaults to the sign-up date"),
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["home_store", "status"]),
            models.Index(fields=["tier", "status"]),
            models.Index(fields=["name"]),
        ]
        permissions = [
            ("reveal_sensitive", _("Can reveal full mobile, ID number and address")),
            ("review_member", _("Can review sign-ups and change requests")),
            ("change_member_status", _("Can suspend, disqualify and reinstate members")),
            ("export_member", _("Can export member lists")),
            ("import_member", _("Can import members")),
        ]

    def __str__(self) -> str:
        return f"{self.member_no} {self.name}"

    @property
    def can_transact(self) -> bool:
        return self.status == self.Status.ACTIVE


class CorporateProfile(models.Model):
    """企业会员: the company behind a corporate member and the staff buyers linked to it."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="corporate", verbose_name=_("member"))
    company_name = models.CharField(_("company name"), max_length=100)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    contact_person = models.CharField(_("contact person"), max_length=50)
    buyers = models.ManyToManyField(Member, verbose_name=_("linked buyers"), blank=True, related_name="employers")

    class Meta:
        verbose_name = _("corporate profile")
        verbose_name_plural = _("corporate profiles")

    def __str__(self) -> str:
        return self.company_name


class ChangeRequest(models.Model):
    """变更申请 (MEM-4): proposed new values wait for review; sensitive values are kept encrypted."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="change_requests")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Member.Channel.choices)
    payload_enc = models.TextField(help_text="encrypted JSON of the requested values")
    summary = models.CharField(_("summary"), max_length=500, help_text=_("fields and masked new values"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    mobile_verified_at = models.DateTimeField(
        _("new mobile verified at"), null=True, blank=True,
        help_text=_("when the member proved the new mobile number by SMS code"),
    )

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="pending"), name="one_pending_change_request_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member.member_no} {self.get_status_display()}"


class MemberChange(ActorLabelled, models.Model):
    """Append-only history of every change to a member's data (who, when, old -> new, masked)."""

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="changes")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    field = models.CharField(_("field"), max_length=32)
    old_value = models.CharField(_("old value"), max_length=200, blank=True)
    new_value = models.CharField(_("new value"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=150)
    channel = models.CharField(_("channel"), max_length=16)
    change_request = models.ForeignKey(ChangeRequest, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("change request"))

    class Meta:
        verbose_name = _("member change")
        verbose_name_plural = _("member change history")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member", "-at"])]

    # Logged names that are not a Member field of that name (kept encrypted or on the company profile).
    OTHER_FIELDS = {"mobile": _("Mobile"), "id_number": _("ID number"), "address": _("Address"),
                    "buyers": _("Linked buyers")}

    def _member_field(self):
        try:
            return Member._meta.get_field(self.field)
        except FieldDoesNotExist:
            return None

    @admin.display(description=_("field"), ordering="field")
    def field_label(self) -> str:
        """Pages show the field's words and choices' labels, never the stored codes (issue 16)."""
        if self.field in self.OTHER_FIELDS:
            return self.OTHER_FIELDS[self.field]
        field = self._member_field()
        return capfirst(field.verbose_name) if field is not None else self.field

    def _value_label(self, value: str) -> str:
        field = self._member_field()
        if field is not None and field.choices:
            return dict(field.flatchoices).get(value, value)
        return value

    @admin.display(description=_("old value"))
    def old_label(self) -> str:
        return self._value_label(self.old_value)

    @admin.display(description=_("new value"))
    def new_label(self) -> str:
        return self._value_label(self.new_value)

    @admin.display(description=_("channel"), ordering="channel")
    def channel_label(self) -> str:
        return dict(Member.Channel.choices).get(self.channel, self.channel)


class ConsentLog(models.Model):
    """MEM-6: every consent given or withdrawn, with time, channel and policy version."""

    class Kind(models.TextChoices):
        PRIVACY = "privacy", _("Privacy policy")
        MARKETING = "marketing", _("Marketing messages")
        ID_NUMBER = "id_number", _("Storing the ID number")
        GUARDIAN = "guardian", _("Guardian's consent (under 14)")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        DESK = "desk", _("Front desk")
        SMS = "sms", _("SMS reply")
        TILL = "till", _("Till")
        IMPORT = "import", _("Import")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(_("consent"), max_length=16, choices=Kind.choices)
    granted = models.BooleanField(_("granted"))
    version = models.CharField(_("policy version"), max_length=16, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member", "kind", "-at"])]


class Tag(models.Model):
    """会员标签 (MEM-7): manual tags, or rule tags whose members follow a saved filter."""

    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        RULE = "rule", _("Rule")

    name = models.CharField(_("name"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    rule = models.JSONField(
        _("rule"), default=dict, blank=True,
        help_text=_("saved filter, e.g. {\"tier\": [\"gold\"], \"min_age\": 30, \"gender\": \"F\"}"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberTag(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="member_tags", verbose_name=_("member"))
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="member_tags", verbose_name=_("tag"))
    added_at = models.DateTimeField(auto_now_add=True, verbose_name=_("added at"))
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("added by"))

    class Meta:
        verbose_name = _("member tag")
        verbose_name_plural = _("member tags")
        constraints = [models.UniqueConstraint(fields=["member", "tag"], name="member_tag_unique")]
        indexes = [models.Index(fields=["tag", "member"])]


class SmsCode(models.Model):
    """One-time codes for portal sign-up and login: expiring, single use, attempt-limited (SEC-5)."""

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        LOGIN = "login", _("Login")
        TILL = "till", _("Till sign-up")
        CHANGE_MOBILE = "change_mobile", _("New mobile number of a change request")

    mobile_hash = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, verbose_name=_("purpose"))
    code_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("ip"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))

    class Meta:
        verbose_name = _("SMS code")
        verbose_name_plural = _("SMS codes")
        indexes = [models.Index(fields=["ip", "created_at"])]


class Device(models.Model):
    """A till or staff app authenticated by an API token bound to one store."""

    is_till_device = True  # how core.api.device_of tells a till's request.auth from a staff session

    name = models.CharField(_("name"), max_length=64)
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="devices")
    key_prefix = models.CharField(max_length=8, unique=True, verbose_name=_("key prefix"))
    key_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen at"))

    class Meta:
        verbose_name = _("till / device")
        verbose_name_plural = _("tills / devices")

    def __str__(self) -> str:
        return f"{self.name} ({self.store.code})"


# ---------------------------------------------------------------- member rights (issue 15)


class MemberSettings(models.Model):
    """Chain-wide member parameters that operations change (one row, edited in the admin)."""

    review_interval_days = models.PositiveSmallIntegerField(
        _("periodic re-review every (days)"), default=365,
        validators=[MinValueValidator(30), MaxValueValidator(3660)],
        help_text=_("seed 002 二(二)3: member data is re-checked periodically; the next review date is set at "
                    "sign-up, approval, import and after each review"),
    )
    guardian_age = models.PositiveSmallIntegerField(
        _("guardian's consent needed under (years)"), default=14,
        validators=[MinValueValidator(14), MaxValueValidator(18)],
        help_text=_("PIPL art. 31: personal information of a child under 14 needs a guardian's consent"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("member settings")
        verbose_name_plural = _("member settings")

    def __str__(self) -> str:
        return str(_("Member settings"))

    @classmethod
    def get(cls) -> "MemberSettings":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class PrivacyPolicy(models.Model):
    """One version of the privacy policy text; the current one is the latest already in effect."""

    version = models.CharField(_("version"), max_length=16, unique=True)
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=50_000)
    summary_of_changes = models.CharField(_("what changed"), max_length=500, blank=True)
    effective_at = models.DateTimeField(_("effective from"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")
        ordering = ["-effective_at"]

    def __str__(self) -> str:
        return f"{self.version} {self.title}"


class GuardianConsent(models.Model):
    """PIPL art. 31: the guardian's consent for a member under 14, recorded before the account is active."""

    class Verification(models.TextChoices):
        ID_SEEN = "id_seen", _("Guardian present, ID document seen")
        HOUSEHOLD = "household", _("Household register (户口本) seen")
        SMS = "sms", _("Guardian confirmed by SMS code")
        PHONE = "phone", _("Guardian confirmed by phone call")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="guardian_consents")
    guardian_name = models.CharField(_("guardian's name"), max_length=50)
    relation = models.CharField(_("relation to the child"), max_length=20)
    guardian_mobile_enc = models.TextField()
    guardian_mobile_masked = models.CharField(_("guardian's mobile"), max_length=16)
    verified_how = models.CharField(_("how verified"), max_length=16, choices=Verification.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16)

    class Meta:
        verbose_name = _("guardian's consent")
        verbose_name_plural = _("guardians' consents")
        ordering = ["-at", "-id"]


class RetentionRule(models.Model):
    """保存期限: what is kept how long, then purged or anonymised by the nightly job apply_retention."""

    class Action(models.TextChoices):
        PURGE = "purge", _("Delete")
        ANONYMISE = "anonymise", _("Anonymise")

    target = models.CharField(_("what"), max_length=32, unique=True,
                              help_text=_("a data set an app registered in core.retention"))
    keep_days = models.PositiveIntegerField(_("keep for (days)"),
                                            validators=[MinValueValidator(1), MaxValueValidator(36600)])
    action = models.CharField(_("then"), max_length=16, choices=Action.choices)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("why this period"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention schedule")
        ordering = ["target"]

    def __str__(self) -> str:
        return self.target


class RetentionPurge(models.Model):
    """Append-only register of what the retention job purged: rows per rule per run."""

    rule = models.ForeignKey(RetentionRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="purges")
    target = models.CharField(_("what"), max_length=32)
    action = models.CharField(_("action"), max_length=16, choices=RetentionRule.Action.choices)
    keep_days = models.PositiveIntegerField(_("kept for (days)"))
    cutoff = models.DateTimeField(_("older than"))
    rows = models.PositiveIntegerField(_("rows"))
    job_run = models.ForeignKey("core.JobRun", verbose_name=_("job run"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    run_by = models.CharField(_("run by"), max_length=150)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("purge record")
        verbose_name_plural = _("purge register")
        ordering = ["-at", "-id"]


class SecurityIncident(models.Model):
    """安全事件登记 (seed 000 信息安全 应对措施; PIPL art. 57): what happened, who handled it, who was told when."""

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONTAINED = "contained", _("Contained")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("what happened"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    detected_at = models.DateTimeField(_("detected at"))
    members_affected = models.PositiveIntegerField(_("members affected (estimate)"), default=0)
    data_involved = models.CharField(_("personal data involved"), max_length=200, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handled by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    measures = models.TextField(_("measures taken"), max_length=10_000, blank=True)
    members_notified_at = models.DateTimeField(_("members notified at"), null=True, blank=True)
    authority_notified_at = models.DateTimeField(_("authority notified at"), null=True, blank=True)
    authority = models.CharField(_("authority notified"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("security incident")
        verbose_name_plural = _("security incidents")
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(occurred_at__isnull=True) | Q(occurred_at__lte=models.F("detected_at")),
                                   name="incident_occurred_before_detected"),
            models.CheckConstraint(condition=~Q(status="closed") | Q(closed_at__isnull=False),
                                   name="incident_closed_has_date"),
        ]

    def __str__(self) -> str:
        return self.title
