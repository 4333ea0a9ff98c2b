"""Slack request signing: slack_sdk's SignatureVerifier over the raw body, 5-minute window."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

from router.clock import Clock
from router.errors import PayloadError, Unauthorized

WINDOW = 300
"""Seconds a signed request may be old (or early): Slack's own rule."""


class _SdkClock:
    """slack_sdk's Clock interface over the router's clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now()


def check_headers(headers: Mapping[str, str], secret: str | None, clock: Clock) -> str:
    """What can be checked before the body is read: the secret is set, both headers are
    there and well-formed, and the timestamp is within five minutes. The timestamp."""
    if not secret:
        raise Unauthorized("SLACK_SIGNING_SECRET is not set, so Slack requests are refused")
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp or not signature:
        raise Unauthorized("X-Slack-Signature and X-Slack-Request-Timestamp are required")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Unauthorized("X-Slack-Request-Timestamp: expected Unix seconds")
    if not signature.isascii():
        raise Unauthorized("X-Slack-Signature: expected v0=<hex HMAC-SHA256>")
    if abs(clock.now() - int(timestamp)) > WINDOW:
        raise Unauthorized(
            "X-Slack-Signature: invalid or expired (SLACK_SIGNING_SECRET, 5-minute window)"
        )
    return timestamp


def verify(headers: Mapping[str, str], body: bytes, secret: str | None, clock: Clock) -> None:
    """Raise Unauthorized unless the request is signed by Slack within five minutes."""
    timestamp = check_headers(headers, secret, clock)
    assert secret is not None  # checked above
    try:
        body.decode("utf-8")  # Slack always sends UTF-8; slack_sdk would raise on anything else
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 (byte {exc.start})", status_code=400) from None
    verifier = SignatureVerifier(secret, clock=_SdkClock(clock))  # type: ignore[arg-type]
    if not verifier.is_valid(body, timestamp, headers.get("x-slack-signature", "")):
        raise Unauthorized(
            "X-Slack-Signature: invalid or expired (SLACK_SIGNING_SECRET, 5-minute window)"
        )
