"""The points ledger (PTS-3): append-only entries, lots with their own expiry, the lots each
debit consumed, and one balance row per member kept in the same transaction as every entry.

Invariants (checked by `manage.py points_reconcile`):
  account.balance == Σ entry.points == Σ lot.remaining;   account.debt == Σ entry.debt_delta;
  for every lot: lot.points − lot.remaining == Σ consumption.points on it;
  for every consuming entry: Σ consumption.points == −entry.points.
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext_lazy as _

from .gift_images import gift_image_path, validate_gift_image


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
    give_back_grace_days = models.PositiveSmallIntegerField(
        _("points given back after their expiry are valid for (days)"), default=30,
        validators=[MaxValueValidator(366)],
        help_text=_("Points a refund, a voided offset or a cancelled gift order gives back keep the expiry of the "
                    "lot they were spent from; if that date has passed, they are valid this many days from the day "
                    "they come back. 0 = they are not given back (the refund records them)."),
    )
    member_day_of_month = models.PositiveSmallIntegerField(_("member day (day of month)"), default=18)
    adjustment_approval_threshold = models.PositiveIntegerField(
        _("manual adjustments above this need a second approver (points)"), default=1000
    )
    # Upper bounds of what a till or a desk may post (issue 13): a typo or a forged request is refused with a
    # message instead of creating absurd points.
    max_adjustment_points = models.PositiveIntegerField(
        _("largest manual adjustment (points)"), default=1_000_000,
        validators=[MinValueValidator(1), MaxValueValidator(100_000_000)],
    )
    max_line_amount = models.DecimalField(
        _("largest purchase line (yuan)"), max_digits=12, decimal_places=2, default=Decimal("5000000.00"),
        validators=[MinValueValidator(Decimal("1.00")), MaxValueValidator(Decimal("100000000.00"))],
    )
    max_bill_amount = models.DecimalField(
        _("largest bill (yuan)"), max_digits=12, decimal_places=2, default=Decimal("10000000.00"),
        validators=[MinValueValidator(Decimal("1.00")), MaxValueValidator(Decimal("100000000.00"))],
    )
    # Desk postings (补录, PTS-11): above either cap a second staff member approves the posting.
    desk_posting_max_amount = models.DecimalField(
        _("desk postings above this bill need a second approver (yuan)"), max_digits=12, decimal_places=2,
        default=Decimal("2000.00"), validators=[MinValueValidator(Decimal("0.00"))],
    )
    desk_clerk_daily_max_amount = models.DecimalField(
        _("a clerk's desk postings per day above this need a second approver (yuan)"), max_digits=12,
        decimal_places=2, default=Decimal("10000.00"), validators=[MinValueValidator(Decimal("0.00"))],
    )
    claim_window_days = models.PositiveSmallIntegerField(
        _("points claims accepted within (days after the purchase)"), default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
    )
    # A reserved gift not picked up within this many days is cancelled by the nightly job expire_gift_orders:
    # points and stock come back (issue 14, loose ends of redemption).
    gift_collect_days = models.PositiveSmallIntegerField(
        _("collect a reserved gift within (days)"), default=30, validators=[MaxValueValidator(366)],
        help_text=_("Counted from the day of the order; after the last day the order is cancelled overnight and "
                    "its points and stock come back. 0 = reserved gifts are never cancelled automatically."),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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

    @classmethod
    def cached(cls) -> "PointsConfig":
        """get() through core.reference_cache, for the till path that reads it on every request: a save
        (the admin) reaches every process within REFERENCE_CACHE_CHECK_SECONDS. Read-only: change the
        configuration through get() and save()."""
        from core import reference_cache

        return reference_cache.cached("points_config", "config", cls.get)


class PointsAccount(models.Model):
    member = models.OneToOneField(
        "members.Member", primary_key=True, on_delete=models.PROTECT, related_name="points_account", verbose_name=_("member")
    )
    balance = models.BigIntegerField(_("balance"), default=0, help_text=_("sum of the lots' remaining points"))
    debt = models.BigIntegerField(_("debt"), default=0, help_text=_("points owed from refunds of spent points"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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
    # NULL: a till sale without a member card (PTS-11); it earns nothing until a points claim assigns it.
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="purchases", null=True, blank=True)
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
    # Points a pending desk sign-up's purchase will earn when the sign-up is approved (points.services.held);
    # 0 once credited, or when the sign-up was rejected (the sale is then member-less and claimable).
    points_held = models.BigIntegerField(_("points held"), default=0)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # The last change the consumption cube must re-read (posted, refunded, claimed, released): the nightly
    # refresh (dashboards.jobs) finds changed purchases by this column, through its index.
    changed_at = models.DateTimeField(default=timezone_now, db_index=True, verbose_name=_("changed at"))

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(fields=["store", "order_no"], name="purchase_idempotency"),
            models.CheckConstraint(condition=Q(amount_refunded__lte=F("amount_total")), name="refund_not_over_bill"),
            models.CheckConstraint(condition=Q(amount_paid__lte=F("amount_total")), name="paid_not_over_bill"),
            models.CheckConstraint(condition=Q(member__isnull=False) | Q(points_earned=0),
                                   name="purchase_without_member_earns_nothing"),
            models.CheckConstraint(
                condition=Q(points_held=0) | (Q(points_held__gt=0) & Q(points_earned=0) & Q(member__isnull=False)),
                name="purchase_held_points_not_earned"),
        ]
        indexes = [models.Index(fields=["member", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.order_no}"


class Refund(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("purchase"))
    refund_no = models.CharField(_("refund number"), max_length=64)
    store = models.ForeignKey("members.Store", on_delete=models.PROTECT, verbose_name=_("store"))
    amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2)
    occurred_at = models.DateTimeField(_("time"))
    points_reversed = models.BigIntegerField(_("points reversed"), default=0)
    points_as_debt = models.BigIntegerField(_("points owed (debt)"), default=0)
    cash_deducted = models.DecimalField(_("deducted from refund (yuan)"), max_digits=12, decimal_places=2,
                                        default=0)
    # What the refund gave back of what the order spent (PTS-5, issue 14), and the earned points it did not
    # take again because they had expired in the purchase's own lot.
    points_expired = models.BigIntegerField(_("earned points already expired (not reversed)"), default=0)
    offset_points_returned = models.BigIntegerField(_("offset points given back"), default=0)
    offset_points_lapsed = models.BigIntegerField(_("offset points not given back (expired)"), default=0)
    coupons_reinstated = models.JSONField(_("coupons reinstated"), default=list, blank=True,
                                          help_text=_("codes of the coupons used on the order, back in the wallet"))
    coupons_not_reinstated = models.JSONField(_("coupons not reinstated"), default=list, blank=True,
                                              help_text=_("[{code, reason}] of coupons used on the order"))
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

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
        RETURNED = "returned", _("Given back (refund, void, cancellation)")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="points_entries")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    points = models.BigIntegerField(_("points"))
    debt_delta = models.BigIntegerField(_("debt change"), default=0)
    balance_after = models.BigIntegerField(_("balance after"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), null=True, blank=True,
                              on_delete=models.PROTECT)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="entries", verbose_name=_("purchase"))
    # Nothing filters entries by refund, staff or job run: no index (each one slows every insert).
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="entries",
                               db_index=False, verbose_name=_("refund"))
    campaigns = models.JSONField(_("campaigns"), default=list, blank=True)
    reason = models.CharField(_("reason / source"), max_length=200, blank=True)
    source_ref = models.CharField(_("source reference"), max_length=64, blank=True,
                                  help_text=_("order number, gift order, coupon, draw, job run ..."))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+", db_index=False)
    job_run = models.ForeignKey("core.JobRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False, verbose_name=_("job run"))
    idem_key = models.CharField(max_length=100, unique=True, help_text="one entry per business event", verbose_name=_("idem key"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("points ledger")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"]), models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind} {self.points:+d}"


class Lot(models.Model):
    """Points from one credit, spent first-expiring-first (PTS-3/PTS-4)."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="points_lots", verbose_name=_("member"))
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="lot", verbose_name=_("entry"))
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

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="consumptions", verbose_name=_("entry"))
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="consumptions", verbose_name=_("lot"))
    points = models.BigIntegerField(verbose_name=_("points"))

    class Meta:
        verbose_name = _("lot consumption")
        verbose_name_plural = _("lot consumptions")
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="consumption_positive")]


class ExpiryReminder(models.Model):
    """One reminder per member per lot-expiry date per lead time (PTS-4), never repeated."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    expires_on = models.DateField(verbose_name=_("expires on"))
    days_before = models.PositiveSmallIntegerField(verbose_name=_("days before"))
    points = models.BigIntegerField(verbose_name=_("points"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(fields=["member", "expires_on", "days_before"], name="expiry_reminder_once")
        ]


# ---------------------------------------------------------------- redemption (PTS-6) and adjustment (PTS-7)


class Gift(models.Model):
    """礼品 (PTS-6a): a catalogue item bought with points, with stock, tier restriction and a
    per-member limit counted over the orders placed within the gift's validity window."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    points_cost = models.PositiveIntegerField(_("points per item"))
    stock = models.PositiveIntegerField(_("stock"), default=0)
    tiers = models.ManyToManyField("members.Tier", verbose_name=_("tiers"), blank=True,
                                   help_text=_("empty = every tier"))
    per_member_limit = models.PositiveSmallIntegerField(
        _("limit per member"), null=True, blank=True,
        help_text=_("items one member may order within the validity window; empty = no limit"),
    )
    image = models.ImageField(
        _("picture"), upload_to=gift_image_path, blank=True, validators=[validate_gift_image],
        help_text=_("JPEG, PNG or WebP, at most 2 MB, 100 to 4000 px on each side; square pictures look best "
                    "on the phone."),
    )
    valid_from = models.DateTimeField(_("orderable from"))
    valid_to = models.DateTimeField(_("orderable until"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gift catalogue")
        ordering = ["points_cost", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="gift_cost_positive"),
            models.CheckConstraint(condition=Q(valid_to__gt=F("valid_from")), name="gift_window_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class GiftOrder(models.Model):
    """One redemption of a gift: reserved → collected | cancelled; collected → returned."""

    class Status(models.TextChoices):
        RESERVED = "reserved", _("Reserved, waiting for pick-up")
        COLLECTED = "collected", _("Collected")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="gift_orders")
    gift = models.ForeignKey(Gift, verbose_name=_("gift"), on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    points = models.BigIntegerField(_("points"), help_text=_("0 for a gift won in a lottery"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RESERVED,
                              db_index=True)
    store = models.ForeignKey("members.Store", verbose_name=_("pick-up store"), on_delete=models.PROTECT)
    request_id = models.CharField(_("client request id"), max_length=64, unique=True)
    entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("entry"))
    return_entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("return entry"))
    created_at = models.DateTimeField(_("ordered at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handed over by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("cancelled / returned at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("cancelled / returned by"), null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="+")
    close_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("gift order")
        verbose_name_plural = _("gift orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="gift_order_quantity_positive"),
            models.CheckConstraint(condition=Q(points__gte=0), name="gift_order_points_non_negative"),
        ]
        indexes = [models.Index(fields=["member", "gift", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.gift_id}×{self.quantity}"


class CouponType(models.Model):
    """礼券 (PTS-6b): a coupon kind. Validity is a number of days from issue or a fixed window."""

    name = models.CharField(_("name"), max_length=100)
    face_value = models.DecimalField(_("face value (yuan)"), max_digits=12, decimal_places=2)
    min_spend = models.DecimalField(_("minimum spend (yuan)"), max_digits=12, decimal_places=2, default=0)
    validity_days = models.PositiveSmallIntegerField(
        _("valid for (days from issue)"), null=True, blank=True, help_text=_("or set a fixed window below")
    )
    valid_from = models.DateTimeField(_("fixed window from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("fixed window until"), null=True, blank=True)
    stores = models.ManyToManyField("members.Store", verbose_name=_("stores"), blank=True,
                                    help_text=_("empty = every store"))
    points_cost = models.PositiveIntegerField(_("points cost"), default=0,
                                              help_text=_("0 = not for sale for points, issued only"))
    issue_limit = models.PositiveIntegerField(_("issue limit"), null=True, blank=True,
                                              help_text=_("coupons of this type that may ever be issued; empty = no limit"))
    issued_count = models.PositiveIntegerField(_("issued"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("coupon type")
        verbose_name_plural = _("coupon types")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(face_value__gt=0), name="coupon_face_value_positive"),
            models.CheckConstraint(condition=Q(min_spend__gte=0), name="coupon_min_spend_non_negative"),
            models.CheckConstraint(
                condition=Q(validity_days__isnull=False, validity_days__gt=0)
                | Q(valid_from__isnull=False, valid_to__isnull=False, valid_to__gt=F("valid_from")),
                name="coupon_type_has_validity",
            ),
            models.CheckConstraint(condition=Q(issue_limit__isnull=True) | Q(issued_count__lte=F("issue_limit")),
                                   name="coupon_issue_within_limit"),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    """One coupon in a member's wallet; used once, at a till, within its window and stores."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        VOID = "void", _("Void")

    class Source(models.TextChoices):
        POINTS = "points", _("Redeemed for points")
        LOTTERY = "lottery", _("Lottery prize")
        COMPENSATION = "compensation", _("Compensation")
        CAMPAIGN = "campaign", _("Campaign")
        MANUAL = "manual", _("Issued by staff")
        MEMBERSHIP = "membership", _("Paid membership")

    type = models.ForeignKey(CouponType, verbose_name=_("coupon type"), on_delete=models.PROTECT,
                             related_name="coupons")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="coupons")
    code = models.CharField(_("code"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ISSUED,
                              db_index=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    idem_key = models.CharField(max_length=100, unique=True, null=True, blank=True,
                                help_text="one coupon per business event", verbose_name=_("idem key"))
    entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              help_text=_("the points paid for it"), verbose_name=_("entry"))
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_store = models.ForeignKey("members.Store", verbose_name=_("used in store"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    used_order_no = models.CharField(_("used on order"), max_length=64, blank=True)
    used_bill_amount = models.DecimalField(_("bill amount"), max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gt=F("valid_from")), name="coupon_window_ordered"),
            models.CheckConstraint(
                condition=~Q(status="used") | Q(used_at__isnull=False, used_store__isnull=False),
                name="used_coupon_has_use",
            ),
        ]
        indexes = [models.Index(fields=["member", "status", "valid_to"])]

    def __str__(self) -> str:
        return self.code


class Offset(models.Model):
    """积分抵现 (PTS-6c): points spent as cash on one till order; idempotent on (store, order number)."""

    class Status(models.TextChoices):
        COMMITTED = "committed", _("Committed")
        CANCELLED = "cancelled", _("Cancelled (sale voided)")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="points_offsets")
    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT)
    order_no = models.CharField(_("order number"), max_length=64)
    bill_amount = models.DecimalField(_("bill amount"), max_digits=12, decimal_places=2)
    points = models.BigIntegerField(_("points"))
    amount = models.DecimalField(_("cash value (yuan)"), max_digits=12, decimal_places=2)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.COMMITTED)
    entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("entry"))
    cancel_entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("cancel entry"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("points offset")
        verbose_name_plural = _("points offsets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "order_no"], name="offset_idempotency"),
            models.CheckConstraint(condition=Q(points__gt=0), name="offset_points_positive"),
            models.CheckConstraint(condition=Q(amount__lte=F("bill_amount")), name="offset_not_over_bill"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.order_no}"


class Lottery(models.Model):
    """积分抽奖 (PTS-6d): each draw costs points; prizes are drawn by weight among those in stock."""

    name = models.CharField(_("name"), max_length=100)
    points_cost = models.PositiveIntegerField(_("points per draw"))
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lottery")
        verbose_name_plural = _("lotteries")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="lottery_cost_positive"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="lottery_window_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class Prize(models.Model):
    class Kind(models.TextChoices):
        POINTS = "points", _("Points")
        COUPON = "coupon", _("Coupon")
        GIFT = "gift", _("Gift")
        NOTHING = "nothing", _("Nothing (thanks for playing)")

    lottery = models.ForeignKey(Lottery, verbose_name=_("lottery"), on_delete=models.PROTECT, related_name="prizes")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    weight = models.PositiveIntegerField(_("probability weight"),
                                         help_text=_("chance = weight / sum of the weights of prizes in stock"))
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True, help_text=_("empty = unlimited"))
    points = models.PositiveIntegerField(_("points won"), null=True, blank=True)
    coupon_type = models.ForeignKey(CouponType, verbose_name=_("coupon type"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    gift = models.ForeignKey(Gift, verbose_name=_("gift"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    pickup_store = models.ForeignKey("members.Store", verbose_name=_("gift pick-up store"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+",
                                     help_text=_("empty = the member's home store"))

    class Meta:
        verbose_name = _("prize")
        verbose_name_plural = _("prizes")
        ordering = ["lottery", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gt=0), name="prize_weight_positive"),
            models.CheckConstraint(
                condition=Q(kind="points", points__gt=0) | Q(kind="coupon", coupon_type__isnull=False)
                | Q(kind="gift", gift__isnull=False) | Q(kind="nothing"),
                name="prize_kind_has_value",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Draw(models.Model):
    """One lottery draw, recorded with the random value and the weights it was drawn against."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="lottery_draws")
    lottery = models.ForeignKey(Lottery, verbose_name=_("lottery"), on_delete=models.PROTECT, related_name="draws")
    prize = models.ForeignKey(Prize, verbose_name=_("prize"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="draws")
    points_spent = models.BigIntegerField(_("points spent"))
    random_value = models.DecimalField(_("random value"), max_digits=20, decimal_places=18,
                                       help_text=_("uniform in [0, 1) from the system random source"))
    weights = models.JSONField(_("prize table at the draw"), default=list)
    request_id = models.CharField(_("client request id"), max_length=64, unique=True)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("entry"))
    prize_entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("prize entry"))
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("coupon"))
    gift_order = models.ForeignKey(GiftOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("gift order"))
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("lottery draw")
        verbose_name_plural = _("lottery draws")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.lottery_id}"


class Adjustment(models.Model):
    """Manual adjustment at the desk (PTS-7); above the configured size a second staff member approves."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="points_adjustments")
    points = models.BigIntegerField(_("points"), help_text=_("positive adds, negative deducts"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved / rejected by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reject_reason = models.CharField(_("rejection reason"), max_length=200, blank=True)
    entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("entry"))

    class Meta:
        verbose_name = _("points adjustment")
        verbose_name_plural = _("points adjustments")
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_adjustment", _("Can approve manual points adjustments above the threshold"))]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="adjustment_not_zero"),
            models.CheckConstraint(condition=~Q(reason=""), name="adjustment_has_reason"),
            models.CheckConstraint(condition=~Q(status="applied") | Q(entry__isnull=False),
                                   name="applied_adjustment_has_entry"),
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                                   name="adjustment_four_eyes"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.points:+d}"


class DeskPosting(models.Model):
    """A purchase posted at the service desk (补录, PTS-11): the receipt it comes from, the clerk, and — above
    PointsConfig's caps — the second staff member who approved it. Every desk posting has one row; the
    purchase it made (or the member-less till purchase it linked) is `purchase`."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        POSTED = "posted", _("Posted")
        REJECTED = "rejected", _("Rejected")

    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    receipt_no = models.CharField(_("receipt number"), max_length=64,
                                  help_text=_("the till's order number printed on the receipt"))
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="desk_postings")
    occurred_at = models.DateTimeField(_("time of the purchase"))
    amount_total = models.DecimalField(_("bill amount"), max_digits=12, decimal_places=2)
    lines = models.JSONField(_("lines"), default=list)
    tenders = models.JSONField(_("tenders"), default=list)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, db_index=True)
    approval_reason = models.CharField(_("why it needs approval"), max_length=200, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("posted by"), on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(_("posted at"), default=timezone_now, db_index=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved / rejected by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reject_reason = models.CharField(_("rejection reason"), max_length=200, blank=True)
    purchase = models.OneToOneField(Purchase, verbose_name=_("purchase"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="desk_posting")

    class Meta:
        verbose_name = _("desk posting")
        verbose_name_plural = _("desk postings")
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_deskposting", _("Can approve desk postings above the caps"))]
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_no"], condition=~Q(status="rejected"),
                                    name="desk_posting_receipt_once"),
            models.CheckConstraint(condition=~Q(receipt_no=""), name="desk_posting_has_receipt"),
            models.CheckConstraint(condition=~Q(status="posted") | Q(purchase__isnull=False),
                                   name="posted_desk_posting_has_purchase"),
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                                   name="desk_posting_four_eyes"),
        ]
        indexes = [models.Index(fields=["requested_by", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.receipt_no}"


class PointsClaim(models.Model):
    """补积分 (PTS-11): a member who forgot the card claims a purchase within PointsConfig.claim_window_days.
    Matched to a member-less till purchase it is credited at once; otherwise staff review it. A purchase
    has at most one claim (UNIQUE), a receipt at most one live claim."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        CREDITED = "credited", _("Credited")
        REJECTED = "rejected", _("Rejected")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Member portal")
        DESK = "desk", _("Service desk")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="points_claims")
    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    receipt_no = models.CharField(_("receipt number"), max_length=64)
    purchased_on = models.DateField(_("date of the purchase"))
    amount = models.DecimalField(_("bill amount"), max_digits=12, decimal_places=2)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, db_index=True)
    review_note = models.CharField(_("why it needs review"), max_length=200, blank=True)
    points = models.BigIntegerField(_("points credited"), default=0)
    purchase = models.OneToOneField(Purchase, verbose_name=_("purchase"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="claim")
    created_at = models.DateTimeField(_("claimed at"), default=timezone_now, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reject_reason = models.CharField(_("rejection reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("points claim")
        verbose_name_plural = _("points claims")
        ordering = ["-created_at", "-id"]
        permissions = [("review_pointsclaim", _("Can approve or reject points claims"))]
        constraints = [
            models.UniqueConstraint(fields=["store", "receipt_no"], condition=~Q(status="rejected"),
                                    name="claim_receipt_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="claim_amount_positive"),
            models.CheckConstraint(condition=~Q(status="credited") | Q(purchase__isnull=False),
                                   name="credited_claim_has_purchase"),
        ]
        indexes = [models.Index(fields=["member", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.receipt_no}"


class AbuseRules(models.Model):
    """Thresholds of the abuse flags (PTS-11), one row edited in the admin; 0 switches a flag off."""

    purchases_per_hour = models.PositiveSmallIntegerField(
        _("flag more purchases per member within an hour than"), default=5)
    refund_share_percent = models.PositiveSmallIntegerField(
        _("flag refunds above this share of 30-day spend (%)"), default=50,
        validators=[MaxValueValidator(100)])
    refund_min_amount = models.DecimalField(
        _("… when the refunds reach at least (yuan)"), max_digits=12, decimal_places=2, default=Decimal("1000.00"))
    quick_redeem_minutes = models.PositiveSmallIntegerField(
        _("flag points redeemed within this many minutes of being earned"), default=10)
    quick_redeem_min_points = models.PositiveIntegerField(
        _("… when at least this many points are redeemed"), default=1000)
    clerk_members_per_day = models.PositiveSmallIntegerField(
        _("flag a clerk posting at the desk for more members per day than"), default=20)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("abuse flag settings")
        verbose_name_plural = _("abuse flag settings")

    def __str__(self) -> str:
        return str(_("Abuse flag settings"))

    @classmethod
    def get(cls) -> "AbuseRules":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class AbuseCase(models.Model):
    """A member (or a clerk) the abuse flags put into operations' review queue; at most one open case per
    flag and subject, so the nightly job and the inline check can run again without doubling it."""

    class Flag(models.TextChoices):
        FREQUENT_PURCHASES = "frequent_purchases", _("Many purchases within an hour")
        REFUND_SHARE = "refund_share", _("Refunds above the share of 30-day spend")
        QUICK_REDEMPTION = "quick_redemption", _("Points redeemed minutes after being earned")
        CLERK_MANY_MEMBERS = "clerk_many_members", _("One clerk posting for many members")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SUSPENDED = "suspended", _("Member suspended")
        DISMISSED = "dismissed", _("Dismissed")

    flag = models.CharField(_("flag"), max_length=32, choices=Flag.choices)
    member = models.ForeignKey("members.Member", verbose_name=_("member"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="abuse_cases")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("clerk"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("members.Store", verbose_name=_("store"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    detail = models.CharField(_("what was found"), max_length=300)
    flagged_on = models.DateField(_("flagged on"))
    created_at = models.DateTimeField(_("time"), default=timezone_now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("abuse review case")
        verbose_name_plural = _("abuse review cases")
        ordering = ["-created_at", "-id"]
        permissions = [("review_abusecase", _("Can review abuse flags (suspend or dismiss)"))]
        constraints = [
            models.CheckConstraint(condition=Q(member__isnull=False) | Q(clerk__isnull=False),
                                   name="abuse_case_has_subject"),
            models.UniqueConstraint(fields=["flag", "member"], condition=Q(status="open", member__isnull=False),
                                    name="abuse_case_open_once_per_member"),
            models.UniqueConstraint(fields=["flag", "clerk"], condition=Q(status="open", clerk__isnull=False),
                                    name="abuse_case_open_once_per_clerk"),
        ]

    def __str__(self) -> str:
        return f"{self.flag} {self.member_id or self.clerk_id}"
