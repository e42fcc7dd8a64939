"""Domain errors of paid membership (core.errors: the API turns them into 400/409 with the code)."""
from core.errors import Conflict, ValidationFailed


class PlanError(ValidationFailed):
    code = "plan_invalid"


class MembershipConflict(Conflict):
    code = "membership_conflict"
