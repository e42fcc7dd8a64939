"""Store scope of staff (MEM-9, SEC-3): one place that answers "may this staff member touch this?".

Querysets, admin, desk pages and the API all call these functions, so the rule cannot drift."""
from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.errors import NotFound, PermissionDenied

from .models import Member, Store


def is_chain_wide(user) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = getattr(user, "staff_profile", None)
    return bool(profile and profile.chain_wide)


def staff_store(user) -> Store | None:
    profile = getattr(user, "staff_profile", None)
    return profile.store if profile else None


def store_ids(user) -> list[int] | None:
    """None means every store; otherwise the ids the user may act in (possibly empty)."""
    if is_chain_wide(user):
        return None
    profile = getattr(user, "staff_profile", None)
    return [profile.store_id] if profile and profile.store_id else []


def filter_by_store(user, qs: QuerySet, field: str = "home_store") -> QuerySet:
    ids = store_ids(user)
    if ids is None:
        return qs
    return qs.filter(**{f"{field}__in": ids})


def stores_for(user) -> QuerySet:
    return filter_by_store(user, Store.objects.filter(is_active=True), field="pk")


def require_store(user, store: Store) -> None:
    ids = store_ids(user)
    if ids is not None and store.pk not in ids:
        raise PermissionDenied(_("You can only act within your own store."), code="other_store")


def require_member(user, member: Member) -> None:
    """Out-of-scope members look like missing ones, so numbers cannot be probed."""
    ids = store_ids(user)
    if ids is not None and member.home_store_id not in ids:
        raise NotFound(_("No such member."))


def require_perm(user, perm: str) -> None:
    if not user or not user.has_perm(perm):
        raise PermissionDenied(_("Your role does not allow this."), code="permission")
