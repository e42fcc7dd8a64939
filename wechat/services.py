"""Writes of the wechat app: binding a WeChat user (openid) to a member and unbinding, each in the same
transaction as its audit record (core.audit_record, field "wechat_binding": who, from where, which
openid masked), so the member's audit log shows every bind and unbind."""
from __future__ import annotations

import hmac
import secrets
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import Conflict, ValidationFailed
from core.models import AuditLog
from members.locks import member_lock
from members.models import Member

from .locks import bindings_lock_for_member
from .models import WechatBinding, mask_openid

AUDIT_FIELD = "wechat_binding"
STATE_SALT = "wechat.oauth.state"
STATE_MAX_AGE = 10 * 60
BINDABLE_STATUSES = (Member.Status.ACTIVE, Member.Status.PENDING, Member.Status.SUSPENDED)


def _actor_label(actor) -> str:
    if isinstance(actor, str):
        return actor
    if hasattr(actor, "get_username"):
        return actor.get_username()
    return getattr(actor, "label", "system")


def _unbind_locked(binding: WechatBinding, *, actor, via: str, reason: str) -> WechatBinding:
    binding.unbound_at = timezone.now()
    binding.unbound_via = via
    binding.unbound_by = _actor_label(actor)[:150]
    binding.save(update_fields=["unbound_at", "unbound_via", "unbound_by"])
    audit_record(actor=actor, action=AuditLog.Action.STATUS, member=binding.member, field=AUDIT_FIELD,
                 detail=f"unbind {mask_openid(binding.openid)} app {binding.app_id} via {via}: {reason}")
    return binding


@transaction.atomic
def wechat_bind(*, member: Member, openid: str, unionid: str = "", actor, via: str = WechatBinding.Via.PORTAL,
                app_id: str | None = None) -> WechatBinding:
    """Bind `openid` (of our app) to `member`. The member's earlier binding to another WeChat user is
    ended first (they changed WeChat account); the same openid bound already is returned unchanged. An
    openid bound to another member is refused: that member unbinds first (portal or desk)."""
    app_id = app_id or settings.WECHAT_APP_ID
    if not app_id or not openid:
        raise ValidationFailed(_("WeChat is not configured."), code="wechat_off")
    member = member_lock(member.pk)
    if member.status not in BINDABLE_STATUSES:
        raise ValidationFailed(_("This membership cannot be linked to WeChat."), code="member_not_bindable")
    mine, theirs = bindings_lock_for_member(member_id=member.pk, app_id=app_id, openid=openid)
    if theirs is not None:
        raise Conflict(_("This WeChat account is already linked to another membership."), code="openid_bound")
    if mine is not None and mine.openid == openid:
        return mine
    if mine is not None:
        _unbind_locked(mine, actor=actor, via=via, reason="replaced by a new WeChat account")
    try:
        with transaction.atomic():
            binding = WechatBinding.objects.create(member=member, app_id=app_id, openid=openid,
                                                   unionid=unionid or "", bound_at=timezone.now())
    except IntegrityError:
        # A concurrent bind of the same openid won (the partial UNIQUE constraints).
        raise Conflict(_("This WeChat account is already linked to another membership."),
                       code="openid_bound") from None
    audit_record(actor=actor, action=AuditLog.Action.STATUS, member=member, field=AUDIT_FIELD,
                 detail=f"bind {mask_openid(openid)} app {app_id} via {via}")
    return binding


@transaction.atomic
def wechat_unbind(*, member: Member, actor, via: str, reason: str = "", app_id: str | None = None) -> WechatBinding:
    """End the member's active binding (portal: the member; desk: staff, on the member's request)."""
    app_id = app_id or settings.WECHAT_APP_ID
    member_lock(member.pk)
    mine, _theirs = bindings_lock_for_member(member_id=member.pk, app_id=app_id, openid="")
    if mine is None:
        raise ValidationFailed(_("This membership is not linked to WeChat."), code="not_bound")
    return _unbind_locked(mine, actor=actor, via=via, reason=reason or "requested")


# ---------------------------------------------------------------- OAuth state


def _state_mac(nonce: str, issued: int) -> str:
    return salted_hmac(STATE_SALT, f"{nonce}:{issued}", algorithm="sha256").hexdigest()[:32]


def oauth_state_new(session, *, next_url: str = "") -> str:
    """A state for the authorisation redirect: letters and digits only (WeChat allows no more, 128 at
    most), signed with the site key and bound to this browser session, valid STATE_MAX_AGE seconds."""
    nonce, issued = secrets.token_hex(8), int(time.time())
    session["wechat_oauth"] = {"nonce": nonce, "issued": issued, "next": next_url}
    return f"{nonce}{_state_mac(nonce, issued)}"


def oauth_state_check(session, state: str) -> str:
    """The `next` URL the state was issued with; ValidationFailed when it is forged, stale or not ours."""
    pending = session.pop("wechat_oauth", None)
    error = ValidationFailed(_("The WeChat sign-in link has expired; please open the page again."),
                             code="bad_state")
    if not isinstance(pending, dict) or not state:
        raise error
    nonce, issued = str(pending.get("nonce", "")), int(pending.get("issued", 0))
    if not hmac.compare_digest(state, f"{nonce}{_state_mac(nonce, issued)}"):
        raise error
    if time.time() - issued > STATE_MAX_AGE:
        raise error
    return str(pending.get("next") or "")
