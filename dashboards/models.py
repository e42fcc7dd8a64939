"""Summary tables behind the dashboards (EVAL-3, EVAL-5).

The nightly jobs in dashboards.jobs fill these set-wise in SQL; the pages read nothing else (besides
small reference tables: stores, tiers, tags, points settings), so they stay fast on a million
members. Every table is replaced per date (or period) in one transaction: a re-run changes nothing.

Attribution, so that a store's figures add up to the chain's:
- member counts (total, new, active, outstanding points, RFM, lifecycle) go to the member's home
  store and current tier;
- purchases, refunds and consumption go to the store where the purchase was made (member's tier);
- ledger entries go to the entry's store, or the member's home store when the entry has none.
"""
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyStoreStats(models.Model):
    """One row per business day (Asia/Shanghai), store and tier."""

    date = models.DateField(_("date"))
    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    tier = models.ForeignKey("members.Tier", verbose_name=_("tier"), on_delete=models.CASCADE, related_name="+")
    members_total = models.IntegerField(_("members"), default=0,
                                        help_text=_("active or suspended, registered by the end of the day"))
    members_new = models.IntegerField(_("new members"), default=0)
    members_active = models.IntegerField(_("active members"), default=0,
                                         help_text=_("with a purchase in the 90 days up to the day"))
    buyers = models.IntegerField(_("buyers"), default=0, help_text=_("members with a purchase that day"))
    purchases = models.IntegerField(_("purchases"), default=0)
    amount = models.DecimalField(_("amount paid"), max_digits=14, decimal_places=2, default=0)
    refund_amount = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2, default=0)
    points_issued = models.BigIntegerField(_("points issued"), default=0)
    points_redeemed = models.BigIntegerField(_("points redeemed"), default=0)
    points_expired = models.BigIntegerField(_("points expired"), default=0)
    points_reversed = models.BigIntegerField(_("points reversed"), default=0)
    points_adjusted = models.BigIntegerField(_("points adjusted (net)"), default=0)
    points_outstanding = models.BigIntegerField(_("points outstanding"), default=0,
                                                help_text=_("balances at the end of the day"))

    class Meta:
        verbose_name = _("daily store figures")
        verbose_name_plural = _("daily store figures")
        constraints = [models.UniqueConstraint(fields=["date", "store", "tier"], name="daily_store_stats_once")]
        indexes = [models.Index(fields=["store", "date"])]
        permissions = [("view_dashboard", _("Can see the operations dashboards and consumption analysis"))]


class DailyTierMoves(models.Model):
    """Tier changes (TierChange) effective on a day, by home store, from tier, to tier and kind."""

    date = models.DateField(_("date"))
    store = models.ForeignKey("members.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    from_tier = models.ForeignKey("members.Tier", on_delete=models.CASCADE, related_name="+", verbose_name=_("from tier"))
    to_tier = models.ForeignKey("members.Tier", on_delete=models.CASCADE, related_name="+", verbose_name=_("to tier"))
    kind = models.CharField(max_length=16, verbose_name=_("kind"))
    members = models.IntegerField(default=0, verbose_name=_("members"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["date", "store", "from_tier", "to_tier", "kind"],
                                               name="daily_tier_moves_once")]
        indexes = [models.Index(fields=["store", "date"])]


class DailyServiceStats(models.Model):
    """Complaints (service_desk), satisfaction survey answers and follow-up visits (care) per day
    and store. Rates are kept as numerator and denominator so that any period adds up."""

    date = models.DateField(_("date"))
    store = models.ForeignKey("members.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    complaints_received = models.IntegerField(default=0, verbose_name=_("complaints received"))
    complaints_accepted = models.IntegerField(default=0, verbose_name=_("complaints accepted"))
    accepted_on_time = models.IntegerField(default=0, verbose_name=_("accepted on time"))
    complaints_replied = models.IntegerField(default=0, verbose_name=_("complaints replied"))
    replied_on_time = models.IntegerField(default=0, verbose_name=_("replied on time"))
    complaints_closed = models.IntegerField(default=0, verbose_name=_("complaints closed"))
    closed_on_time = models.IntegerField(default=0, verbose_name=_("closed on time"))
    csi_answered = models.IntegerField(default=0, verbose_name=_("csi answered"))
    csi_satisfied = models.IntegerField(default=0, verbose_name=_("csi satisfied"))
    visits_due = models.IntegerField(default=0, verbose_name=_("visits due"))
    visits_done_on_time = models.IntegerField(default=0, verbose_name=_("visits done on time"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["date", "store"], name="daily_service_stats_once")]
        indexes = [models.Index(fields=["store", "date"])]


class ConsumptionCube(models.Model):
    """会员消费分析 (EVAL-3): purchases of a month ("2026-03") or year ("2026") by store, tier, tag
    (empty = every member) and one dimension's bucket."""

    class Dimension(models.TextChoices):
        TOTAL = "total", _("All purchases")
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        AGE_BAND = "age_band", _("Age band")
        GENDER = "gender", _("Gender")
        FREQUENCY_BAND = "frequency_band", _("Purchases per member")
        AMOUNT_BAND = "amount_band", _("Amount per member")
        BRAND = "brand", _("Brand")
        CATEGORY = "category", _("Category")
        WEEKDAY = "weekday", _("Weekday")
        HOUR = "hour", _("Hour of day")

    period = models.CharField(_("period"), max_length=7)
    store = models.ForeignKey("members.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    tier = models.ForeignKey("members.Tier", on_delete=models.CASCADE, related_name="+", verbose_name=_("tier"))
    tag = models.ForeignKey("members.Tag", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("tag"))
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    bucket = models.CharField(_("bucket"), max_length=64)
    members = models.IntegerField(_("members"), default=0)
    orders = models.IntegerField(_("orders"), default=0)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "store", "tier", "tag", "dimension", "bucket"],
                                    nulls_distinct=False, name="consumption_cube_cell_once"),
        ]
        indexes = [models.Index(fields=["period", "dimension", "store"])]


class ConsumptionPeriod(models.Model):
    """One period of the consumption cube that has been built, and when (the page's "data as of").
    A period without a row was never computed: the page says so instead of showing zeros."""

    period = models.CharField(_("period"), max_length=7, unique=True)
    first_day = models.DateField(verbose_name=_("first day"))
    last_day = models.DateField(verbose_name=_("last day"))
    computed_at = models.DateTimeField(_("computed at"))
    full_built_at = models.DateTimeField(_("last full build"))

    def __str__(self) -> str:
        return self.period


class ConsumptionFact(models.Model):
    """What one member bought in one store in one period, with the member's attributes when it was
    computed. `orders` and `amount` are the member's total there (the total, province, city, gender and
    age band cells and the two per-member bands follow from them and the attributes); `cells` holds the
    purchase-level cells as a JSON object {"dimension:bucket": [orders, amount]} (weekday, hour, brand,
    category). The cube is the sum of these rows (a member counts 1 in each cell they reach), so the
    nightly refresh folds a day's changed purchases into the touched rows and moves the cube by the
    difference, without re-reading anyone's period."""

    period = models.CharField(max_length=7, verbose_name=_("period"))
    member_id = models.BigIntegerField(verbose_name=_("member id"))
    store_id = models.BigIntegerField(verbose_name=_("store id"))
    tier_id = models.BigIntegerField(verbose_name=_("tier id"))
    tag_ids = ArrayField(models.BigIntegerField(), default=list, verbose_name=_("tag ids"))
    province = models.CharField(max_length=20, blank=True, verbose_name=_("province"))
    city = models.CharField(max_length=20, blank=True, verbose_name=_("city"))
    gender = models.CharField(max_length=1, blank=True, verbose_name=_("gender"))
    age_band = models.CharField(max_length=8, blank=True, verbose_name=_("age band"))
    orders = models.IntegerField(default=0, verbose_name=_("orders"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0, verbose_name=_("amount"))
    cells = models.JSONField(default=dict, verbose_name=_("cells"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "member_id", "store_id"],
                                               name="consumption_fact_once")]
        # The refresh finds a changed member's rows in every period.
        indexes = [models.Index(fields=["member_id"], name="consumption_fact_member")]


class ConsumptionCounted(models.Model):
    """How each purchase is counted in a computed period's facts: for whom and with what net paid
    amount (no row = not counted: no member, or fully refunded). The nightly refresh takes a changed
    purchase's old contribution from here and its new one from the purchase, and writes the new one
    back, so a re-run (or a purchase re-read within the refresh margin) adds nothing twice, and a
    purchase that changed member (a claim, a released held sale) leaves the old member's fact."""

    pk = models.CompositePrimaryKey("period", "purchase_id")
    period = models.CharField(max_length=7, verbose_name=_("period"))
    purchase_id = models.BigIntegerField(verbose_name=_("purchase id"))
    member_id = models.BigIntegerField(verbose_name=_("member id"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=_("amount"))


class ConsumptionRefreshMark(models.Model):
    """Where the nightly incremental refresh of the cube got to (one row): purchases (Purchase.changed_at),
    members and tags changed at or after `changes_since` are still to be looked at."""

    name = models.CharField(max_length=32, unique=True, default="consumption_cube", verbose_name=_("name"))
    changes_since = models.DateTimeField(verbose_name=_("changes since"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))


class RfmStats(models.Model):
    """RFM class mix of one evaluation snapshot (as_of, window) by store and tier."""

    as_of = models.DateField(verbose_name=_("as of"))
    window_days = models.PositiveIntegerField(verbose_name=_("window days"))
    store = models.ForeignKey("members.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    tier = models.ForeignKey("members.Tier", on_delete=models.CASCADE, related_name="+", verbose_name=_("tier"))
    rfm_class = models.CharField(max_length=24, verbose_name=_("rfm class"))
    members = models.IntegerField(default=0, verbose_name=_("members"))
    monetary = models.DecimalField(max_digits=16, decimal_places=2, default=0, verbose_name=_("monetary"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "window_days", "store", "tier", "rfm_class"],
                                               name="rfm_stats_once")]


class RfmMovement(models.Model):
    """Members by RFM class in the previous snapshot and in this one ("" = not in that snapshot)."""

    as_of = models.DateField(verbose_name=_("as of"))
    previous_as_of = models.DateField(verbose_name=_("previous as of"))
    window_days = models.PositiveIntegerField(verbose_name=_("window days"))
    store = models.ForeignKey("members.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    tier = models.ForeignKey("members.Tier", on_delete=models.CASCADE, related_name="+", verbose_name=_("tier"))
    from_class = models.CharField(max_length=24, blank=True, verbose_name=_("from class"))
    to_class = models.CharField(max_length=24, blank=True, verbose_name=_("to class"))
    members = models.IntegerField(default=0, verbose_name=_("members"))

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["as_of", "window_days", "store", "tier", "from_class", "to_class"], name="rfm_movement_once")]


class LifecycleStats(models.Model):
    """Members by lifecycle stage of one evaluation snapshot, by store and tier."""

    as_of = models.DateField(verbose_name=_("as of"))
    store = models.ForeignKey("members.Store", on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    tier = models.ForeignKey("members.Tier", on_delete=models.CASCADE, related_name="+", verbose_name=_("tier"))
    stage = models.CharField(max_length=16, verbose_name=_("stage"))
    members = models.IntegerField(default=0, verbose_name=_("members"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["as_of", "store", "tier", "stage"], name="lifecycle_stats_once")]
