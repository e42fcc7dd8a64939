"""Tier history and the operations queue of tier proposals (TIER-2..5).

The tier rules themselves (thresholds, retention, confirmation mode, protection) are configured on
members.Tier; the member's current tier, protection and manual floor live on members.Member. This app
owns what happened (TierChange, append-only) and what waits for a decision (TierProposal).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ChangeKind(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")
    MANUAL = "manual", _("Manual grant")
    FLOOR = "floor", _("Manual floor (tier unchanged)")


class TierProposal(models.Model):
    """A change the nightly evaluation found for a tier that needs manual confirmation (TIER-4)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="tier_proposals")
    from_tier = models.ForeignKey("members.Tier", verbose_name=_("from tier"), on_delete=models.PROTECT,
                                  related_name="+")
    to_tier = models.ForeignKey("members.Tier", verbose_name=_("to tier"), on_delete=models.PROTECT,
                                related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=ChangeKind.choices)
    rolling_amount = models.DecimalField(_("rolling 12-month amount"), max_digits=12, decimal_places=2)
    rolling_visits = models.PositiveIntegerField(_("rolling 12-month visits"), default=0)
    created_on = models.DateField(_("evaluated day"))
    effective_on = models.DateField(_("proposed effective date"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    job_run = models.ForeignKey("core.JobRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("job run"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tier proposal")
        verbose_name_plural = _("tier proposals")
        ordering = ["created_on", "id"]
        permissions = [("decide_tierproposal", _("Can approve or reject tier proposals"))]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(status="pending"),
                                    name="one_pending_tier_proposal_per_member"),
            models.CheckConstraint(condition=~Q(from_tier=models.F("to_tier")), name="tier_proposal_changes_tier"),
        ]
        indexes = [models.Index(fields=["member", "from_tier", "to_tier", "status"])]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_tier_id} -> {self.to_tier_id} ({self.status})"


class TierChange(models.Model):
    """Append-only tier history (TIER-5). Written in the same transaction as the member's tier."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="tier_changes")
    from_tier = models.ForeignKey("members.Tier", verbose_name=_("from tier"), on_delete=models.PROTECT,
                                  related_name="+")
    to_tier = models.ForeignKey("members.Tier", verbose_name=_("to tier"), on_delete=models.PROTECT,
                                related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=ChangeKind.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    rolling_amount = models.DecimalField(_("rolling 12-month amount"), max_digits=12, decimal_places=2,
                                         null=True, blank=True)
    rolling_visits = models.PositiveIntegerField(_("rolling 12-month visits"), null=True, blank=True)
    effective_on = models.DateField(_("effective on"))
    floor_until = models.DateField(_("manual tier until"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    proposal = models.OneToOneField(TierProposal, verbose_name=_("proposal"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="change")
    job_run = models.ForeignKey("core.JobRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("job run"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier history")
        ordering = ["-created_at", "-id"]
        permissions = [("grant_tier", _("Can grant a manual tier (floor with an end date)"))]
        constraints = [
            # Automatic changes (nightly job, immediate upgrade) are recorded once: a re-run of the
            # job for the same day finds this row and changes nothing.
            models.UniqueConstraint(
                fields=["member", "effective_on", "to_tier"],
                condition=Q(kind__in=["upgrade", "downgrade"], proposal__isnull=True),
                name="tier_change_once_per_day",
            ),
        ]
        indexes = [models.Index(fields=["member", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_tier_id} -> {self.to_tier_id} on {self.effective_on}"
