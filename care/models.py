"""Member care (客户关怀): follow-up visits by tier frequency (SD-5) and after events (a large purchase, a
closed complaint or after-sales case, a visit that asked for a follow-up), satisfaction surveys with
their CSI report (SD-6) and the improvement actions (整改方案) that a report leads to, and the dedicated
account managers (专属客户经理, SD-11) of the top tiers.

Natural keys live in the database: one visit per member, reason and period, one answer per member and
survey (ResponseReceipt, kept apart from the Response so an anonymous answer cannot be traced back),
at most one overall question per survey."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member, Store, Tier


class VisitPolicy(models.Model):
    """How many follow-up visits (回访) a member of the tier gets per calendar year (SD-5)."""

    tier = models.OneToOneField(Tier, verbose_name=_("tier"), on_delete=models.CASCADE, related_name="visit_policy")
    visits_per_year = models.PositiveSmallIntegerField(
        _("visits per year"), help_text=_("0 switches visits off for the tier; the year is split into equal periods")
    )

    class Meta:
        verbose_name = _("visit policy")
        verbose_name_plural = _("visit policies")
        ordering = ["tier__rank"]
        constraints = [
            models.CheckConstraint(condition=Q(visits_per_year__lte=52), name="visit_policy_at_most_weekly"),
        ]

    def __str__(self) -> str:
        return f"{self.tier}: {self.visits_per_year}"


class CareConfig(models.Model):
    """Chain-wide care parameters (one row, edited in the admin; defaults seeded by the migration)."""

    large_purchase_amount = models.DecimalField(
        _("a purchase from this net amount paid triggers a visit (yuan)"), max_digits=12, decimal_places=2,
        default=Decimal("10000.00"),
        validators=[MinValueValidator(Decimal("1.00")), MaxValueValidator(Decimal("100000000.00"))],
        help_text=_("seed 003 3.2 主动回访: important customers and large purchases are called after the sale"),
    )
    event_visit_due_days = models.PositiveSmallIntegerField(
        _("an event visit is due within (days)"), default=3, validators=[MinValueValidator(1), MaxValueValidator(60)])
    follow_up_due_days = models.PositiveSmallIntegerField(
        _("a requested follow-up is due within (days)"), default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)])
    visit_attempts = models.PositiveSmallIntegerField(
        _("calls before a member counts as not reachable"), default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("a member not reached is called again until this many calls were made"))
    retry_after_days = models.PositiveSmallIntegerField(
        _("call again after (days)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(30)])
    account_manager_tiers = models.ManyToManyField(
        Tier, verbose_name=_("tiers with a dedicated account manager"), blank=True, related_name="+",
        help_text=_("seed 000 高端专享服务 / 客服服务: members of these tiers may be given a 专属客户经理"))

    class Meta:
        verbose_name = _("care settings")
        verbose_name_plural = _("care settings")

    def __str__(self) -> str:
        return str(_("Care settings"))

    @classmethod
    def get(cls) -> CareConfig:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class Visit(models.Model):
    """One follow-up visit task, assigned to a store staff member (or the member's account manager):
    by tier frequency, due in the member's current period (SD-5), or after an event (reason)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        UNREACHABLE = "unreachable", _("Not reachable")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NOT_REACHED = "not_reached", _("Not reached")

    class Reason(models.TextChoices):
        TIER = "tier", _("Tier frequency")
        LARGE_PURCHASE = "large_purchase", _("Large purchase")
        COMPLAINT = "complaint", _("Closed complaint")
        AFTER_SALES = "after_sales", _("Closed after-sales case")
        FOLLOW_UP = "follow_up", _("Follow-up requested")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="visits")
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices, default=Reason.TIER)
    source_ref = models.CharField(_("follows up"), max_length=64, blank=True,
                                  help_text=_("the purchase, case or visit the visit follows up"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    period_start = models.DateField(_("period start"), help_text=_("for an event visit: the day of the event"))
    due_on = models.DateField(_("due on"), help_text=_("last day of the period"))
    attempts = models.PositiveSmallIntegerField(_("calls made"), default=0)
    retry_on = models.DateField(_("call again on"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="care_visits",
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    feedback = models.TextField(_("feedback"), blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)
    follow_up_needed = models.BooleanField(_("follow-up needed"), default=False)
    done_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    job_run = models.ForeignKey("core.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("job run"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["due_on", "id"]
        permissions = [("record_visit", _("Can record the outcome of follow-up visits"))]
        constraints = [
            models.UniqueConstraint(fields=["member", "reason", "period_start"],
                                    name="visit_once_per_member_reason_period"),
            models.CheckConstraint(condition=Q(due_on__gte=F("period_start")), name="visit_due_after_start"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="visit_satisfaction_1_to_5",
            ),
            models.CheckConstraint(
                condition=(Q(status="open", outcome="", done_at__isnull=True)
                           | Q(status="done", outcome="reached", done_at__isnull=False)
                           | Q(status="unreachable", outcome="not_reached", done_at__isnull=False)),
                name="visit_closed_has_outcome",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_on"]),
            models.Index(fields=["store", "status", "due_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.period_start}"

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_on < timezone.localdate()


class VisitAttempt(models.Model):
    """One call of a visit (append-only): a call that did not reach the member keeps the visit open."""

    visit = models.ForeignKey(Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("time"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), on_delete=models.PROTECT,
                              related_name="+")
    reached = models.BooleanField(_("reached"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("visit call")
        verbose_name_plural = _("visit calls")
        ordering = ["visit", "at", "id"]


class AccountManagerAssignment(models.Model):
    """专属客户经理 (seed 000 客服服务, 高端专享服务; SD-11): who looks after a top-tier member, with history:
    an assignment ends (ends_at) when another takes over or it is withdrawn; at most one is current."""

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="account_managers")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"),
                                on_delete=models.PROTECT, related_name="managed_members")
    starts_at = models.DateTimeField(_("since"))
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned by"),
                                    on_delete=models.PROTECT, related_name="+")
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("ended by"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("account manager assignment")
        verbose_name_plural = _("account manager assignments")
        ordering = ["member", "-starts_at", "-id"]
        permissions = [("assign_account_manager", _("Can assign dedicated account managers"))]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(ends_at__isnull=True),
                                    name="one_current_account_manager"),
            models.CheckConstraint(condition=Q(ends_at__isnull=True) | Q(ends_at__gte=F("starts_at")),
                                   name="account_manager_ends_after_start"),
        ]
        indexes = [models.Index(fields=["manager", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.manager_id}"


class Dimension(models.TextChoices):
    """What a question measures (standard 会员满意度评估 / 测评内容)."""

    ENVIRONMENT = "environment", _("Shopping environment")
    SERVICE_MANNER = "service_manner", _("Service manner")
    ATTITUDE = "attitude", _("Service attitude")
    POLICY = "policy", _("Service policy")
    EVENTS = "events", _("Events and promotions")
    PREFERENCES = "preferences", _("Preferences and needs")


class Survey(models.Model):
    """A questionnaire (满意度测评). Targets a saved filter (members.selectors.rule_queryset keys),
    optionally narrowed to stores and tiers; answered on the portal while open."""

    title = models.CharField(_("title"), max_length=120)
    intro = models.TextField(_("introduction"), blank=True)
    anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("responses do not record who answered (one answer each still)")
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    satisfied_threshold = models.PositiveSmallIntegerField(
        _("satisfied from rating"), default=4, help_text=_("an overall rating at or above this counts as satisfied")
    )
    segment_rule = models.JSONField(
        _("target segment"), default=dict, blank=True,
        help_text=_("segment definition (saved-filter keys plus rfm_classes, lifecycle_stages, tags, closeness "
                    "percentiles), e.g. {\"tier\": [\"gold\"], \"rfm_classes\": [\"important_value\"]}; "
                    "empty means every active member"),
    )
    stores = models.ManyToManyField(Store, verbose_name=_("stores"), blank=True, related_name="+")
    tiers = models.ManyToManyField(Tier, verbose_name=_("tiers"), blank=True, related_name="+")
    distributed_at = models.DateTimeField(_("last distributed"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-opens_at", "-id"]
        permissions = [
            ("distribute_survey", _("Can send surveys to members")),
            ("view_survey_report", _("Can see survey reports and export them")),
            ("enter_survey_response", _("Can enter survey answers from interviews on a member's behalf")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="survey_closes_after_opening"),
            models.CheckConstraint(condition=Q(satisfied_threshold__gte=1, satisfied_threshold__lte=5),
                                   name="survey_threshold_1_to_5"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.opens_at <= at < self.closes_at


class Question(models.Model):
    class Kind(models.TextChoices):
        RATING = "rating", _("Rating 1-5")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TEXT = "text", _("Free text")

    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    text = models.CharField(_("question"), max_length=300)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.RATING)
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices, blank=True)
    is_overall = models.BooleanField(_("overall satisfaction"), default=False)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey"], condition=Q(is_overall=True), name="one_overall_per_survey"),
            models.CheckConstraint(condition=Q(is_overall=False) | Q(kind="rating", required=True),
                                   name="overall_is_required_rating"),
        ]

    def __str__(self) -> str:
        return self.text


class Choice(models.Model):
    question = models.ForeignKey(Question, verbose_name=_("question"), on_delete=models.CASCADE,
                                 related_name="choices")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    text = models.CharField(_("choice"), max_length=200)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["question", "order", "id"]

    def __str__(self) -> str:
        return self.text


class ResponseReceipt(models.Model):
    """That a member has answered a survey: the one-answer key, and nothing about the answer."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="receipts", verbose_name=_("survey"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="survey_receipts", verbose_name=_("member"))
    answered_on = models.DateField(_("answered on"))

    class Meta:
        verbose_name = _("survey receipt")
        verbose_name_plural = _("survey receipts")
        constraints = [models.UniqueConstraint(fields=["survey", "member"], name="one_answer_per_member_survey")]


class Response(models.Model):
    """An answered questionnaire. `member` is empty for anonymous surveys; the store is the
    member's home store at the time (the CSI per store needs it). `channel` is how the answers were
    collected (seed 000 测评方式); staff who typed them in from an interview are `entered_by`."""

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Online questionnaire")
        PHONE = "phone", _("Phone interview")
        IN_STORE = "in_store", _("In-store intercept")
        FORUM = "forum", _("Member forum")
        EVENT = "event", _("Experience event")

    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="responses")
    member = models.ForeignKey(Member, verbose_name=_("member"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="survey_responses")
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.PORTAL)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "member"], condition=Q(member__isnull=False),
                                    name="one_named_response_per_member"),
        ]
        indexes = [models.Index(fields=["survey", "store"]), models.Index(fields=["survey", "submitted_at"])]


class SurveySample(models.Model):
    """One sending of a survey to a random sample of its audience (seed 000 测评方式 随机电话访谈): the
    size asked for (a number or a percentage), the seed that makes the draw reproducible, how many
    members were in the audience and who was drawn (SurveySampleMember, the call list)."""

    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="samples")
    sample_size = models.PositiveIntegerField(_("sample size"), null=True, blank=True)
    sample_percent = models.DecimalField(_("sample (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    seed = models.CharField(_("seed"), max_length=32)
    population = models.PositiveIntegerField(_("audience"))
    drawn = models.PositiveIntegerField(_("drawn"))
    sent = models.PositiveIntegerField(_("sent"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("drawn by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("drawn at"))

    class Meta:
        verbose_name = _("survey sample")
        verbose_name_plural = _("survey samples")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(sample_size__isnull=False, sample_percent__isnull=True, sample_size__gte=1)
                           | Q(sample_size__isnull=True, sample_percent__gt=0, sample_percent__lte=100)),
                name="survey_sample_size_or_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} #{self.pk}"


class SurveySampleMember(models.Model):
    sample = models.ForeignKey(SurveySample, on_delete=models.CASCADE, related_name="members", verbose_name=_("sample"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", verbose_name=_("member"))

    class Meta:
        verbose_name = _("sampled member")
        verbose_name_plural = _("sampled members")
        constraints = [models.UniqueConstraint(fields=["sample", "member"], name="sample_member_once")]


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("response"))
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers", verbose_name=_("question"))
    rating = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("rating"))
    text = models.TextField(blank=True, verbose_name=_("text"))
    choices = models.ManyToManyField(Choice, blank=True, related_name="answers", verbose_name=_("choices"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question"),
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="answer_rating_1_to_5"),
        ]
        indexes = [models.Index(fields=["question", "rating"])]


class ImprovementAction(models.Model):
    """整改方案: what is done about a weak dimension of a survey; a later survey re-measures it."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    source_survey = models.ForeignKey(Survey, verbose_name=_("from survey"), on_delete=models.PROTECT,
                                      related_name="actions")
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    store = models.ForeignKey(Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", help_text=_("empty: the whole chain"))
    title = models.CharField(_("title"), max_length=200)
    plan = models.TextField(_("plan"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="care_actions")
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    evidence = models.TextField(_("evidence"), blank=True)
    evidence_file_note = models.CharField(_("evidence file (where it is kept)"), max_length=300, blank=True)
    remeasure_survey = models.ForeignKey(
        Survey, verbose_name=_("re-measured by survey"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="remeasured_actions",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["status", "due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(remeasure_survey=F("source_survey")),
                                   name="action_remeasure_is_another_survey"),
            models.CheckConstraint(condition=Q(status="done", done_at__isnull=False) | ~Q(status="done"),
                                   name="action_done_has_time"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status != self.Status.DONE and self.due_on < timezone.localdate()
