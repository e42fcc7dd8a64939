"""Messages to members (MSG-1..3): templates, the message log, settings, inbound SMS, holidays,
and the portal inbox (Notice)."""
from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.actors import ActorLabelled


class Notice(models.Model):
    """One notice per (kind, ref, member): a re-run of the job that sends it never repeats it."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.CASCADE,
                               related_name="notices")
    kind = models.CharField(_("kind"), max_length=32)
    ref = models.CharField(_("event reference"), max_length=100)
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    sms_sent = models.BooleanField(_("SMS sent"), default=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "ref", "member"], name="notice_once_per_event")]
        indexes = [models.Index(fields=["member", "-created_at"])]

    def __str__(self) -> str:
        return self.title


def _default_rate_limits() -> dict:
    return {"aliyun": 200, "tencent": 200}


class MessageKind(models.TextChoices):
    SERVICE = "service", _("Service notice")
    GREETING = "greeting", _("Greeting")
    MARKETING = "marketing", _("Marketing")
    SECURITY = "security", _("Security code")


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    INBOX = "inbox", _("Portal inbox")
    # WeChat Official Account template messages (issue 18): service notices to members who linked WeChat.
    WECHAT = "wechat", _("WeChat")


# Campaigns (marketing, greetings) are not sent as WeChat template messages: WeChat allows those for
# service notices only.
CAMPAIGN_CHANNELS = [c for c in MessageChannel.choices if c[0] != MessageChannel.WECHAT]


class MessageTemplate(models.Model):
    """MSG-3: text operations edit in the admin. `{name}` placeholders are filled from the send's
    params; for SMS the provider's own approved template (code + parameters) is what really goes out."""

    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices, default=MessageKind.SERVICE)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices,
                               default=MessageChannel.SMS)
    subject = models.CharField(_("subject"), max_length=200, blank=True,
                               help_text=_("E-mail subject or inbox title; may use {placeholders}."))
    body = models.TextField(_("text"), help_text=_("Simplified Chinese text with {placeholders}, e.g. {name}."))
    provider_template_code = models.CharField(
        _("provider template code"), max_length=64, blank=True,
        help_text=_("The SMS template approved at the provider (Aliyun SMS_123456789 / Tencent 1234567)."))
    provider_param_names = models.JSONField(
        _("provider parameter names"), default=list, blank=True,
        help_text=_("Parameters passed to the provider template, in the template's order, e.g. [\"name\", \"points\"]."))
    respects_quiet_hours = models.BooleanField(
        _("waits for quiet hours to end"), default=False,
        help_text=_("Marketing and greetings always wait; tick for service notices that can wait."))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["code", "channel"]
        constraints = [models.UniqueConstraint(fields=["code", "channel"], name="message_template_code_channel")]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_channel_display()})"


class Message(models.Model):
    """One message to one recipient on one channel: the log MSG-3 asks for and the unit of delivery.

    `event_key` names the event ("<event kind>:<object>", e.g. "tier_change:42"); the unique
    constraint makes one event send at most one message per member and channel, whoever asks twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.CASCADE,
                               null=True, blank=True, related_name="messages")
    # Recipients who are not (yet) members: security codes at sign-up.
    mobile_hash = models.CharField(max_length=64, blank=True)
    mobile_enc = models.TextField(blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    template = models.ForeignKey(MessageTemplate, verbose_name=_("template"), on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="+")
    event_key = models.CharField(_("event"), max_length=150)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    text = models.TextField(_("text"))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # Security codes only: the real text and provider parameters, Fernet-encrypted (core.crypto),
    # while the message may still be sent; `text` and `params` hold the masked copy. Emptied once
    # the message is sent or has failed for good (messaging.delivery).
    secret_enc = models.TextField(blank=True, default="", db_default="", editable=False)
    campaign_id = models.BigIntegerField(_("campaign"), null=True, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    provider = models.CharField(_("provider"), max_length=16, blank=True)
    provider_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    scheduled_for = models.DateTimeField(_("held until"), null=True, blank=True,
                                         help_text=_("Quiet hours: not sent before this time."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            # NULLS NOT DISTINCT: member-less messages (security codes) are unique by event too.
            models.UniqueConstraint(fields=["event_key", "member", "channel"], nulls_distinct=False,
                                    name="message_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="message_due_idx",
                         condition=models.Q(status="queued")),
            models.Index(fields=["claimed_at"], name="message_sending_idx", condition=models.Q(status="sending")),
            models.Index(fields=["provider", "provider_id"], name="message_provider_id_idx"),
            models.Index(fields=["member", "-created_at"], name="message_member_idx"),
            models.Index(fields=["status", "-created_at"], name="message_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.event_key}"


class MessagingConfig(models.Model):
    """Singleton (pk=1) of the messaging parameters operations change in the admin."""

    quiet_hours_enabled = models.BooleanField(_("quiet hours on"), default=True)
    quiet_start = models.TimeField(_("quiet hours start"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=dt.time(8, 0))
    rate_limits = models.JSONField(
        _("rate limits (messages per second per provider)"), default=_default_rate_limits, blank=True,
        help_text=_("E.g. {\"aliyun\": 200, \"tencent\": 200}; a provider not listed is not limited."))
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=5)
    backoff_base_seconds = models.PositiveIntegerField(_("retry back-off base (seconds)"), default=60)
    backoff_max_seconds = models.PositiveIntegerField(_("longest back-off (seconds)"), default=6 * 3600)
    sending_timeout_seconds = models.PositiveIntegerField(
        _("sending timeout (seconds)"), default=600,
        help_text=_("A message still 'sending' after this long had its worker stop mid-send; it is marked "
                    "failed, not resent, because the provider may have sent it."))
    opt_out_line = models.CharField(_("opt-out line"), max_length=32, default="回TD退订")
    # Seed 003 3.3 避免过度打扰: marketing and greetings per member in a rolling window.
    marketing_cap = models.PositiveSmallIntegerField(
        _("marketing messages per member (cap)"), default=3,
        help_text=_("At most this many marketing messages and greetings per member within the window; 0 = no cap."))
    marketing_cap_days = models.PositiveSmallIntegerField(
        _("cap window (days)"), default=7, validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("The cap counts the messages of the last this many days (rolling)."))
    # Seed 000 信息通知 (会员消费): points earned are told once a day, not per purchase.
    points_earned_notice = models.BooleanField(
        _("daily points-earned notice"), default=True,
        help_text=_("One notice per member per day with the points the day's purchases earned."))
    points_earned_notice_min_points = models.PositiveIntegerField(
        _("points-earned notice from (points)"), default=1, validators=[MaxValueValidator(1_000_000)],
        help_text=_("Days on which a member earned fewer points get no notice."))

    class Meta:
        verbose_name = _("messaging settings")
        verbose_name_plural = _("messaging settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="messaging_config_singleton"),
            models.CheckConstraint(condition=models.Q(marketing_cap_days__gte=1, marketing_cap_days__lte=90),
                                   name="messaging_cap_days_1_to_90"),
        ]

    def __str__(self) -> str:
        return str(_("Messaging settings"))

    @classmethod
    def get(cls) -> MessagingConfig:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class InboundMessage(models.Model):
    """An SMS a member sent to us (provider callback), with what was done about it."""

    class Action(models.TextChoices):
        OPT_OUT = "opt_out", _("Marketing consent withdrawn")
        ALREADY_OUT = "already_out", _("Already opted out")
        UNKNOWN_SENDER = "unknown", _("Sender is not a member")
        NONE = "none", _("No action")

    provider = models.CharField(_("provider"), max_length=16)
    provider_msg_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    mobile_hash = models.CharField(max_length=64, db_index=True)
    mobile_masked = models.CharField(_("mobile"), max_length=16, blank=True)
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.SET_NULL,
                               null=True, blank=True, related_name="+")
    text = models.CharField(_("text"), max_length=500)
    received_at = models.DateTimeField(_("received"))
    action = models.CharField(_("action"), max_length=12, choices=Action.choices, default=Action.NONE)

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_msg_id"], condition=~models.Q(provider_msg_id=""),
                                    name="inbound_once_per_provider_msg"),
        ]

    def __str__(self) -> str:
        return f"{self.mobile_masked}: {self.text[:20]}"


class Holiday(models.Model):
    """Greetings calendar staff maintain (MSG-2): on the date, members get the holiday greeting."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=50)
    template_code = models.SlugField(_("greeting template code"), max_length=64, default="holiday_greeting")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


# ---------------------------------------------------------------- campaigns (messaging.campaigns owns the rules)


class Campaign(models.Model):
    """A marketing or greeting send to an audience (MSG-2, MSG-4): tags / tiers / stores / a saved
    filter, or an evaluation segment. Planned set-wise into Message rows (event "campaign:<id>"),
    sent in batches on the sms queue; the counts are the campaign's progress."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PLANNING = "planning", _("Planning")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=100)
    template = models.ForeignKey(MessageTemplate, verbose_name=_("template"), on_delete=models.PROTECT,
                                 related_name="campaigns",
                                 limit_choices_to={"kind__in": [MessageKind.MARKETING, MessageKind.GREETING]})
    channel = models.CharField(_("channel"), max_length=8, choices=CAMPAIGN_CHANNELS,
                               default=MessageChannel.SMS)
    params = models.JSONField(_("template parameters"), default=dict, blank=True,
                              help_text=_("Values of the template's placeholders other than {name} and {member_no}."))
    audience = models.JSONField(
        _("audience"), default=dict, blank=True,
        help_text=_('e.g. {"tags": ["VIP"], "tiers": ["gold"], "stores": ["S01"], "min_age": 30}'))
    segment_id = models.BigIntegerField(_("evaluation segment"), null=True, blank=True)
    scope_store_ids = models.JSONField(_("store scope"), null=True, blank=True,
                                       help_text=_("Empty: chain-wide. Set from the creator's store scope."))
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    audience_count = models.PositiveIntegerField(_("audience"), default=0)
    skipped_no_consent = models.PositiveIntegerField(_("skipped: no consent"), default=0)
    skipped_unreachable = models.PositiveIntegerField(_("skipped: no address"), default=0)
    skipped_channel_off = models.PositiveIntegerField(_("skipped: channel turned off by the member"), default=0)
    skipped_frequency_cap = models.PositiveIntegerField(_("skipped: frequency cap"), default=0)
    planned = models.PositiveIntegerField(_("planned"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    cancelled_count = models.PositiveIntegerField(_("cancelled"), default=0)
    plan_done = models.PositiveIntegerField(_("planning progress"), default=0)
    plan_total = models.PositiveIntegerField(_("planning total"), default=0)
    batches_total = models.PositiveIntegerField(_("batches"), default=0)
    batches_done = models.PositiveIntegerField(_("batches done"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey("auth.User", verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    planned_at = models.DateTimeField(_("planned"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey("auth.User", verbose_name=_("cancelled by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("campaign")
        # "campaigns" alone is the points ledger's word for points campaigns (积分活动).
        verbose_name_plural = pgettext_lazy("message campaigns", "campaigns")
        ordering = ["-created_at", "-id"]
        permissions = [("send_campaign", _("Can schedule, send and cancel message campaigns"))]

    def __str__(self) -> str:
        return self.name

    @property
    def event_key(self) -> str:
        return f"campaign:{self.pk}"


class CampaignBatch(models.Model):
    """One send task's share of a campaign (a few hundred messages): done once, whoever runs it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="batches", verbose_name=_("campaign"))
    number = models.PositiveIntegerField(verbose_name=_("number"))
    first_id = models.BigIntegerField(verbose_name=_("first id"))
    last_id = models.BigIntegerField(verbose_name=_("last id"))
    size = models.PositiveIntegerField(verbose_name=_("size"))
    done_at = models.DateTimeField(null=True, blank=True, verbose_name=_("done at"))
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))

    class Meta:
        verbose_name = _("campaign batch")
        verbose_name_plural = _("campaign batches")
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="campaign_batch_once")]


# ---------------------------------------------------------------- the member's channel choices


class ChannelPreference(models.Model):
    """The channels a member wants messages on (seed 000 信息通知: 短信、邮件…). No row: every channel on.
    The portal inbox is always on (it is where the member reads them, nothing is pushed); security
    codes ignore this (the member asked for them). Service notices, greetings, marketing and survey
    invitations all honour it (messaging.services._skip_reason, campaigns in SQL)."""

    member = models.OneToOneField("members.Member", verbose_name=_("member"), on_delete=models.CASCADE,
                                  primary_key=True, related_name="channel_preference")
    sms = models.BooleanField(_("SMS"), default=True)
    email = models.BooleanField(_("E-mail"), default=True)
    wechat = models.BooleanField(_("WeChat"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")

    def __str__(self) -> str:
        return f"{self.member_id}: sms={self.sms} email={self.email} wechat={self.wechat}"


class ChannelPreferenceLog(ActorLabelled, models.Model):
    """Append-only record of every change of a member's channel choice (who, where, when)."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.CASCADE,
                               related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    enabled = models.BooleanField(_("on"))
    actor = models.ForeignKey("auth.User", verbose_name=_("staff"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    actor_label = models.CharField(_("actor"), max_length=150)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel preference change")
        verbose_name_plural = _("channel preference changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["member", "-at"])]

    def __str__(self) -> str:
        return f"{self.member_id} {self.channel}={self.enabled}"
