"""Domain errors. Services raise these; the API turns them into 400/409 with a stable code."""
from __future__ import annotations


class MemberHubError(Exception):
    """Base of every domain error: a message a person can act on, a stable code, optional field errors."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.fields = fields or {}


class ValidationFailed(MemberHubError):
    code = "invalid"
    status = 400


class Conflict(MemberHubError):
    code = "conflict"
    status = 409


class PermissionDenied(MemberHubError):
    code = "forbidden"
    status = 403


class NotFound(MemberHubError):
    code = "not_found"
    status = 404


class RateLimited(MemberHubError):
    code = "rate_limited"
    status = 429


class JobAlreadyRunning(Conflict):
    code = "job_running"
