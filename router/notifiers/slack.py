"""Slack's Web API through slack_sdk: post, edit, reply in thread.

Retries are the outbox's job, not the client's: every failure becomes a
DeliveryError with a reason from a closed list, ``retryable`` set, and Slack's
``Retry-After`` carried along for 429s.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from router.errors import DeliveryError, Reason
from router.notifiers import Posted
from router.render import Rendered, Reply

# Slack error codes -> (reason, retryable). Anything unlisted is OTHER, permanent.
_ERRORS: dict[str, tuple[Reason, bool]] = {
    "ratelimited": (Reason.RATE_LIMITED, True),
    "rate_limited": (Reason.RATE_LIMITED, True),
    "internal_error": (Reason.UNAVAILABLE, True),
    "fatal_error": (Reason.UNAVAILABLE, True),
    "service_unavailable": (Reason.UNAVAILABLE, True),
    "request_timeout": (Reason.UNAVAILABLE, True),
    "channel_not_found": (Reason.CHANNEL, False),
    "not_in_channel": (Reason.CHANNEL, False),
    "is_archived": (Reason.CHANNEL, False),
    "restricted_action": (Reason.CHANNEL, False),
    "invalid_auth": (Reason.AUTH, False),
    "not_authed": (Reason.AUTH, False),
    "token_revoked": (Reason.AUTH, False),
    "token_expired": (Reason.AUTH, False),
    "account_inactive": (Reason.AUTH, False),
    "missing_scope": (Reason.AUTH, False),
    "invalid_blocks": (Reason.INVALID_MESSAGE, False),
    "invalid_blocks_format": (Reason.INVALID_MESSAGE, False),
    "msg_too_long": (Reason.INVALID_MESSAGE, False),
    "no_text": (Reason.INVALID_MESSAGE, False),
    "message_not_found": (Reason.NOT_FOUND, False),
    "cant_update_message": (Reason.NOT_FOUND, False),
    "edit_window_closed": (Reason.NOT_FOUND, False),
    "name_taken": (Reason.CONFLICT, False),
    "expired_trigger_id": (Reason.NOT_FOUND, False),
    "invalid_trigger_id": (Reason.NOT_FOUND, False),
    "exchanged_trigger_id": (Reason.NOT_FOUND, False),
}


def _retry_after(response: SlackResponse) -> float | None:
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _classify(exc: SlackApiError) -> DeliveryError:
    response = exc.response
    status = response.status_code
    code = response.get("error") if isinstance(response.data, dict) else None
    if status == 429:
        return DeliveryError(
            Reason.RATE_LIMITED, "HTTP 429", retryable=True, retry_after=_retry_after(response)
        )
    if status >= 500:
        return DeliveryError(Reason.UNAVAILABLE, f"HTTP {status}", retryable=True)
    reason, retryable = _ERRORS.get(str(code), (Reason.OTHER, False))
    return DeliveryError(reason, f"{code or f'HTTP {status}'}", retryable=retryable)


MAX_NAME = 80


def person_name(user: dict[str, Any]) -> str | None:
    """What people call a Slack user: the real name, else the display name, else the handle."""
    profile = user.get("profile") or {}
    for value in (
        profile.get("real_name"),
        user.get("real_name"),
        profile.get("display_name"),
        user.get("name"),
    ):
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:MAX_NAME]
    return None


INTERACTIVE_TIMEOUT = 1
"""Seconds for a call made while Slack waits for the router's answer (3 s in all)."""


class SlackNotifier:
    def __init__(
        self, token: str, base_url: str = "https://slack.com/api/", timeout: int = 10
    ) -> None:
        # retry_handlers=[]: the outbox retries with backoff and keeps the state durable.
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])
        self.interactive = WebClient(
            token=token, base_url=base_url, timeout=INTERACTIVE_TIMEOUT, retry_handlers=[]
        )
        """For calls made inside a click's request: views.open, and what the modal needs."""

    def _call(self, method: Callable[..., SlackResponse], **kwargs: Any) -> SlackResponse:
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            raise _classify(exc) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            raise DeliveryError(Reason.UNAVAILABLE, type(exc).__name__, retryable=True) from None
        except SlackClientError as exc:
            raise DeliveryError(Reason.OTHER, type(exc).__name__, retryable=True) from None
        except ValueError as exc:  # a non-JSON body, e.g. an HTML error page from a proxy
            raise DeliveryError(Reason.UNAVAILABLE, type(exc).__name__, retryable=True) from None

    def post(self, channel: str, message: Rendered) -> Posted:
        response = self._call(
            self.client.chat_postMessage,
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        return Posted(str(response["channel"]), str(response["ts"]))

    def create_channel(self, name: str) -> str:
        response = self._call(self.client.conversations_create, name=name, is_private=False)
        return str((response.get("channel") or {}).get("id", ""))

    def set_topic(self, channel_id: str, topic: str) -> None:
        self._call(self.client.conversations_setTopic, channel=channel_id, topic=topic)

    def invite(self, channel_id: str, user_id: str) -> None:
        try:
            self._call(self.client.conversations_invite, channel=channel_id, users=user_id)
        except DeliveryError as exc:
            if exc.detail != "already_in_channel":
                raise

    def user_email(self, user_id: str) -> str | None:
        try:
            response = self._call(self.client.users_info, user=user_id)
        except DeliveryError as exc:
            if exc.retryable:
                raise
            return None  # user_not_found, missing_scope (users:read.email): act as nobody
        profile = (response.get("user") or {}).get("profile") or {}
        email = profile.get("email")
        return str(email) if email else None

    def user_by_email(self, email: str) -> str | None:
        try:
            response = self._call(self.client.users_lookupByEmail, email=email)
        except DeliveryError as exc:
            if exc.retryable:
                raise
            return None  # users_not_found, missing_scope (users:read.email)
        user_id = (response.get("user") or {}).get("id")
        return str(user_id) if isinstance(user_id, str) and user_id else None

    def user_name(self, user_id: str) -> str | None:
        try:
            response = self._call(self.client.users_info, user=user_id)
        except DeliveryError as exc:
            if exc.retryable:
                raise
            return None  # user_not_found, missing_scope (users:read)
        return person_name(response.get("user") or {})

    def workspace_url(self) -> str | None:
        response = self._call(self.client.auth_test)
        url = response.get("url")
        return str(url) if isinstance(url, str) and url.startswith("https://") else None

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self._call(self.interactive.views_open, trigger_id=trigger_id, view=view)

    def group_members(self, group_id: str) -> frozenset[str] | None:
        try:
            response = self._call(self.interactive.usergroups_users_list, usergroup=group_id)
        except DeliveryError:
            return None  # missing usergroups:read, no such group
        users = response.get("users")
        return frozenset(str(u) for u in users) if isinstance(users, list) else None

    def respond(self, response_url: str, reply: Reply) -> None:
        client = WebhookClient(response_url, timeout=self.client.timeout)
        try:
            result = client.send_dict(reply.payload())
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            raise DeliveryError(Reason.UNAVAILABLE, type(exc).__name__, retryable=True) from None
        if result.status_code == 429 or result.status_code >= 500:
            raise DeliveryError(Reason.UNAVAILABLE, f"HTTP {result.status_code}", retryable=True)
        if result.status_code >= 400:
            # expired_url, used_url: the response_url is spent; nothing to retry.
            raise DeliveryError(Reason.NOT_FOUND, f"HTTP {result.status_code}", retryable=False)

    def update(self, channel: str, ts: str, message: Rendered) -> None:
        self._call(
            self.client.chat_update,
            channel=channel,
            ts=ts,
            text=message.text,
            blocks=message.blocks,
        )

    def reply(self, channel: str, thread_ts: str, message: Rendered) -> Posted:
        response = self._call(
            self.client.chat_postMessage,
            channel=channel,
            thread_ts=thread_ts,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
        )
        return Posted(str(response["channel"]), str(response["ts"]))
