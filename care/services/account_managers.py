"""Dedicated account managers (专属客户经理, seed 000 客服服务 and 高端专享服务; 002 三(二)3 金卡/白金卡 专属客服;
SD-11): operations assign a staff member to a member of a qualifying tier (CareConfig.account_manager_tiers);
the member's visits go to that person from then on. Assignments keep their history (one current row per
member, UNIQUE where ends_at is empty); every change is audited in the same transaction."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import NotFound
from core.models import AuditLog
from members import scope
from members.locks import member_lock
from members.models import Member
from members.services import member_can_transact

from ..errors import CareConflict, CareError
from ..models import AccountManagerAssignment, CareConfig, Visit

PERM_ASSIGN = "care.assign_account_manager"
NOTE_MAX = 200
AUDIT_ACTION = AuditLog.Action.ACCOUNT_MANAGER


def account_manager_tier_ids() -> set[int]:
    return set(CareConfig.get().account_manager_tiers.values_list("pk", flat=True))


def account_manager_candidates(member: Member):
    """Active staff who may look after the member: they record visits and work in the member's home store
    (or chain-wide)."""
    User = get_user_model()
    can_visit = (Q(is_superuser=True)
                 | Q(groups__permissions__codename="record_visit", groups__permissions__content_type__app_label="care")
                 | Q(user_permissions__codename="record_visit",
                     user_permissions__content_type__app_label="care"))
    ids = (User.objects.filter(can_visit, is_active=True, is_staff=True)
           .filter(Q(staff_profile__store_id=member.home_store_id) | Q(staff_profile__chain_wide=True))
           .values("pk").distinct())
    return User.objects.filter(pk__in=ids).select_related("staff_profile", "staff_profile__store").order_by("username")


def account_manager_current(member: Member) -> AccountManagerAssignment | None:
    return (AccountManagerAssignment.objects.filter(member=member, ends_at__isnull=True)
            .select_related("manager", "manager__staff_profile").first())


def _end_current(*, member: Member, staff, now) -> AccountManagerAssignment | None:
    current = AccountManagerAssignment.objects.filter(member=member, ends_at__isnull=True).first()
    if current:
        current.ends_at, current.ended_by = now, staff
        current.save(update_fields=["ends_at", "ended_by"])
    return current


@transaction.atomic
def account_manager_assign(*, member: Member, manager_id: int, staff, note: str = "") -> AccountManagerAssignment:
    """Make `manager_id` the member's account manager (the previous one, if any, ends now) and hand the
    member's open visits to them."""
    scope.require_perm(staff, PERM_ASSIGN)
    scope.require_member(staff, member)
    member = member_lock(member.pk, with_tier=True)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise CareError(_("Keep the note under %(n)d characters.") % {"n": NOTE_MAX},
                        fields={"note": [_("Keep the note under %(n)d characters.") % {"n": NOTE_MAX}]})
    if not member_can_transact(member):
        raise CareError(_("This membership is not active."), code="member_inactive")
    if member.tier_id not in account_manager_tier_ids():
        raise CareError(_("Members of the %(tier)s tier have no dedicated account manager (see the care "
                          "settings).") % {"tier": member.tier.name}, code="tier_not_eligible")
    manager = account_manager_candidates(member).filter(pk=manager_id).first()
    if manager is None:
        raise CareError(_("Choose an active staff member of the member's store who makes follow-up visits."),
                        fields={"manager": [_("Not a staff member who can look after this member.")]},
                        code="bad_manager")
    now = timezone.now()
    current = AccountManagerAssignment.objects.filter(member=member, ends_at__isnull=True).first()
    if current and current.manager_id == manager.pk:
        raise CareConflict(_("%(name)s already looks after this member.") % {"name": manager.get_username()},
                           code="already_assigned")
    previous = _end_current(member=member, staff=staff, now=now)
    assignment = AccountManagerAssignment.objects.create(member=member, manager=manager, starts_at=now,
                                                         assigned_by=staff, note=note)
    moved = Visit.objects.filter(member=member, status=Visit.Status.OPEN).update(assignee=manager)
    audit_record(actor=staff, action=AUDIT_ACTION, member=member, field="account_manager",
                 detail=f"{previous.manager.get_username() if previous else '-'} -> {manager.get_username()}; "
                        f"{moved} open visit(s) handed over")
    return assignment


@transaction.atomic
def account_manager_end(*, member: Member, staff) -> AccountManagerAssignment:
    """Withdraw the member's account manager (e.g. after a downgrade); the history stays."""
    scope.require_perm(staff, PERM_ASSIGN)
    scope.require_member(staff, member)
    member = member_lock(member.pk)
    ended = _end_current(member=member, staff=staff, now=timezone.now())
    if ended is None:
        raise NotFound(_("This member has no account manager."))
    audit_record(actor=staff, action=AUDIT_ACTION, member=member, field="account_manager",
                 detail=f"{ended.manager.get_username()} -> -")
    return ended
