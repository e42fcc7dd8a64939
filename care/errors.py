"""Domain errors of member care."""
from core.errors import Conflict, ValidationFailed


class CareError(ValidationFailed):
    code = "care_invalid"


class CareConflict(Conflict):
    code = "care_conflict"


class AlreadyAnswered(Conflict):
    code = "already_answered"
