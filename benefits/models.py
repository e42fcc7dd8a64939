"""Member benefits (BEN-1, BEN-3): the per-tier catalogue published on the portal, and the member
day / birthday offers the checkout quote applies. Rules live in benefits.quote; writes in
benefits.services."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Benefit(models.Model):
    """One benefit of the catalogue (会员权益); what each tier gets is a TierBenefit."""

    class Kind(models.TextChoices):
        DISCOUNT = "discount", _("Discount on designated brands/categories")
        POINTS_RATE = "points_rate", _("Points rate")
        BIRTHDAY = "birthday", _("Birthday offer")
        MEMBER_DAY = "member_day", _("Member day")
        PARKING = "parking", _("Free parking hours")
        GIFT_WRAPPING = "gift_wrapping", _("Gift wrapping")
        LOAN = "loan", _("Power bank / umbrella loan")
        PRIORITY = "priority", _("Priority purchase")
        PERSONAL_SHOPPER = "personal_shopper", _("Personal shopper")
        VIP_LOUNGE = "vip_lounge", _("VIP lounge")
        DELIVERY = "delivery", _("Delivery")
        EXPRESS_AFTER_SALES = "express_after_sales", _("Express after-sales")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order on the portal"), default=0)
    is_published = models.BooleanField(_("published on the portal"), default=True)

    class Meta:
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class TierBenefit(models.Model):
    """What one tier gets of one benefit. `numeric_value` is what rules read (discount percent,
    parking hours); `value_text` is what members read. For a discount, empty brands and
    categories mean every line."""

    tier = models.ForeignKey("members.Tier", verbose_name=_("tier"), on_delete=models.CASCADE,
                             related_name="benefits")
    benefit = models.ForeignKey(Benefit, verbose_name=_("benefit"), on_delete=models.CASCADE,
                                related_name="tier_benefits")
    value_text = models.CharField(_("value shown"), max_length=100)
    numeric_value = models.DecimalField(_("numeric value"), max_digits=8, decimal_places=2, null=True, blank=True,
                                        help_text=_("discount percent, hours, count; empty if not relevant"))
    brands = models.JSONField(_("brands"), default=list, blank=True, help_text=_("discounts only; empty = every brand"))
    categories = models.JSONField(_("categories"), default=list, blank=True,
                                  help_text=_("discounts only; empty = every category"))

    class Meta:
        verbose_name = _("tier benefit")
        verbose_name_plural = _("tier benefits")
        ordering = ["benefit__sort_order", "tier__rank"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "benefit"], name="one_value_per_tier_and_benefit"),
            models.CheckConstraint(condition=Q(numeric_value__isnull=True) | Q(numeric_value__gte=0),
                                   name="tier_benefit_value_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.tier} · {self.benefit}: {self.value_text}"


class MemberDayConfig(models.Model):
    """会员日 and birthday offers (BEN-3), one row. The member day itself is
    points.PointsConfig.member_day_of_month (one date for points campaigns and the quote); the
    member-day points multiplier is carried by a member-day-only points campaign that
    benefits.services keeps in step, so points stay one calculation (points.calculation)."""

    class BirthdayWindow(models.TextChoices):
        DAY = "day", _("The birthday itself")
        WEEK = "week", _("The week of the birthday (Monday to Sunday)")
        MONTH = "month", _("The month of the birthday")

    member_day_discount_percent = models.DecimalField(_("member day extra discount (percent)"), max_digits=5,
                                                      decimal_places=2, default=0)
    member_day_points_multiplier = models.DecimalField(_("member day points multiplier"), max_digits=5,
                                                       decimal_places=2, default=1)
    member_day_campaign = models.OneToOneField("points.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                               related_name="+", editable=False, verbose_name=_("member day campaign"))
    birthday_window = models.CharField(_("birthday offer window"), max_length=8, choices=BirthdayWindow.choices,
                                       default=BirthdayWindow.DAY)
    birthday_discount_percent = models.DecimalField(_("birthday extra discount (percent)"), max_digits=5,
                                                    decimal_places=2, default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("member day and birthday settings")
        verbose_name_plural = _("member day and birthday settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="member_day_config_singleton"),
            models.CheckConstraint(condition=Q(member_day_discount_percent__gte=0, member_day_discount_percent__lt=100),
                                   name="member_day_discount_range"),
            models.CheckConstraint(condition=Q(birthday_discount_percent__gte=0, birthday_discount_percent__lt=100),
                                   name="birthday_discount_range"),
            models.CheckConstraint(condition=Q(member_day_points_multiplier__gte=1),
                                   name="member_day_multiplier_at_least_1"),
        ]

    def __str__(self) -> str:
        return str(_("Member day and birthday settings"))

    @classmethod
    def get(cls) -> MemberDayConfig:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj
