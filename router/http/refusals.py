"""Refused webhooks, in the log: one line per source and reason, at most every 10 s.

A sender with the wrong token retries every few seconds, and a misconfigured
Alertmanager sends every group: without a limit the log is nothing else. The
first refusal of a kind is logged at once; the same kind again within the
interval is only counted, and the next line says how many there were.

A line names the source, the status and the reason: for a 401 the refusal's
own text (fixed sentences naming the header or the variable), otherwise its
kind and the field it is about. Never a header value, a token or the body.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from router.clock import Clock
from router.errors import Overloaded, PayloadError, PayloadTooLarge, RequestError, Unauthorized

log = logging.getLogger("router")

INTERVAL = 10.0
"""Seconds between two lines for the same source and reason."""
_MAX_FIELD = 80


@dataclass
class _Kind:
    logged_at: float
    suppressed: int = 0


def reason(exc: RequestError) -> tuple[str, str | None]:
    """What a refusal says in the log: its reason (one of a few per source), and the
    field it is about, if any. Payload errors can quote the body, so their text is not
    used; a 401's text is ours alone."""
    if isinstance(exc, Unauthorized):
        return exc.message, None
    if isinstance(exc, PayloadTooLarge):
        return "body too large (ROUTER_MAX_BODY_BYTES)", None
    if isinstance(exc, Overloaded):
        return "too many unverified bodies at once (ROUTER_MAX_UNVERIFIED_BYTES)", None
    if isinstance(exc, PayloadError):
        field = exc.path[:_MAX_FIELD] or None
        if exc.status_code == 415:
            return "not JSON (Content-Type)", None
        return "bad payload", field
    return "refused", None


class RefusalLog:
    """Logs refused webhooks, rate-limited per (source, reason); safe across threads."""

    def __init__(self, clock: Clock, interval: float = INTERVAL) -> None:
        self.clock = clock
        self.interval = interval
        self._kinds: dict[tuple[str, int, str], _Kind] = {}
        self._lock = threading.Lock()

    def refused(self, source: str, exc: RequestError) -> None:
        why, field = reason(exc)
        key = (source, exc.status_code, why)
        now = self.clock.now()
        with self._lock:
            kind = self._kinds.get(key)
            if kind is not None and now - kind.logged_at < self.interval:
                kind.suppressed += 1
                return
            suppressed = kind.suppressed if kind is not None else 0
            self._kinds[key] = _Kind(now)
        where = f" at {field}" if field else ""
        more = f" ({suppressed} more like it not logged since the last)" if suppressed else ""
        log.warning(
            "refused %s webhook (%d): %s%s%s",
            source,
            exc.status_code,
            why,
            where,
            more,
            extra={
                "source": source,
                "status": exc.status_code,
                "reason": why,
                "field": field,
                "suppressed": suppressed,
            },
        )
