"""WeChat Official Account bindings (issue 18): which WeChat user (openid of our app) is which member.

A binding is never deleted: unbinding sets `unbound_at`, so the table is also the history of who was
bound when. At most one active binding per openid (of an app) and per member (of an app), in the
database."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class WechatBinding(models.Model):
    class Via(models.TextChoices):
        PORTAL = "portal", _("Portal")
        DESK = "desk", _("Front desk")
        SYSTEM = "system", _("System")

    member = models.ForeignKey("members.Member", verbose_name=_("member"), on_delete=models.PROTECT,
                               related_name="wechat_bindings")
    app_id = models.CharField(_("WeChat app id"), max_length=32)
    openid = models.CharField(_("openid"), max_length=64)
    unionid = models.CharField(_("unionid"), max_length=64, blank=True)
    bound_at = models.DateTimeField(_("bound at"))
    unbound_at = models.DateTimeField(_("unbound at"), null=True, blank=True)
    unbound_via = models.CharField(_("unbound via"), max_length=8, choices=Via.choices, blank=True)
    unbound_by = models.CharField(_("unbound by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("WeChat binding")
        verbose_name_plural = _("WeChat bindings")
        ordering = ["-bound_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["app_id", "openid"], condition=Q(unbound_at__isnull=True),
                                    name="wechat_binding_active_openid"),
            models.UniqueConstraint(fields=["member", "app_id"], condition=Q(unbound_at__isnull=True),
                                    name="wechat_binding_active_member"),
            models.CheckConstraint(condition=Q(unbound_at__isnull=True) | Q(unbound_at__gte=models.F("bound_at")),
                                   name="wechat_binding_dates_ordered"),
        ]
        indexes = [models.Index(fields=["member", "-bound_at"], name="wechat_binding_member_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.openid_masked}"

    @property
    def active(self) -> bool:
        return self.unbound_at is None

    @property
    def openid_masked(self) -> str:
        return mask_openid(self.openid)


def mask_openid(openid: str) -> str:
    return f"{openid[:4]}…{openid[-4:]}" if len(openid) > 8 else "…"
