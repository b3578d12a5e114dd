"""Errors the domain raises on purpose, with stable codes the API and pages can show.

Each domain defines its codes as a `StrEnum` next to its services. The API turns an
`ApplicationError` into `{"error": {"code", "message", "fields"}}` with the HTTP status
that `kind` names; web pages show `message` to the person.
"""

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    INVALID = "invalid"  # the input cannot be used as it is (400)
    FORBIDDEN = "forbidden"  # this person may not do this (403)
    NOT_FOUND = "not_found"  # nothing to act on, or nothing this person may see (404)
    CONFLICT = "conflict"  # the input is fine but the state of things refuses it (409)


class ApplicationError(Exception):
    def __init__(
        self,
        code: StrEnum | str,
        message: Any,
        *,
        kind: ErrorKind = ErrorKind.INVALID,
        fields: dict[str, list[Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """`extra`: further keys of the API's error object, for what a client can act on
        (the id of the ride already booked)."""
        super().__init__(str(message))
        self.code = str(code)
        self.message = message
        self.kind = kind
        self.fields = fields or {}
        self.extra = extra or {}
