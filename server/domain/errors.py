"""Domain errors: each carries a stable string code and the HTTP status it maps to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One offending input field and what is wrong with it."""

    field: str
    message: str


class DomainError(Exception):
    """Base for every error the API turns into problem+json."""

    code = "error"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class Busy(DomainError):
    """Others kept changing the same record; retrying shortly will succeed."""

    code = "busy"
    status = 503
    title = "Busy"
    retry_after_s = 1


class ValidationFailed(DomainError):
    """Input that parsed but does not satisfy the contract."""

    code = "validation_failed"
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    """A named resource that does not exist."""

    code = "not_found"
    status = 404
    title = "Not found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} does not exist")
        self.code = f"{kind}_not_found"


class Conflict(DomainError):
    """A change that contradicts the current state."""

    code = "conflict"
    status = 409
    title = "Conflict"

    def __init__(self, detail: str, *, code: str = "conflict") -> None:
        super().__init__(detail)
        self.code = code


class DeviceInUse(Conflict):
    """A push token held by another officer's current duty session: taking it would silence
    their phone, so it moves only once that session ends (sign-out, or an admin ends it)."""

    def __init__(self) -> None:
        super().__init__("this push token belongs to another officer's current duty session; "
                         "it moves once they sign out on that phone or an admin ends their "
                         "session", code="device_in_use")


class ReplyFailed(Exception):
    """A network would not take a reply; the message says why, for the control room."""
