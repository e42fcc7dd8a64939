"""Quota benefits at the desk (BEN-4: parking hours, gift wrapping, loans) and reservations (BEN-5).

Counters per member and period (`QuotaCounter`) are the rows services lock, so two desks cannot
both grant the last parking hour; each use is also recorded on its own row (usage records)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member, Store, Tier


class QuotaPolicy(models.Model):
    """What a tier may use; edited in the admin, SPEC defaults seeded by the migration."""

    tier = models.OneToOneField(Tier, verbose_name=_("tier"), on_delete=models.CASCADE, related_name="quota_policy")
    parking_hours_per_day = models.PositiveSmallIntegerField(_("free parking hours per day"), default=0)
    gift_wraps_per_month = models.PositiveSmallIntegerField(_("free gift wraps per month"), default=0)
    max_open_loans = models.PositiveSmallIntegerField(_("items on loan at once"), default=1)
    loan_hours = models.PositiveSmallIntegerField(_("loan period (hours)"), default=24)

    class Meta:
        verbose_name = _("quota policy")
        verbose_name_plural = _("quota policies")

    def __str__(self) -> str:
        return str(self.tier)


class QuotaCounter(models.Model):
    """Used amount of one quota in one period (day for parking, month for gift wrapping)."""

    class Kind(models.TextChoices):
        PARKING = "parking", _("Parking hours")
        GIFT_WRAP = "gift_wrap", _("Gift wrapping")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("quota"), max_length=16, choices=Kind.choices)
    period_start = models.DateField(_("period start"))
    used = models.PositiveIntegerField(_("used"), default=0)

    class Meta:
        verbose_name = _("quota counter")
        verbose_name_plural = _("quota counters")
        constraints = [
            models.UniqueConstraint(fields=["member", "kind", "period_start"], name="quota_counter_one_per_period"),
        ]


class ParkingUse(models.Model):
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="parking_uses")
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    plate_number = models.CharField(_("plate number"), max_length=16)
    hours = models.PositiveSmallIntegerField(_("hours"))
    used_on = models.DateField(_("date"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("parking use")
        verbose_name_plural = _("parking uses")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["member", "used_on"])]
        constraints = [models.CheckConstraint(condition=Q(hours__gt=0), name="parking_use_hours_positive")]


class GiftWrapUse(models.Model):
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="gift_wrap_uses")
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    count = models.PositiveSmallIntegerField(_("count"), default=1)
    used_on = models.DateField(_("date"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("gift wrap use")
        verbose_name_plural = _("gift wrap uses")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(count__gt=0), name="gift_wrap_use_count_positive")]


class Loan(models.Model):
    """A deposit-free loan of a power bank or umbrella (免押金借用)."""

    class ItemKind(models.TextChoices):
        POWER_BANK = "power_bank", _("Power bank")
        UMBRELLA = "umbrella", _("Umbrella")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="loans")
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    item_kind = models.CharField(_("item"), max_length=16, choices=ItemKind.choices)
    item_number = models.CharField(_("item number"), max_length=32)
    lent_at = models.DateTimeField(_("lent at"))
    due_at = models.DateTimeField(_("due at"))
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    lent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("lent by"), null=True,
                                on_delete=models.SET_NULL, related_name="+")
    returned_to = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("returned to"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["due_at"]
        indexes = [models.Index(fields=["store", "returned_at", "due_at"])]
        constraints = [
            models.UniqueConstraint(fields=["store", "item_kind", "item_number"], condition=Q(returned_at__isnull=True),
                                    name="loan_item_out_once"),
            models.CheckConstraint(condition=Q(due_at__gt=models.F("lent_at")), name="loan_due_after_lent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_item_kind_display()} {self.item_number}"


class Resource(models.Model):
    """Something members reserve (预约): personal shopper, VIP lounge, alteration, fitting room, event."""

    class Kind(models.TextChoices):
        PERSONAL_SHOPPER = "personal_shopper", _("Personal shopper")
        VIP_LOUNGE = "vip_lounge", _("VIP lounge")
        ALTERATION = "alteration", _("Alteration")
        FITTING_ROOM = "fitting_room", _("Fitting room")
        EVENT = "event", _("Event")

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    eligible_tiers = models.ManyToManyField(Tier, verbose_name=_("eligible tiers"), related_name="+",
                                            help_text=_("Members of these tiers may book."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reservable resource")
        verbose_name_plural = _("reservable resources")

    def __str__(self) -> str:
        return self.name


class Slot(models.Model):
    resource = models.ForeignKey(Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=1)
    booking_deadline_hours = models.PositiveSmallIntegerField(_("book up to (hours before)"), default=0)
    cancellation_deadline_hours = models.PositiveSmallIntegerField(_("cancel up to (hours before)"), default=2)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["starts_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="slot_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="slot_capacity_positive"),
            # One slot per resource and start: a weekly pattern re-run adds only what is missing (slot_patterns).
            models.UniqueConstraint(fields=["resource", "starts_at"], name="slot_resource_start_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"  # local, not UTC (admin screenshot)


class Booking(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")
        ATTENDED = "attended", _("Attended")

    slot = models.ForeignKey(Slot, verbose_name=_("slot"), on_delete=models.PROTECT, related_name="bookings")
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BOOKED)
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("marked by"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    # Desk and hotline staff who booked or cancelled on the member's behalf (seed 000 热线电话平台); empty
    # when the member did it on the portal.
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("booked by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("cancelled by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["slot__starts_at", "pk"]
        permissions = [("book_for_member", _("Can book and cancel reservations on a member's behalf"))]
        constraints = [
            models.UniqueConstraint(fields=["slot", "member"], condition=~Q(status="cancelled"),
                                    name="booking_one_active_per_member_slot"),
        ]
