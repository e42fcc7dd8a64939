"""Member evaluation (SPEC 6): RFM, relationship closeness and lifecycle snapshots, their
configuration, referrals and saved segments.

Snapshots are derived tables: one row per member per as-of date, written set-wise by the nightly
jobs (evaluation.rfm / closeness / lifecycle) and replaced as a whole when a date is recomputed.
`store` and `tier` are the member's home store and tier at the time of the snapshot, so dashboards
group and scope by them without joining the live member table.

The snapshot foreign keys have no database constraint and no single-column index: the rows are
written only by one INSERT ... SELECT that joins members_member (so they cannot point nowhere), the
UNIQUE (member, as_of) index serves lookups by member and the (as_of, store, ...) index the reports.
With them, inserting a million-member snapshot spent more time in FK checks and index upkeep than in
computing the RFM (bench/rfm.py).
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RfmClass(models.TextChoices):
    """The eight classic RFM classes (EVAL-1). The Chinese names are in CHINESE_NAMES."""

    IMPORTANT_VALUE = "important_value", _("Important value")
    IMPORTANT_DEVELOP = "important_develop", _("Important to develop")
    IMPORTANT_RETAIN = "important_retain", _("Important to retain")
    IMPORTANT_WIN_BACK = "important_win_back", _("Important to win back")
    GENERAL_VALUE = "general_value", _("General value")
    GENERAL_DEVELOP = "general_develop", _("General to develop")
    GENERAL_RETAIN = "general_retain", _("General to retain")
    GENERAL_WIN_BACK = "general_win_back", _("General to win back")


# The class names as the business uses them (and as export_rfm writes them), data, not UI text.
RFM_CHINESE_NAMES = {
    RfmClass.IMPORTANT_VALUE: "重要价值",
    RfmClass.IMPORTANT_DEVELOP: "重要发展",
    RfmClass.IMPORTANT_RETAIN: "重要保持",
    RfmClass.IMPORTANT_WIN_BACK: "重要挽留",
    RfmClass.GENERAL_VALUE: "一般价值",
    RfmClass.GENERAL_DEVELOP: "一般发展",
    RfmClass.GENERAL_RETAIN: "一般保持",
    RfmClass.GENERAL_WIN_BACK: "一般挽留",
}

# (R high, F high, M high) -> class, the table.
RFM_CLASS_BY_FLAGS = {
    (True, True, True): RfmClass.IMPORTANT_VALUE,
    (True, False, True): RfmClass.IMPORTANT_DEVELOP,
    (False, True, True): RfmClass.IMPORTANT_RETAIN,
    (False, False, True): RfmClass.IMPORTANT_WIN_BACK,
    (True, True, False): RfmClass.GENERAL_VALUE,
    (True, False, False): RfmClass.GENERAL_DEVELOP,
    (False, True, False): RfmClass.GENERAL_RETAIN,
    (False, False, False): RfmClass.GENERAL_WIN_BACK,
}


class LifecycleStage(models.TextChoices):
    NEW = "new", _("New")
    HIGH_VALUE = "high_value", _("High value")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    LAPSED = "lapsed", _("Lapsed")


class RfmRun(models.Model):
    """One computed RFM as-of date: the window and the population means the classes compare with."""

    as_of = models.DateField(_("as of"), unique=True)
    window_days = models.PositiveSmallIntegerField(_("window (days)"))
    population = models.PositiveIntegerField(_("members in the population"))
    mean_recency_days = models.DecimalField(_("mean recency (days)"), max_digits=12, decimal_places=4)
    mean_frequency = models.DecimalField(_("mean frequency"), max_digits=12, decimal_places=4)
    mean_monetary = models.DecimalField(_("mean amount"), max_digits=16, decimal_places=4)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)
    seconds = models.FloatField(_("seconds"), default=0)

    class Meta:
        verbose_name = _("RFM run")
        verbose_name_plural = _("RFM runs")
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return f"RFM {self.as_of}"


class RfmSnapshot(models.Model):
    """RFM of one member on one as-of date (EVAL-1). Only members in the population have a row."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.CASCADE, db_index=False,
                               db_constraint=False, related_name="rfm_snapshots")
    as_of = models.DateField(_("as of"))
    window_days = models.PositiveSmallIntegerField(_("window (days)"))
    recency_days = models.PositiveIntegerField(_("days since last purchase"))
    frequency = models.PositiveIntegerField(_("purchases"))
    monetary = models.DecimalField(_("amount (refunds deducted)"), max_digits=12, decimal_places=2)
    r_score = models.PositiveSmallIntegerField(_("R score"))
    f_score = models.PositiveSmallIntegerField(_("F score"))
    m_score = models.PositiveSmallIntegerField(_("M score"))
    rfm_class = models.CharField(_("RFM class"), max_length=24, choices=RfmClass.choices)
    store = models.ForeignKey("members.Store", verbose_name=_("home store"), on_delete=models.PROTECT,
                              db_index=False, db_constraint=False, related_name="+")
    tier = models.ForeignKey("members.Tier", verbose_name=_("tier"), on_delete=models.PROTECT, db_index=False,
                             db_constraint=False, related_name="+")

    class Meta:
        verbose_name = _("RFM snapshot")
        verbose_name_plural = _("RFM snapshots")
        constraints = [
            models.UniqueConstraint(fields=["member", "as_of"], name="rfm_snapshot_once_per_day"),
            models.CheckConstraint(condition=Q(r_score__range=(1, 5)) & Q(f_score__range=(1, 5))
                                   & Q(m_score__range=(1, 5)), name="rfm_scores_1_to_5"),
        ]
        indexes = [models.Index(fields=["as_of", "store", "rfm_class"], name="rfm_by_day_store_class")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.as_of} {self.rfm_class}"

    @property
    def rfm_class_name(self) -> str:
        return RFM_CHINESE_NAMES[RfmClass(self.rfm_class)]


class ClosenessWeights(models.Model):
    """Weights of 会员关系紧密度 (EVAL-2), one row edited in the admin. Each component is the
    member's percent rank in the population (0–1); the score is 100 × Σ wᵢ·rankᵢ / Σ wᵢ."""

    amount = models.DecimalField(_("weight: yearly amount"), max_digits=5, decimal_places=2, default=Decimal("0.30"))
    amount_change = models.DecimalField(_("weight: change of the yearly amount"), max_digits=5, decimal_places=2,
                                        default=Decimal("0.15"))
    frequency = models.DecimalField(_("weight: purchases"), max_digits=5, decimal_places=2, default=Decimal("0.25"))
    response = models.DecimalField(
        _("weight: response to campaigns"), max_digits=5, decimal_places=2, default=Decimal("0.15"),
        help_text=_("purchases made during a points campaign, gift orders and lottery draws in the year"),
    )
    events = models.DecimalField(
        _("weight: response to events"), max_digits=5, decimal_places=2, default=Decimal("0.10"),
        help_text=_("member events the member attended (checked in at the door) in the year"),
    )
    referrals = models.DecimalField(_("weight: referrals"), max_digits=5, decimal_places=2, default=Decimal("0.15"),
                                    help_text=_("members this member referred in the year"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("closeness weights")
        verbose_name_plural = _("closeness weights")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(amount_change__gte=0) & Q(frequency__gte=0) & Q(response__gte=0)
                & Q(events__gte=0) & Q(referrals__gte=0), name="closeness_weights_non_negative"),
        ]

    def __str__(self) -> str:
        return str(_("Closeness weights"))

    @classmethod
    def get(cls) -> "ClosenessWeights":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class Referral(models.Model):
    """推荐: one member brought another in. A member is referred at most once."""

    referrer = models.ForeignKey("members.Member", verbose_name=_("referred by"), on_delete=models.PROTECT,
                                 related_name="referrals_made")
    referred = models.OneToOneField("members.Member", verbose_name=_("referred member"), on_delete=models.PROTECT,
                                    related_name="referral")
    created_at = models.DateTimeField(_("referred at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=~Q(referrer=models.F("referred")), name="referral_not_self")]
        indexes = [models.Index(fields=["referrer", "created_at"])]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referred_id}"


class ClosenessSnapshot(models.Model):
    """Closeness of one member on one as-of date (EVAL-2): raw components, score and percentile."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.CASCADE, db_index=False,
                               db_constraint=False, related_name="closeness_snapshots")
    as_of = models.DateField(_("as of"))
    amount = models.DecimalField(_("yearly amount"), max_digits=12, decimal_places=2)
    amount_previous = models.DecimalField(_("previous year's amount"), max_digits=12, decimal_places=2)
    frequency = models.PositiveIntegerField(_("purchases"))
    responses = models.PositiveIntegerField(_("responses to campaigns"))
    events = models.PositiveIntegerField(_("events attended"), default=0)
    referrals = models.PositiveIntegerField(_("referrals"))
    score = models.DecimalField(_("score (0–100)"), max_digits=5, decimal_places=2)
    percentile = models.DecimalField(_("percentile (0–100)"), max_digits=5, decimal_places=2,
                                     help_text=_("share of the population with this score or lower"))
    store = models.ForeignKey("members.Store", verbose_name=_("home store"), on_delete=models.PROTECT,
                              db_index=False, db_constraint=False, related_name="+")
    tier = models.ForeignKey("members.Tier", verbose_name=_("tier"), on_delete=models.PROTECT, db_index=False,
                             db_constraint=False, related_name="+")

    class Meta:
        verbose_name = _("closeness snapshot")
        verbose_name_plural = _("closeness snapshots")
        constraints = [models.UniqueConstraint(fields=["member", "as_of"], name="closeness_snapshot_once_per_day")]
        indexes = [models.Index(fields=["as_of", "store", "-score"], name="closeness_by_day_store_score")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.as_of} {self.score}"


class LifecycleRule(models.Model):
    """The configurable lifecycle rules (EVAL-4), one row edited in the admin. The first rule that
    matches decides, in this order: new, high value, active, at risk, lapsed."""

    new_days = models.PositiveSmallIntegerField(_("new: joined within (days)"), default=30)
    high_value_by_class = models.BooleanField(_("high value: RFM class 重要价值"), default=True)
    high_value_top_percent = models.DecimalField(
        _("high value: amount in the top (%)"), max_digits=5, decimal_places=2, default=Decimal("10"),
        validators=[MinValueValidator(0), MaxValueValidator(100)], help_text=_("0 = not used"),
    )
    active_days = models.PositiveSmallIntegerField(_("active: purchase within (days)"), default=90)
    lapsed_days = models.PositiveSmallIntegerField(
        _("lapsed: no purchase within (days)"), default=180,
        help_text=_("at risk: last purchase between the active and the lapsed days"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("lifecycle rules")
        verbose_name_plural = _("lifecycle rules")
        constraints = [
            models.CheckConstraint(condition=Q(lapsed_days__gt=models.F("active_days")),
                                   name="lifecycle_lapsed_after_active"),
            models.CheckConstraint(condition=Q(high_value_top_percent__gte=0) & Q(high_value_top_percent__lte=100),
                                   name="lifecycle_top_percent_range"),
        ]

    def __str__(self) -> str:
        return str(_("Lifecycle rules"))

    @classmethod
    def get(cls) -> "LifecycleRule":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class LifecycleSnapshot(models.Model):
    """Lifecycle stage of one member on one as-of date (EVAL-4)."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.CASCADE, db_index=False,
                               db_constraint=False, related_name="lifecycle_snapshots")
    as_of = models.DateField(_("as of"))
    stage = models.CharField(_("stage"), max_length=16, choices=LifecycleStage.choices)
    days_since_purchase = models.PositiveIntegerField(_("days since last purchase"), null=True, blank=True)
    store = models.ForeignKey("members.Store", verbose_name=_("home store"), on_delete=models.PROTECT,
                              db_index=False, db_constraint=False, related_name="+")
    tier = models.ForeignKey("members.Tier", verbose_name=_("tier"), on_delete=models.PROTECT, db_index=False,
                             db_constraint=False, related_name="+")

    class Meta:
        verbose_name = _("lifecycle snapshot")
        verbose_name_plural = _("lifecycle snapshots")
        constraints = [models.UniqueConstraint(fields=["member", "as_of"], name="lifecycle_snapshot_once_per_day")]
        indexes = [models.Index(fields=["as_of", "store", "stage"], name="lifecycle_by_day_store_stage")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.as_of} {self.stage}"


class Segment(models.Model):
    """A saved audience (EVAL-6): a definition other apps resolve with
    evaluation.selectors.segment_members(segment)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    definition = models.JSONField(
        _("definition"), default=dict, blank=True,
        help_text=_('e.g. {"rfm_classes": ["important_value"], "lifecycle_stages": ["at_risk"], '
                    '"closeness_min_percentile": 80, "tags": ["VIP"], "tiers": ["gold"], "stores": ["S01"]}'),
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PurchaseDay(models.Model):
    """What one member bought on one local (Asia/Shanghai) date, summed from points_purchase with the
    purchases' current refunds (evaluation.purchase_summary keeps it up to date by Purchase.changed_at).
    Derived data: rebuilt from the purchases at any time, so the member key has no constraint (as the
    snapshots). A day with no counted order has no row.

    - orders: purchases that are not refunded in full (RFM's "purchase"; a bill of 0 counts);
    - billed_orders: purchases with refunded < bill (the tier engine's visit test; a bill of 0 does not);
    - net_paid: Σ net paid (points.net_paid), fully refunded purchases adding 0."""

    pk = models.CompositePrimaryKey("member", "day")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.DO_NOTHING,
                               db_index=False, db_constraint=False, related_name="+")
    day = models.DateField(_("date"))
    orders = models.IntegerField(_("orders"))
    billed_orders = models.IntegerField(_("orders with a bill left"))
    net_paid = models.DecimalField(_("net paid"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("member purchase day")
        verbose_name_plural = _("member purchase days")
        indexes = [models.Index(fields=["day"], name="purchase_day_by_day")]


class PurchaseMonth(models.Model):
    """The member's PurchaseDay rows of one local month (`month` = its first day), summed: the nightly
    jobs read whole months here and only the partial months at a window's two ends from PurchaseDay."""

    pk = models.CompositePrimaryKey("member", "month")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.DO_NOTHING,
                               db_index=False, db_constraint=False, related_name="+")
    month = models.DateField(_("month"))
    orders = models.IntegerField(_("orders"))
    billed_orders = models.IntegerField(_("orders with a bill left"))
    net_paid = models.DecimalField(_("net paid"), max_digits=14, decimal_places=2)
    visit_days = models.IntegerField(_("days with a billed order"))
    first_day = models.DateField(_("first purchase date"))
    last_day = models.DateField(_("last purchase date"))

    class Meta:
        verbose_name = _("member purchase month")
        verbose_name_plural = _("member purchase months")


class PurchaseSummaryMark(models.Model):
    """Where the incremental refresh of PurchaseDay/PurchaseMonth got to (one row). `changes_since` NULL:
    never built, the next refresh builds the summary from all purchases."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    changes_since = models.DateTimeField(_("re-read changes since"), null=True)
    # pg_current_snapshot() when the last refresh started ("xmin:xmax:xip,..."): a row whose writer had
    # committed by then was visible to that refresh, so the next one re-reads only rows written by the
    # transactions then running or started since (see purchase_summary).
    seen_snapshot = models.TextField(_("snapshot of the last refresh"), blank=True, default="")
    built_at = models.DateTimeField(_("built at"), null=True)
    updated_at = models.DateTimeField(_("updated at"), null=True)

    class Meta:
        verbose_name = _("purchase summary watermark")
        verbose_name_plural = _("purchase summary watermarks")
