"""Notices to members: the portal inbox and the record that an event was announced once."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notice(models.Model):
    """One notice per (kind, ref, member): a re-run of the job that sends it never repeats it."""

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.CASCADE,
                               related_name="notices")
    kind = models.CharField(_("kind"), max_length=32)
    ref = models.CharField(_("event reference"), max_length=100)
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    sms_sent = models.BooleanField(_("SMS sent"), default=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "ref", "member"], name="notice_once_per_event")]
        indexes = [models.Index(fields=["member", "-created_at"])]

    def __str__(self) -> str:
        return self.title
