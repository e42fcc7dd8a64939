"""The points ledger (PTS-3): append-only entries, lots with their own expiry, the lots each
debit consumed, and one balance row per member kept in the same transaction as every entry.

Invariants (checked by `manage.py points_reconcile`):
  account.balance == Σ entry.points == Σ lot.remaining;   account.debt == Σ entry.debt_delta;
  for every lot: lot.points − lot.remaining == Σ consumption.points on it;
  for every consuming entry: Σ consumption.points == −entry.points.
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class PointsConfig(models.Model):
    """Chain-wide points parameters (one row, edited in the admin; SPEC defaults seeded)."""

    class RefundPolicy(models.TextChoices):
        DEBT = "debt", _("Let the balance go negative (a debt future earnings pay first)")
        DEDUCT_CASH = "deduct_cash", _("Deduct the spent points' cash value from the refund")

    expiry_months = models.PositiveSmallIntegerField(_("points valid for (months)"), default=24)
    reminder_days = models.JSONField(_("remind before expiry (days)"), default=list)
    pending_days = models.PositiveSmallIntegerField(
        _("hold earned points for (days)"), default=0, help_text=_("0 = spendable at once")
    )
    refund_policy = models.CharField(
        _("refund of spent points"), max_length=16, choices=RefundPolicy.choices, default=RefundPolicy.DEBT
    )
    offset_points_per_yuan = models.PositiveIntegerField(_("points per yuan of cash offset"), default=100)
    member_day_of_month = models.PositiveSmallIntegerField(_("member day (day of month)"), default=18)
    adjustment_approval_threshold = models.PositiveIntegerField(
        _("manual adjustments above this need a second approver (points)"), default=1000
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("points settings")
        verbose_name_plural = _("points settings")
        constraints = [models.CheckConstraint(condition=Q(offset_points_per_yuan__gt=0), name="offset_rate_positive")]

    def __str__(self) -> str:
        return str(_("Points settings"))

    @classmethod
    def get(cls) -> "PointsConfig":
        obj, _created = cls.objects.get_or_create(pk=1, defaults={"reminder_days": [30, 7]})
        return obj


class PointsAccount(models.Model):
    member = models.OneToOneField(
        "members.Member", primary_key=True, on_delete=models.PROTECT, related_name="points_account"
    )
    balance = models.BigIntegerField(_("balance"), default=0, help_text=_("sum of the lots' remaining points"))
    debt = models.BigIntegerField(_("debt"), default=0, help_text=_("points owed from refunds of spent points"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_non_negative"),
            models.CheckConstraint(condition=Q(debt__gte=0), name="points_debt_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.balance}"


class Campaign(models.Model):
    """积分活动 (PTS-2): a window, where and for whom, and a multiplier or fixed bonus."""

    class Stacking(models.TextChoices):
        STACK = "stack", _("Stacks (multipliers multiply, bonuses add)")
        EXCLUSIVE = "exclusive", _("Exclusive (the best exclusive campaign replaces all others)")

    name = models.CharField(_("name"), max_length=100)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    stores = models.ManyToManyField("members.Store", verbose_name=_("stores"), blank=True,
                                    help_text=_("empty = every store"))
    tiers = models.ManyToManyField("members.Tier", verbose_name=_("tiers"), blank=True,
                                   help_text=_("empty = every tier"))
    brands = models.JSONField(_("brands"), default=list, blank=True, help_text=_("empty = every brand"))
    categories = models.JSONField(_("categories"), default=list, blank=True, help_text=_("empty = every category"))
    member_day_only = models.BooleanField(_("member day only"), default=False)
    birthday_only = models.BooleanField(_("birthday only"), default=False)
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2, default=1)
    bonus_points = models.PositiveIntegerField(_("fixed bonus points per purchase"), default=0)
    min_amount = models.DecimalField(_("minimum paid amount for the bonus"), max_digits=12, decimal_places=2,
                                     default=0)
    stacking = models.CharField(_("stacking"), max_length=16, choices=Stacking.choices, default=Stacking.STACK)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("points campaign")
        verbose_name_plural = _("points campaigns")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="campaign_window_ordered"),
            models.CheckConstraint(condition=Q(multiplier__gte=1), name="campaign_multiplier_at_least_1"),
        ]

    def __str__(self) -> str:
        return self.name


class Purchase(models.Model):
    """A till order (PTS-9): idempotent on (store, order number); the request hash detects a
    different body under the same key."""

    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT)
    order_no = models.CharField(_("order number"), max_length=64)
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="purchases")
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    amount_total = models.DecimalField(_("bill amount"), max_digits=12, decimal_places=2)
    amount_paid = models.DecimalField(_("amount actually paid"), max_digits=12, decimal_places=2,
                                      help_text=_("excluding coupons, gift cards and points offset"))
    amount_refunded = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=0)
    points_earned = models.BigIntegerField(_("points earned"), default=0)
    points_reversed = models.BigIntegerField(_("points reversed"), default=0)
    lines = models.JSONField(_("lines"), default=list)
    tenders = models.JSONField(_("tenders"), default=list)
    campaigns = models.JSONField(_("campaigns applied"), default=list)
    request_hash = models.CharField(max_length=64)
    source = models.CharField(_("source"), max_length=16, default="till")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(fields=["store", "order_no"], name="purchase_idempotency"),
            models.CheckConstraint(condition=Q(amount_refunded__lte=F("amount_total")), name="refund_not_over_bill"),
            models.CheckConstraint(condition=Q(amount_paid__lte=F("amount_total")), name="paid_not_over_bill"),
        ]
        indexes = [models.Index(fields=["member", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.order_no}"


class Refund(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    refund_no = models.CharField(_("refund number"), max_length=64)
    store = models.ForeignKey("members.Store", on_delete=models.PROTECT)
    amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2)
    occurred_at = models.DateTimeField(_("time"))
    points_reversed = models.BigIntegerField(_("points reversed"), default=0)
    points_as_debt = models.BigIntegerField(_("points owed (debt)"), default=0)
    cash_deducted = models.DecimalField(_("deducted from refund (yuan)"), max_digits=12, decimal_places=2,
                                        default=0)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(fields=["store", "refund_no"], name="refund_idempotency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]


class Entry(models.Model):
    """One append-only ledger line. `points` is the signed change of the balance."""

    class Kind(models.TextChoices):
        CREDIT = "credit", _("Earned")
        DEBIT = "debit", _("Spent")
        EXPIRY = "expiry", _("Expired")
        REVERSAL = "reversal", _("Reversed (refund)")
        ADJUSTMENT = "adjustment", _("Manual adjustment")
        DEBT = "debt", _("Owed after refund")
        DEBT_SETTLEMENT = "settlement", _("Debt paid from earnings")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="points_entries")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    points = models.BigIntegerField(_("points"))
    debt_delta = models.BigIntegerField(_("debt change"), default=0)
    balance_after = models.BigIntegerField(_("balance after"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), null=True, blank=True,
                              on_delete=models.PROTECT)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    campaigns = models.JSONField(_("campaigns"), default=list, blank=True)
    reason = models.CharField(_("reason / source"), max_length=200, blank=True)
    source_ref = models.CharField(_("source reference"), max_length=64, blank=True,
                                  help_text=_("order number, gift order, coupon, draw, job run ..."))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    job_run = models.ForeignKey("core.JobRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    idem_key = models.CharField(max_length=100, unique=True, help_text="one entry per business event")

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"]), models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind} {self.points:+d}"


class Lot(models.Model):
    """Points from one credit, spent first-expiring-first (PTS-3/PTS-4)."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="points_lots")
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="lot")
    points = models.BigIntegerField(_("points"))
    remaining = models.BigIntegerField(_("remaining"))
    earned_on = models.DateField(_("earned on"))
    available_on = models.DateField(_("spendable from"))
    expires_on = models.DateField(_("expires on"), help_text=_("last day the points can be used"))

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0) & Q(remaining__lte=F("points")),
                                   name="lot_remaining_within_points"),
            models.CheckConstraint(condition=Q(expires_on__gte=F("earned_on")), name="lot_dates_ordered"),
        ]
        indexes = [
            models.Index(fields=["member", "expires_on"], condition=Q(remaining__gt=0), name="lot_live_by_member"),
            models.Index(fields=["expires_on"], condition=Q(remaining__gt=0), name="lot_live_by_expiry"),
        ]


class Consumption(models.Model):
    """Which lots a consuming entry (spend, expiry, reversal, settlement) took its points from."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="consumptions")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="consumptions")
    points = models.BigIntegerField()

    class Meta:
        verbose_name = _("lot consumption")
        verbose_name_plural = _("lot consumptions")
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="consumption_positive")]
        indexes = [models.Index(fields=["lot"])]


class ExpiryReminder(models.Model):
    """One reminder per member per lot-expiry date per lead time (PTS-4), never repeated."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    expires_on = models.DateField()
    days_before = models.PositiveSmallIntegerField()
    points = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(fields=["member", "expires_on", "days_before"], name="expiry_reminder_once")
        ]
