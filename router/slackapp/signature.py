"""Slack request signing: slack_sdk's SignatureVerifier over the raw body, 5-minute window."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

from router.clock import Clock
from router.errors import PayloadError, Unauthorized


class _SdkClock:
    """slack_sdk's Clock interface over the router's clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now()


def verify(headers: Mapping[str, str], body: bytes, secret: str | None, clock: Clock) -> None:
    """Raise Unauthorized unless the request is signed by Slack within five minutes."""
    if not secret:
        raise Unauthorized("SLACK_SIGNING_SECRET is not set, so Slack requests are refused")
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp or not signature:
        raise Unauthorized("X-Slack-Signature and X-Slack-Request-Timestamp are required")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthorized("X-Slack-Request-Timestamp: expected Unix seconds")
    try:
        body.decode("utf-8")  # Slack always sends UTF-8; slack_sdk would raise on anything else
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 (byte {exc.start})", status_code=400) from None
    verifier = SignatureVerifier(secret, clock=_SdkClock(clock))  # type: ignore[arg-type]
    if not verifier.is_valid(body, timestamp, signature):
        raise Unauthorized(
            "X-Slack-Signature: invalid or expired (SLACK_SIGNING_SECRET, 5-minute window)"
        )
