"""Paid membership (付费会员, issue 18): the plans operations sell, each member's membership and its
append-only history.

A plan's benefits come on top of the member's tier: an extra points rate and a higher offset cap
(applied through points' one rate engine, see plans.benefits), coupons on joining and monthly, free
parking hours. A membership runs from `starts_on` through `ends_on` (both inclusive), then a grace
period of the plan's `grace_days` in which the benefits go on and a renewal still extends from the old
end; after it the membership has expired. One member has at most one current (active or in grace)
membership, held by the database.
"""
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class MembershipPlan(models.Model):
    """A plan operations sell (e.g. an annual plan), edited in the admin."""

    class RefundRule(models.TextChoices):
        PRO_RATA = "pro_rata", _("Pro rata by unused days")
        NONE = "none", _("No refund")
        FULL_WITHIN = "full_within", _("Full refund within a number of days")

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=32, unique=True)
    price = models.DecimalField(_("price (yuan)"), max_digits=12, decimal_places=2)
    duration_months = models.PositiveSmallIntegerField(_("duration (months)"), default=12)
    grace_days = models.PositiveSmallIntegerField(
        _("grace days"), default=15, help_text=_("days after the end in which the benefits go on and a renewal "
                                                 "still extends from the old end"))
    reminder_days = models.PositiveSmallIntegerField(
        _("renewal reminder (days before the end)"), default=15)
    extra_points_rate = models.DecimalField(
        _("extra points rate"), max_digits=5, decimal_places=2, default=0,
        help_text=_("added to the tier's points per yuan, e.g. 0.5"))
    offset_cap_increase = models.PositiveSmallIntegerField(
        _("offset cap increase (percentage points)"), default=0,
        help_text=_("added to the tier's cap on the share of a bill paid with points (at most 100 percent in all)"))
    free_parking_hours = models.PositiveSmallIntegerField(
        _("free parking hours per day"), default=0,
        help_text=_("added to the tier's daily free parking hours at the desk (amenities)"))
    joining_coupon_type = models.ForeignKey(
        "points.CouponType", verbose_name=_("coupon on joining"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+")
    joining_coupon_count = models.PositiveSmallIntegerField(_("coupons on joining"), default=0)
    monthly_coupon_type = models.ForeignKey(
        "points.CouponType", verbose_name=_("monthly coupon"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+")
    monthly_coupon_count = models.PositiveSmallIntegerField(_("coupons each month"), default=0)
    refund_rule = models.CharField(_("refund rule"), max_length=16, choices=RefundRule.choices,
                                   default=RefundRule.PRO_RATA)
    refund_full_within_days = models.PositiveSmallIntegerField(
        _("full refund within (days)"), default=7, help_text=_("only for the rule 'full refund within a number of days'"))
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("membership plan")
        verbose_name_plural = _("membership plans")
        ordering = ["price", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="plan_price_non_negative"),
            models.CheckConstraint(condition=Q(duration_months__gt=0), name="plan_duration_positive"),
            models.CheckConstraint(condition=Q(extra_points_rate__gte=0), name="plan_extra_rate_non_negative"),
            models.CheckConstraint(condition=Q(offset_cap_increase__lte=100), name="plan_cap_increase_max_100"),
        ]

    def __str__(self) -> str:
        return self.name


class Source(models.TextChoices):
    DESK = "desk", _("Service desk")
    TILL = "till", _("Till")


class PaidMembership(models.Model):
    """A member's paid membership: one row from the first purchase until it expires or is refunded;
    renewals extend it."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        GRACE = "grace", _("In grace period")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")

    CURRENT = (Status.ACTIVE, Status.GRACE)

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="paid_memberships")
    plan = models.ForeignKey(MembershipPlan, verbose_name=_("plan"), on_delete=models.PROTECT,
                             related_name="memberships")
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    grace_until = models.DateField(_("grace until"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE,
                              db_index=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    purchase_ref = models.CharField(_("purchase reference"), max_length=100,
                                    help_text=_("the first purchase: the desk's receipt or the till's store and order"))
    price_paid = models.DecimalField(_("price paid (yuan)"), max_digits=12, decimal_places=2,
                                     help_text=_("all purchases and renewals together"))
    refunded_amount = models.DecimalField(_("refunded (yuan)"), max_digits=12, decimal_places=2, default=0)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("paid membership")
        verbose_name_plural = _("paid memberships")
        ordering = ["-starts_on", "-id"]
        permissions = [("refund_paidmembership", _("Can refund a paid membership"))]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(status__in=["active", "grace"]),
                                    name="one_current_paid_membership_per_member"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="membership_dates_ordered"),
            models.CheckConstraint(condition=Q(grace_until__gte=F("ends_on")), name="membership_grace_after_end"),
            models.CheckConstraint(condition=Q(price_paid__gte=0), name="membership_price_non_negative"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("price_paid")),
                                   name="membership_refund_within_price"),
        ]
        indexes = [models.Index(fields=["status", "ends_on"]), models.Index(fields=["status", "grace_until"])]

    def __str__(self) -> str:
        return f"{self.plan} {self.starts_on}–{self.ends_on}"


class MembershipEvent(models.Model):
    """Append-only history of a membership (bought, renewed, grace, expired, refunded), written in the
    same transaction as the change. `idem_key` makes a retried purchase (the till retries) or a re-run
    job write nothing twice."""

    class Kind(models.TextChoices):
        BOUGHT = "bought", _("Bought")
        RENEWED = "renewed", _("Renewed")
        GRACE = "grace", _("Grace period began")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")

    membership = models.ForeignKey(PaidMembership, verbose_name=_("paid membership"), on_delete=models.PROTECT,
                                   related_name="events")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    idem_key = models.CharField(_("idem key"), max_length=120, unique=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, blank=True)
    purchase_ref = models.CharField(_("purchase reference"), max_length=100, blank=True)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2, default=0,
                                 help_text=_("paid for a purchase or renewal; paid back for a refund"))
    ends_on_before = models.DateField(_("end before"), null=True, blank=True)
    ends_on_after = models.DateField(_("end after"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    actor_label = models.CharField(_("by"), max_length=150, blank=True)
    occurred_on = models.DateField(_("business day"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership history entry")
        verbose_name_plural = _("membership history")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "occurred_on"]), models.Index(fields=["member", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"
