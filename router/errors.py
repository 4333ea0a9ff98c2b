"""Every error the router raises on purpose, in one tree.

    RouterError
    ├── ConfigError          routes.yaml or a runbook is invalid (file:line: key: message)
    ├── RequestError         an inbound request is refused; carries the HTTP status
    │   ├── Unauthorized     401: missing or wrong credentials
    │   ├── PayloadTooLarge  413
    │   ├── Overloaded       503 with Retry-After: too much at once (unverified bodies)
    │   ├── PayloadError     400/422: the body does not parse; names the bad path
    │   └── ParameterError   422: a query parameter is not one the endpoint takes; names it
    ├── StoreUnavailable     the database refused a write (503: senders retry)
    └── DeliveryError        a notifier failed; says whether a retry can help

HTTP status codes are mapped from these in one place: ``router.app``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class RouterError(Exception):
    """Base of every error raised on purpose by the router."""


@dataclass(frozen=True)
class Problem:
    """One finding in a config or runbook file, printed as ``file:line: key: message``."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ConfigError(RouterError):
    """routes.yaml or the runbooks folder is invalid; holds every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RequestError(RouterError):
    status_code = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Unauthorized(RequestError):
    status_code = 401


class PayloadTooLarge(RequestError):
    status_code = 413


class Overloaded(RequestError):
    """Too much of something held at once; the sender should retry after ``retry_after`` s."""

    status_code = 503

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PayloadError(RequestError):
    """The body is not what the source sends. ``path`` names the bad field."""

    status_code = 422

    def __init__(self, path: str, message: str, *, status_code: int = 422) -> None:
        self.path = path
        self.status_code = status_code
        super().__init__(f"{path}: {message}" if path else message)


class ParameterError(RequestError):
    """A query parameter's value is refused (``level=SEV9``). ``name`` names the parameter."""

    status_code = 422

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


class StoreUnavailable(RouterError):
    """The database could not store the request; the sender should retry."""


class Reason(StrEnum):
    """Closed list of delivery failure reasons: the only metric label for failures."""

    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # 5xx, connection refused, timeout
    CHANNEL = "channel"  # channel_not_found, not_in_channel, is_archived
    AUTH = "auth"  # invalid_auth, token_revoked, missing_scope
    INVALID_MESSAGE = "invalid_message"  # invalid_blocks, msg_too_long
    NOT_FOUND = "not_found"  # message_not_found, cant_update_message
    CONFLICT = "conflict"  # name_taken: a channel of that name exists
    OTHER = "other"


class DeliveryError(RouterError):
    """A notifier call failed. ``retryable`` says whether trying again can help."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(f"{reason.value}: {detail}")


def dotted(loc: Sequence[int | str]) -> str:
    """Where in a document: ``("alerts", 3, "labels")`` -> ``alerts[3].labels``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
