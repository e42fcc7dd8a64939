"""Service desk (SPEC 5, SD-1..4): complaints with time limits, their log, escalations and staff
notices, compensation, ratings and follow-up calls; consultations and suggestions; the FAQ.

Deadlines are stored on the complaint at intake (accept_due, reply_due, close_due) so that lists
sort by the nearest one in SQL. Every step of a complaint or consultation writes an event row in
the same transaction (append-only). Writes go through service_desk.services only."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.actors import ActorLabelled


class Channel(models.TextChoices):
    DESK = "desk", _("Front desk")
    HOTLINE = "hotline", _("Hotline")
    PORTAL = "portal", _("Portal")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("E-mail")


class ComplaintCategory(models.TextChoices):
    QUALITY = "quality", _("Product quality")
    ATTITUDE = "attitude", _("Service attitude")
    PAYMENT = "payment", _("Payment")
    RETURNS = "returns", _("Returns and exchanges")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    NORMAL = "normal", _("Normal")
    SERIOUS = "serious", _("Serious")
    URGENT = "urgent", _("Urgent")


class Department(models.Model):
    """Where a complaint can be transferred (customer service, floor, finance, logistics...)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """SD-2 time limits per category and severity, in hours from intake (defaults 24 / 48 / 72)."""

    category = models.CharField(_("category"), max_length=16, choices=ComplaintCategory.choices)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    accept_hours = models.PositiveSmallIntegerField(_("accept within (hours)"), default=24)
    reply_hours = models.PositiveSmallIntegerField(_("first reply within (hours)"), default=48)
    close_hours = models.PositiveSmallIntegerField(_("close within (hours)"), default=72)
    working_days = models.BooleanField(
        _("count working days only"), default=False,
        help_text=_("Count only the hours of working days (Monday to Friday, not the holidays of the holiday "
                    "calendar) towards the limits."))
    second_level_hours = models.PositiveSmallIntegerField(
        _("escalate to the regional manager after (hours)"), default=24,
        help_text=_("A breached limit still not met this many hours after it was due goes to the regional manager."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("complaint time limit")
        verbose_name_plural = _("complaint time limits")
        ordering = ["category", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["category", "severity"], name="sla_policy_unique"),
            models.CheckConstraint(
                condition=Q(accept_hours__gt=0) & Q(reply_hours__gte=models.F("accept_hours"))
                & Q(close_hours__gte=models.F("reply_hours")),
                name="sla_policy_hours_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} / {self.get_severity_display()}"


class SeverityLevel(models.Model):
    """The default time limits of a severity (issue 16): an urgent case is answered sooner than a normal one.
    New category × severity policies start from these hours, the admin can apply them to every category of
    the severity at once, and a complaint whose policy row is missing is timed by them (SD-2)."""

    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, unique=True)
    accept_hours = models.PositiveSmallIntegerField(_("accept within (hours)"))
    reply_hours = models.PositiveSmallIntegerField(_("first reply within (hours)"))
    close_hours = models.PositiveSmallIntegerField(_("close within (hours)"))
    description = models.CharField(_("when to choose it"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("severity")
        verbose_name_plural = _("severities and their default time limits")
        ordering = ["accept_hours", "severity"]
        constraints = [
            models.CheckConstraint(
                condition=Q(accept_hours__gt=0) & Q(reply_hours__gte=models.F("accept_hours"))
                & Q(close_hours__gte=models.F("reply_hours")),
                name="severity_level_hours_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.get_severity_display()


class TierSlaShortening(models.Model):
    """Optional: members of a tier get every time limit shortened by a percentage."""

    tier = models.OneToOneField("members.Tier", verbose_name=_("tier"), on_delete=models.CASCADE,
                                related_name="sla_shortening")
    percent = models.PositiveSmallIntegerField(_("shorter by (percent)"), default=0,
                                               validators=[MaxValueValidator(90)])

    class Meta:
        verbose_name = _("time limit shortening per tier")
        verbose_name_plural = _("time limit shortening per tier")
        constraints = [models.CheckConstraint(condition=Q(percent__lte=90), name="tier_sla_percent_max_90")]

    def __str__(self) -> str:
        return f"{self.tier}: -{self.percent}%"


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    REPLIED = "replied", _("Replied")
    CLOSED = "closed", _("Closed")


class Complaint(models.Model):
    """投诉 (SD-1). A member is required from the portal and optional at the desk (walk-ins)."""

    Status = ComplaintStatus  # as ComplaintEvent.status_label names it

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=16, choices=ComplaintCategory.choices)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, default=Severity.NORMAL)
    status = models.CharField(_("status"), max_length=16, choices=ComplaintStatus.choices,
                              default=ComplaintStatus.RECEIVED)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT,
                              related_name="complaints")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="complaints")
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True,
                                    help_text=_("for walk-in customers who are not members"))
    order_no = models.CharField(_("order number"), max_length=40, blank=True)
    description = models.TextField(_("description"))
    department = models.ForeignKey(Department, verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="complaints")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="assigned_complaints")
    received_at = models.DateTimeField(_("received at"), db_index=True)
    accept_due = models.DateTimeField(_("accept by"))
    reply_due = models.DateTimeField(_("reply by"))
    close_due = models.DateTimeField(_("close by"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    first_replied_at = models.DateTimeField(_("first reply at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reply = models.TextField(_("latest reply to the member"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    request_id = models.CharField(_("request id"), max_length=64, null=True, blank=True, unique=True,
                                  help_text=_("idempotency key of the intake"))
    loop_closed_at = models.DateTimeField(_("follow-up completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["status", "accept_due"]),
            models.Index(fields=["member", "-received_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(accept_due__gte=models.F("received_at")) & Q(reply_due__gte=models.F("accept_due"))
                & Q(close_due__gte=models.F("reply_due")),
                name="complaint_deadlines_ordered",
            ),
            models.CheckConstraint(
                condition=Q(member__isnull=False) | ~Q(channel="portal"), name="complaint_portal_has_member"
            ),
        ]
        permissions = [
            ("handle_complaint", _("Can accept, transfer, reply to, close and reopen complaints")),
            ("compensate_complaint", _("Can grant compensation on a complaint")),
            ("view_compliance_report", _("Can see complaint time-limit compliance")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"


class StatusLogged:
    """Mixin for step logs with `from_status` / `to_status` codes: the status's words for pages and the
    admin (the log keeps codes; nobody reads them). `STATUSES` is the logged object's status choices."""

    STATUSES: type[models.TextChoices]

    def status_label(self, code: str) -> str:
        return self.STATUSES(code).label if code in self.STATUSES.values else code

    @admin.display(description=pgettext_lazy("status change", "From"))
    def from_label(self) -> str:
        return self.status_label(self.from_status)

    @admin.display(description=pgettext_lazy("status change", "To"))
    def to_label(self) -> str:
        return self.status_label(self.to_status)


class ComplaintEvent(StatusLogged, ActorLabelled, models.Model):
    """Append-only log of every step of a complaint (who, when, from -> to, note)."""

    STATUSES = ComplaintStatus

    class Action(models.TextChoices):
        INTAKE = "intake", _("Received")
        ACCEPT = "accept", _("Accepted")
        START = "start", _("Work started")
        TRANSFER = "transfer", _("Transferred")
        REPLY = "reply", _("Replied")
        CLOSE = "close", _("Closed")
        REOPEN = "reopen", _("Reopened")
        COMPENSATE = "compensate", _("Compensation granted")
        RATE = "rate", _("Rated by the member")
        FOLLOW_UP = "follow_up", _("Follow-up call")
        BREACH = "breach", _("Time limit breached")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="events", verbose_name=_("complaint"))
    at = models.DateTimeField(_("time"))
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("by"), max_length=150)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("complaint event")
        verbose_name_plural = _("complaint events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["complaint", "at"])]


class BreachKind(models.TextChoices):
    ACCEPT = "accept", _("Not accepted in time")
    REPLY = "reply", _("Not replied in time")
    CLOSE = "close", _("Not closed in time")
    RESPOND = "respond", _("Not responded to in time")
    RESOLVE = "resolve", _("Not resolved in time")
    ANSWER = "answer", _("Not answered in time")


class EscalationLevel(models.IntegerChoices):
    STORE_MANAGER = 1, _("Store manager")
    REGIONAL_MANAGER = 2, _("Regional manager")


class Escalation(models.Model):
    """A breached time limit of a complaint, an after-sales case or a consultation, escalated once per
    case, kind and level: to the store's manager (level 1, SD-2, SD-8) and, for complaints and after-sales
    cases still not met `second_level_hours` later, to the regional managers of the store (level 2, SD-9)."""

    complaint = models.ForeignKey(Complaint, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="escalations", verbose_name=_("complaint"))
    after_sales = models.ForeignKey("AfterSalesCase", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="escalations", verbose_name=_("after sales"))
    consultation = models.ForeignKey("Consultation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="escalations", verbose_name=_("consultation"))
    kind = models.CharField(_("breach"), max_length=8, choices=BreachKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=EscalationLevel.choices,
                                             default=EscalationLevel.STORE_MANAGER)
    due = models.DateTimeField(_("was due"))
    at = models.DateTimeField(_("escalated at"))
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("manager"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    job_run = models.ForeignKey("core.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("job run"))

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["complaint", "kind", "level"], condition=Q(complaint__isnull=False),
                                    name="escalation_once_per_kind_level"),
            models.UniqueConstraint(fields=["after_sales", "kind", "level"], condition=Q(after_sales__isnull=False),
                                    name="escalation_after_sales_once_per_kind_level"),
            models.UniqueConstraint(fields=["consultation", "kind", "level"],
                                    condition=Q(consultation__isnull=False),
                                    name="escalation_consultation_once_per_kind_level"),
            models.CheckConstraint(
                condition=(Q(complaint__isnull=False, after_sales__isnull=True, consultation__isnull=True)
                           | Q(complaint__isnull=True, after_sales__isnull=False, consultation__isnull=True)
                           | Q(complaint__isnull=True, after_sales__isnull=True, consultation__isnull=False)),
                name="escalation_one_case"),
        ]
        permissions = [
            ("receive_regional_escalation", _("Receives second-level escalations of the stores covered (regional "
                                              "manager)")),
        ]


class EscalationContact(models.Model):
    """How a manager is reached when a time limit is breached (SD-9): besides the desk notice, an SMS
    to `mobile` and/or an e-mail through messaging. `regional_stores` are the stores whose second-level
    escalations this person receives (with the regional-manager permission)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("staff"), on_delete=models.CASCADE,
                                related_name="escalation_contact")
    mobile_enc = models.TextField(blank=True, editable=False)
    mobile_masked = models.CharField(_("mobile"), max_length=20, blank=True, editable=False)
    email = models.EmailField(_("e-mail"), blank=True, help_text=_("Empty: the account's e-mail address."))
    by_sms = models.BooleanField(_("alert by SMS"), default=True)
    by_email = models.BooleanField(_("alert by e-mail"), default=True)
    regional_stores = models.ManyToManyField("members.Store", verbose_name=_("regional manager of"), blank=True,
                                             related_name="regional_contacts")

    class Meta:
        verbose_name = _("escalation contact")
        verbose_name_plural = _("escalation contacts")

    def __str__(self) -> str:
        return self.user.get_username()


class StaffNotice(models.Model):
    """A notice to a staff user (escalations), shown on the desk complaint queue."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), on_delete=models.CASCADE,
                             related_name="service_notices")
    complaint = models.ForeignKey(Complaint, null=True, blank=True, on_delete=models.CASCADE, related_name="notices", verbose_name=_("complaint"))
    after_sales = models.ForeignKey("AfterSalesCase", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="notices", verbose_name=_("after sales"))
    consultation = models.ForeignKey("Consultation", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="notices", verbose_name=_("consultation"))
    kind = models.CharField(_("kind"), max_length=32)
    text = models.CharField(_("text"), max_length=300)
    created_at = models.DateTimeField(_("time"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff notice")
        verbose_name_plural = _("staff notices")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "complaint", "kind"], name="staff_notice_once_per_event"),
            models.UniqueConstraint(fields=["user", "after_sales", "kind"], condition=Q(after_sales__isnull=False),
                                    name="staff_notice_after_sales_once_per_event"),
            models.UniqueConstraint(fields=["user", "consultation", "kind"], condition=Q(consultation__isnull=False),
                                    name="staff_notice_consultation_once_per_event"),
        ]
        indexes = [models.Index(fields=["user", "read_at"])]


class Compensation(models.Model):
    """Compensation on a complaint, at most one of each kind, always through the ledger/coupon services."""

    class Kind(models.TextChoices):
        POINTS = "points", _("Points")
        COUPON = "coupon", _("Coupon")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="compensations", verbose_name=_("complaint"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    points = models.BigIntegerField(_("points"), null=True, blank=True)
    entry = models.ForeignKey("points.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("entry"))
    coupon = models.ForeignKey("points.Coupon", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("coupon"))
    reason = models.CharField(_("reason"), max_length=200)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        constraints = [models.UniqueConstraint(fields=["complaint", "kind"], name="compensation_once_per_kind")]


class ComplaintRating(models.Model):
    """The member's rating of the handling (1-5 plus comment), once per complaint."""

    complaint = models.OneToOneField(Complaint, on_delete=models.PROTECT, related_name="rating", verbose_name=_("complaint"))
    score = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("complaint rating")
        verbose_name_plural = _("complaint ratings")
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="rating_1_to_5")]


class FollowUpCall(models.Model):
    """回访电话 after a complaint is closed; a call that reached the customer closes the loop."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("complaint"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField(_("time"))
    reached = models.BooleanField(_("customer reached"))
    outcome = models.TextField(_("outcome"))

    class Meta:
        verbose_name = _("follow-up call")
        verbose_name_plural = _("follow-up calls")
        ordering = ["at", "id"]


# ---------------------------------------------------------------- consultations and suggestions (SD-4)


class Consultation(models.Model):
    """咨询 / 建议: logged like complaints, simpler workflow (received -> answered -> closed)."""

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        SUGGESTION = "suggestion", _("Suggestion")

    class Category(models.TextChoices):
        MEMBERSHIP = "membership", _("Membership and tiers")
        POINTS = "points", _("Points and gifts")
        PRODUCTS = "products", _("Products")
        STORE = "store", _("Store services and facilities")
        EVENTS = "events", _("Events and promotions")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT,
                              related_name="consultations")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="consultations")
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    question = models.TextField(_("question or suggestion"))
    answer = models.TextField(_("answer"), blank=True)
    faq = models.ForeignKey("FaqArticle", verbose_name=_("FAQ article"), null=True, blank=True,
                            on_delete=models.SET_NULL, related_name="+")
    class Decision(models.TextChoices):
        ADOPTED = "adopted", _("Adopted")
        NOT_ADOPTED = "not_adopted", _("Not adopted")

    received_at = models.DateTimeField(_("received at"), db_index=True)
    reply_due = models.DateTimeField(_("reply by"), null=True, blank=True,
                                     help_text=_("From the consultation time limit of the channel at intake (SD-8)."))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    department = models.ForeignKey(Department, verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="consultations")
    decision = models.CharField(_("decision on the suggestion"), max_length=12, choices=Decision.choices, blank=True)
    decision_feedback = models.TextField(_("feedback to the member"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("consultation or suggestion")
        verbose_name_plural = _("consultations and suggestions")
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["store", "status"]), models.Index(fields=["status", "reply_due"])]
        constraints = [
            models.CheckConstraint(condition=Q(decision="") | Q(kind="suggestion"), name="decision_only_on_suggestion"),
            models.CheckConstraint(condition=Q(decision="") | Q(decided_at__isnull=False), name="decision_has_time"),
        ]
        permissions = [("decide_suggestion", _("Can decide whether a suggestion is adopted"))]


class ConsultationTimeLimit(models.Model):
    """SD-8: how soon a consultation or suggestion is answered, per channel (003 3.4: online within one
    working day). Seeded for every channel; operations change the hours and the clock in the admin."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, unique=True)
    reply_hours = models.PositiveSmallIntegerField(_("answer within (hours)"), default=24)
    working_days = models.BooleanField(_("count working days only"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("consultation time limit")
        verbose_name_plural = _("consultation time limits")
        ordering = ["channel"]
        constraints = [models.CheckConstraint(condition=Q(reply_hours__gt=0), name="consultation_limit_positive")]

    def __str__(self) -> str:
        return self.get_channel_display()


class ConsultationEvent(ActorLabelled, models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="events", verbose_name=_("consultation"))
    at = models.DateTimeField(_("time"))
    action = models.CharField(_("action"), max_length=16)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("by"), max_length=150)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("consultation event")
        verbose_name_plural = _("consultation events")
        ordering = ["at", "id"]


# ---------------------------------------------------------------- after-sales cases (SD-7)


class AfterSalesKind(models.TextChoices):
    REPAIR = "repair", _("Repair")
    EXCHANGE = "exchange", _("Exchange")
    INSPECTION = "inspection", _("Quality inspection")


class AfterSalesPriority(models.TextChoices):
    STANDARD = "standard", _("Standard")
    URGENT = "urgent", _("Urgent (fault or safety)")


class AfterSalesPolicy(models.Model):
    """SD-7 time limits of after-sales cases per kind and priority (001 3.4: respond within 24 h,
    resolve within 48 h for standard cases), on a calendar or working-day clock like complaints."""

    kind = models.CharField(_("kind"), max_length=16, choices=AfterSalesKind.choices)
    priority = models.CharField(_("priority"), max_length=16, choices=AfterSalesPriority.choices)
    respond_hours = models.PositiveSmallIntegerField(_("respond within (hours)"), default=24)
    resolve_hours = models.PositiveSmallIntegerField(_("resolve within (hours)"), default=48)
    working_days = models.BooleanField(_("count working days only"), default=False)
    second_level_hours = models.PositiveSmallIntegerField(_("escalate to the regional manager after (hours)"),
                                                          default=24)
    satisfaction_days = models.PositiveSmallIntegerField(
        _("satisfaction check within (working days)"), default=3,
        help_text=_("After closing, the member is asked for a rating; staff call if none arrived by then."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("after-sales time limit")
        verbose_name_plural = _("after-sales time limits")
        ordering = ["kind", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "priority"], name="after_sales_policy_unique"),
            models.CheckConstraint(condition=Q(respond_hours__gt=0) & Q(resolve_hours__gte=models.F("respond_hours"))
                                   & Q(satisfaction_days__gt=0) & Q(satisfaction_days__lte=30),
                                   name="after_sales_policy_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.get_priority_display()}"


class AfterSalesStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    AT_VENDOR = "at_vendor", _("With the vendor")
    CLOSED = "closed", _("Closed")


class AfterSalesCase(models.Model):
    """售后 (SD-7; 001 3.4, 002 五(一)2): a repair, exchange or quality inspection of something bought,
    with its own clocks (respond, resolve), hand-offs to a vendor or workshop, and the satisfaction
    check within `satisfaction_days` working days after closing (001 3.4 "3个工作日内")."""

    kind = models.CharField(_("kind"), max_length=16, choices=AfterSalesKind.choices)
    priority = models.CharField(_("priority"), max_length=16, choices=AfterSalesPriority.choices,
                                default=AfterSalesPriority.STANDARD)
    status = models.CharField(_("status"), max_length=16, choices=AfterSalesStatus.choices,
                              default=AfterSalesStatus.RECEIVED)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    store = models.ForeignKey("members.Store", verbose_name=_("store"), on_delete=models.PROTECT,
                              related_name="after_sales_cases")
    member = models.ForeignKey("members.Member", verbose_name=_("member"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="after_sales_cases")
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    order_no = models.CharField(_("order number"), max_length=40, blank=True)
    product = models.CharField(_("product"), max_length=200)
    description = models.TextField(_("problem"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="assigned_after_sales")
    received_at = models.DateTimeField(_("received at"), db_index=True)
    respond_due = models.DateTimeField(_("respond by"))
    resolve_due = models.DateTimeField(_("resolve by"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    satisfaction_due = models.DateTimeField(_("satisfaction check by"), null=True, blank=True)
    satisfaction_score = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True,
                                                          validators=[MinValueValidator(1), MaxValueValidator(5)])
    satisfaction_comment = models.CharField(_("satisfaction comment"), max_length=500, blank=True)
    satisfaction_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    satisfaction_channel = models.CharField(_("rated through"), max_length=16, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    request_id = models.CharField(_("request id"), max_length=64, null=True, blank=True, unique=True,
                                  help_text=_("idempotency key of the intake"))

    class Meta:
        verbose_name = _("after-sales case")
        verbose_name_plural = _("after-sales cases")
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["status", "respond_due"]),
            models.Index(fields=["member", "-received_at"]),
            models.Index(fields=["satisfaction_due"], condition=Q(satisfaction_at__isnull=True),
                         name="after_sales_satisfaction_open"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(respond_due__gte=models.F("received_at"))
                                   & Q(resolve_due__gte=models.F("respond_due")), name="after_sales_deadlines_ordered"),
            models.CheckConstraint(condition=Q(satisfaction_score__isnull=True)
                                   | Q(satisfaction_score__gte=1, satisfaction_score__lte=5),
                                   name="after_sales_satisfaction_1_to_5"),
            models.CheckConstraint(condition=Q(member__isnull=False) | ~Q(channel="portal"),
                                   name="after_sales_portal_has_member"),
            models.CheckConstraint(condition=~Q(status="closed") | Q(closed_at__isnull=False),
                                   name="after_sales_closed_has_time"),
        ]
        permissions = [("handle_aftersalescase", _("Can respond to, hand off and close after-sales cases"))]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"


class AfterSalesHandoff(models.Model):
    """A hand-off of the goods to a vendor, brand workshop or parts supplier: to whom, when, their
    reference, and when it came back. At most one open hand-off per case."""

    case = models.ForeignKey(AfterSalesCase, on_delete=models.PROTECT, related_name="handoffs", verbose_name=_("case"))
    vendor = models.CharField(_("handed to"), max_length=100)
    reference = models.CharField(_("vendor reference"), max_length=60, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("handed over at"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handed over by"), on_delete=models.PROTECT,
                                related_name="+")
    returned_at = models.DateTimeField(_("came back at"), null=True, blank=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("received back by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    return_note = models.CharField(_("outcome from the vendor"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("vendor hand-off")
        verbose_name_plural = _("vendor hand-offs")
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(returned_at__isnull=True),
                                    name="one_open_handoff_per_case"),
            models.CheckConstraint(condition=Q(returned_at__isnull=True) | Q(returned_at__gte=models.F("sent_at")),
                                   name="handoff_returned_after_sent"),
        ]


class AfterSalesEvent(StatusLogged, ActorLabelled, models.Model):
    """Append-only log of every step of an after-sales case."""

    STATUSES = AfterSalesStatus

    class Action(models.TextChoices):
        INTAKE = "intake", _("Received")
        RESPOND = "respond", _("Responded")
        HANDOFF = "handoff", _("Handed to the vendor")
        RETURN = "return", _("Back from the vendor")
        CLOSE = "close", _("Closed")
        RATE = "rate", _("Satisfaction recorded")
        BREACH = "breach", _("Time limit breached")

    case = models.ForeignKey(AfterSalesCase, on_delete=models.PROTECT, related_name="events", verbose_name=_("case"))
    at = models.DateTimeField(_("time"))
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("by"), max_length=150)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("after-sales event")
        verbose_name_plural = _("after-sales events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"])]


class FaqArticle(models.Model):
    """Knowledge base article. `title_tokens` / `body_tokens` are character unigrams and bigrams
    (service_desk.search) kept by the service; `tokens` is their union under a GIN index, so search
    needs no database extension."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    category = models.CharField(_("category"), max_length=16, choices=Consultation.Category.choices)
    published = models.BooleanField(_("published"), default=False)
    title_tokens = ArrayField(models.CharField(max_length=8), default=list, editable=False)
    body_tokens = ArrayField(models.CharField(max_length=8), default=list, editable=False)
    tokens = ArrayField(models.CharField(max_length=8), default=list, editable=False, verbose_name=_("tokens"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("FAQ article")
        verbose_name_plural = _("FAQ articles")
        ordering = ["title"]
        indexes = [GinIndex(fields=["tokens"], name="faq_tokens_gin")]

    def __str__(self) -> str:
        return self.title
