"""One error tree for the whole project.

A ``DomainError`` leaves the API as ``{"code", "message", "fields"}`` with its HTTP status, and an
HTML view shows its message next to the offending fields. ``code`` values are part of the public
contract: keep them stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        if code is not None:
            self.code = code

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422


class NotFound(DomainError):
    """Missing and forbidden rows look the same from outside: both are "not found"."""

    code = "not_found"
    status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class PermissionDenied(DomainError):
    """The row is visible to the user, but the action is not allowed for their role."""

    code = "permission_denied"
    status = 403


class AuthenticationFailed(DomainError):
    code = "not_authenticated"
    status = 401


class Conflict(DomainError):
    code = "conflict"
    status = 409


def field_error(field: str, message: str, *, code: str = "validation_error") -> ValidationFailed:
    """The common case: one field broke one rule."""
    return ValidationFailed(f"{field}: {message}", fields={field: [message]}, code=code)
