"""The job framework's record (JobRun) and the audit log that every sensitive action writes."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.actors import ActorLabelled


class JobRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        ABANDONED = "abandoned", _("Abandoned (process died)")

    name = models.CharField(_("job"), max_length=64, db_index=True)
    run_date = models.DateField(_("business date"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    progress_done = models.BigIntegerField(_("done"), default=0)
    progress_total = models.BigIntegerField(_("total"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    triggered_by = models.CharField(_("triggered by"), max_length=64, default="command")

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.name} {self.run_date} {self.status}"


class AuditLog(ActorLabelled, models.Model):
    """Who did what to whom: reveals of personal data, reviews, status changes, data exports."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("Revealed personal data")
        EXPORT = "export", _("Exported data")
        IMPORT = "import", _("Imported data")
        REVIEW = "review", _("Reviewed")
        STATUS = "status", _("Changed status")
        CLOSE = "close", _("Closed account")
        LOGIN = "login", _("Logged in")
        REVOKE = "revoke", _("Revoked a device token")
        ROTATE_KEY = "rotate_key", _("Rotated a partner API key")
        DESK_POSTING = "desk_posting", _("Posted a purchase at the desk")
        POINTS_CLAIM = "points_claim", _("Decided a points claim")
        ABUSE_FLAG = "abuse_flag", _("Decided an abuse flag")
        POLICY = "policy", _("Published a privacy policy version")
        RETENTION = "retention", _("Purged data under the retention schedule")
        INCIDENT = "incident", _("Recorded a security incident")
        VISIT_OUTCOME = "visit_outcome", _("Recorded a care visit's outcome")
        ACCOUNT_MANAGER = "account_manager", _("Assigned or withdrew an account manager")
        SURVEY_ENTRY = "survey_entry", _("Entered survey answers for a member")
        BOOKING = "booking", _("Booked or cancelled a reservation for a member")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(_("actor"), max_length=150, help_text=_("staff username, 'member' or a device"))
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), null=True, blank=True, on_delete=models.PROTECT
    )
    field = models.CharField(_("field"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]
        indexes = [models.Index(fields=["member", "-at"]), models.Index(fields=["action", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.field}"
