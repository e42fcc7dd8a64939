"""Row locks of the care app, on core.locks (FOR UPDATE OF self)."""
from __future__ import annotations

from django.db.models import QuerySet

from core.locks import lock_one, lock_one_or_none

from .models import ImprovementAction, Visit


def visit_lock(visit_id: int, *, within: QuerySet | None = None) -> Visit | None:
    """The visit locked, None if it is not in `within` (the staff member's store scope)."""
    return lock_one_or_none(within if within is not None else Visit, visit_id)


def improvement_action_lock(action_id: int) -> ImprovementAction:
    return lock_one(ImprovementAction, action_id)
