from core.errors import Conflict, ValidationFailed


class PointsError(ValidationFailed):
    code = "points_error"


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class MemberCannotTransact(Conflict):
    code = "member_inactive"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
