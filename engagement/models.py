"""Alliance partners (BEN-6, 异业联盟) and member events (BEN-7, 会员专场/沙龙).

Partners verify the redemption codes issued to members through a small API authenticated by a
per-partner key (only its hash is stored). Events invite an audience, take sign-ups with guests
within capacity, check members in at the door with a signed QR and collect feedback. After the event
operations record its cost against the budget and a lessons-learned note; the outcome report sets the
attendees' sales in a window after the event against the cost (ROI, seed 002 六 会员活动管理)."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Partner(models.Model):
    class Kind(models.TextChoices):
        RESTAURANT = "restaurant", _("Restaurant")
        HOTEL = "hotel", _("Hotel")
        CINEMA = "cinema", _("Cinema")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    api_key_hash = models.CharField(_("API key hash"), max_length=64, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("alliance partner")
        verbose_name_plural = _("alliance partners")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["api_key_hash"], condition=~Q(api_key_hash=""),
                                    name="partner_api_key_hash_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class PartnerOffer(models.Model):
    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.PROTECT, related_name="offers")
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    tiers = models.ManyToManyField("members.Tier", verbose_name=_("eligible tiers"), related_name="+")
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    per_member_limit = models.PositiveSmallIntegerField(_("codes per member"), default=1)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner offer")
        verbose_name_plural = _("partner offers")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="offer_window_ordered"),
            models.CheckConstraint(condition=Q(per_member_limit__gte=1), name="offer_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.partner} · {self.title}"


class RedemptionCode(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")

    offer = models.ForeignKey(PartnerOffer, verbose_name=_("offer"), on_delete=models.PROTECT, related_name="codes")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="partner_codes")
    code = models.CharField(_("code"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("redemption code")
        verbose_name_plural = _("redemption codes")
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["member", "offer"])]
        constraints = [
            models.CheckConstraint(condition=Q(status="used", used_at__isnull=False) | ~Q(status="used"),
                                   name="used_code_has_time"),
        ]

    def __str__(self) -> str:
        return self.code


SALES_WINDOW_DAYS_DEFAULT = 7
SALES_WINDOW_DAYS_MAX = 90
LESSONS_MAX_LENGTH = 2000


class Event(models.Model):
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("capacity (people, guests included)"))
    guest_allowance = models.PositiveSmallIntegerField(_("guests per member"), default=0)
    audience_tiers = models.ManyToManyField("members.Tier", verbose_name=_("invite tiers"), blank=True,
                                            related_name="+")
    audience_tags = models.ManyToManyField("members.Tag", verbose_name=_("invite tags"), blank=True,
                                           related_name="+")
    audience_segment = models.ForeignKey("evaluation.Segment", verbose_name=_("invite segment"), null=True,
                                         blank=True, on_delete=models.PROTECT, related_name="+")
    # Seed 002 六(一)2: 活动预算 (venue, materials, staff, promotion); 六(三): outcome and lessons learned.
    budget = models.DecimalField(_("budget (yuan)"), max_digits=12, decimal_places=2, default=Decimal("0.00"),
                                 validators=[MinValueValidator(Decimal("0"))])
    cost = models.DecimalField(_("actual cost (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True,
                               validators=[MinValueValidator(Decimal("0"))],
                               help_text=_("empty until the cost is recorded after the event"))
    sales_window_days = models.PositiveSmallIntegerField(
        _("sales window after the event (days)"), default=SALES_WINDOW_DAYS_DEFAULT,
        validators=[MaxValueValidator(SALES_WINDOW_DAYS_MAX)],
        help_text=_("attendees' purchases from the start of the event until this many days after its end count "
                    "as the event's sales"))
    lessons_learned = models.TextField(_("lessons learned"), blank=True, max_length=LESSONS_MAX_LENGTH)
    outcome_recorded_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True)
    outcome_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("outcome recorded by"),
                                            null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("member event")
        verbose_name_plural = _("member events")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="event_window_ordered"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="event_budget_not_negative"),
            models.CheckConstraint(condition=Q(cost__isnull=True) | Q(cost__gte=0), name="event_cost_not_negative"),
            models.CheckConstraint(condition=Q(sales_window_days__lte=SALES_WINDOW_DAYS_MAX),
                                   name="event_sales_window_bounded"),
        ]

    def __str__(self) -> str:
        return self.title


class Invitation(models.Model):
    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="invitations")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="event_invitations")
    invited_at = models.DateTimeField(_("invited at"), auto_now_add=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["event", "member"], name="invitation_once")]


class Registration(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        CANCELLED = "cancelled", _("Cancelled")

    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="registrations")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="event_registrations")
    guests = models.PositiveSmallIntegerField(_("guests"), default=0)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.REGISTERED)
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [models.UniqueConstraint(fields=["event", "member"], name="registration_once")]

    @property
    def people(self) -> int:
        return 1 + self.guests


class CheckIn(models.Model):
    registration = models.OneToOneField(Registration, verbose_name=_("registration"), on_delete=models.CASCADE,
                                        related_name="check_in")
    at = models.DateTimeField(_("checked in at"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        indexes = [models.Index(fields=["at"], name="checkin_at")]  # closeness counts a year of check-ins


class Feedback(models.Model):
    registration = models.OneToOneField(Registration, verbose_name=_("registration"), on_delete=models.CASCADE,
                                        related_name="feedback")
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True, max_length=1000)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("event feedback")
        verbose_name_plural = _("event feedback")
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_5")]
