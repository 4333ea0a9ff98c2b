"""PagerDuty's REST API (incident notes, who is on call) and Events API v2, through ``pagerduty``.

The package retries 429s without limit and network errors three times, sleeping
inside the call; here it tries once (one immediate retry on 429) and failures
come back as DeliveryError, so the outbox does the waiting, durably.

Every Events API trigger the router sends is a ``Trigger``, built here (an alert's
page, ``alert_trigger``; a message nobody acknowledged, ``unacknowledged_trigger``),
with its severity from the one map, ``EVENT_SEVERITY``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx2
import pagerduty

from router.errors import DeliveryError, Reason
from router.records import StoredAlert, StoredDecision
from router.runbooks import Runbook
from router.store import MessageView

T = TypeVar("T")

NOTE_LIMIT = 25_000  # PagerDuty notes take 25,000 characters
SUMMARY_LIMIT = 1024
ROUTER = "runbook-router"
EventSeverity = Literal["critical", "error", "warning", "info"]
EVENT_SEVERITY: Mapping[str, EventSeverity] = {
    "SEV0": "critical",
    "SEV1": "critical",
    "SEV2": "error",
    "SEV3": "warning",
    "SEV4": "info",
}
"""A level (``LevelName``) as an Events API v2 severity: the one map, for every event."""


def event_severity(level: str) -> EventSeverity:
    """The Events API severity of a level; ``warning`` for a level not on the scale."""
    return EVENT_SEVERITY.get(level, "warning")


@dataclass(frozen=True)
class EventLink:
    href: str
    text: str


@dataclass(frozen=True)
class Trigger:
    """One Events API v2 trigger, typed until it is sent (``properties``)."""

    summary: str
    source: str
    level: str
    """The router's level; the event's severity is drawn from it (``EVENT_SEVERITY``)."""
    custom_details: Mapping[str, Any]
    event_class: str | None = None
    component: str | None = None
    group: str | None = None
    links: Sequence[EventLink] | None = None
    """None: the event has no ``links``."""
    client: str | None = None

    @property
    def severity(self) -> EventSeverity:
        return event_severity(self.level)

    def properties(self) -> dict[str, Any]:
        """The event's ``payload``, ``client`` and ``links``, as ``send_event`` takes them."""
        payload: dict[str, Any] = {
            "summary": self.summary[:SUMMARY_LIMIT],
            "source": self.source,
            "severity": self.severity,
        }
        if self.event_class is not None:
            payload["class"] = self.event_class[:255]
        payload["custom_details"] = dict(self.custom_details)
        if self.component:
            payload["component"] = self.component
        if self.group:
            payload["group"] = self.group
        properties: dict[str, Any] = {"payload": payload}
        if self.client is not None:
            properties["client"] = self.client
        if self.links is not None:
            properties["links"] = [{"href": link.href, "text": link.text} for link in self.links]
        return properties


def _retry_after(response: Any) -> float | None:
    for header in ("retry-after", "ratelimit-reset"):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


def classify(exc: Exception) -> DeliveryError:
    """A ``pagerduty`` exception as a DeliveryError with a reason and retryability."""
    response = getattr(exc, "response", None)
    if response is None:  # a network error, wrapped by the package: name the cause
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return DeliveryError(Reason.UNAVAILABLE, type(cause).__name__, retryable=True)
    status = int(response.status_code)
    detail = f"HTTP {status}"
    if status == 429:
        return DeliveryError(
            Reason.RATE_LIMITED, detail, retryable=True, retry_after=_retry_after(response)
        )
    if status >= 500:
        return DeliveryError(Reason.UNAVAILABLE, detail, retryable=True)
    if status in (401, 403):
        return DeliveryError(Reason.AUTH, detail, retryable=False)
    if status == 404:
        return DeliveryError(Reason.NOT_FOUND, detail, retryable=False)
    return DeliveryError(Reason.INVALID_MESSAGE, detail, retryable=False)


def _tame(client: Any, timeout: float) -> Any:
    client.retry = {429: 1}
    client.sleep_timer = 0.0
    client.max_network_attempts = 0
    client.timeout = timeout
    return client


LOOKUP_TIMEOUT = 3.0
"""Seconds for an on-call lookup: it runs beside delivery, which never waits for it long."""


@dataclass(frozen=True)
class Responder:
    """One of PagerDuty's on-call entries (``GET /oncalls``), as the router needs it."""

    name: str
    email: str | None
    level: int
    start: float | None
    """None: always on call at this level (no schedule)."""
    end: float | None
    schedule: str | None = None
    """The schedule's name, as PagerDuty calls it."""
    policy: str | None = None


def _when(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _summary(value: Any) -> str | None:
    summary = value.get("summary") if isinstance(value, dict) else None
    return " ".join(summary.split())[:100] if isinstance(summary, str) and summary else None


def responders(body: Any) -> list[Responder]:
    """The on-call entries of a ``GET /oncalls`` answer; malformed ones left out."""
    entries = body.get("oncalls") if isinstance(body, dict) else None
    found = []
    for entry in entries if isinstance(entries, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        name = _summary(user) or _summary({"summary": user.get("name")}) or "someone"
        email = user.get("email")
        level = entry.get("escalation_level")
        found.append(
            Responder(
                name,
                email if isinstance(email, str) and "@" in email else None,
                level if isinstance(level, int) and not isinstance(level, bool) else 1,
                _when(entry.get("start")),
                _when(entry.get("end")),
                _summary(entry.get("schedule")),
                _summary(entry.get("escalation_policy")),
            )
        )
    return found


class PagerDuty:
    """The router's calls to PagerDuty. ``transport`` is for tests (httpx2.MockTransport)."""

    def __init__(
        self,
        api_token: str | None,
        from_email: str | None,
        routing_keys: dict[str, str],
        *,
        api_url: str | None = None,
        events_url: str | None = None,
        transport: httpx2.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        kw: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self.rest = None
        self.lookups = None
        """A client of its own for on-call lookups, with a shorter timeout."""
        if api_token:
            self.rest = _tame(
                pagerduty.RestApiV2Client(
                    api_token, default_from=from_email, base_url=api_url, **kw
                ),
                timeout,
            )
            self.lookups = _tame(
                pagerduty.RestApiV2Client(api_token, base_url=api_url, **kw),
                min(timeout, LOOKUP_TIMEOUT),
            )
        self.events = {
            name: _tame(pagerduty.EventsApiV2Client(key, base_url=events_url, **kw), timeout)
            for name, key in routing_keys.items()
        }

    @staticmethod
    def _call(fn: Callable[[], T]) -> T:
        try:
            return fn()
        except pagerduty.Error as exc:
            raise classify(exc) from None
        except httpx2.TransportError as exc:
            raise DeliveryError(Reason.UNAVAILABLE, type(exc).__name__, retryable=True) from None

    def add_note(self, incident_id: str, content: str) -> None:
        rest = self.rest
        if rest is None:
            raise DeliveryError(Reason.AUTH, "PAGERDUTY_API_TOKEN is not set", retryable=False)
        path = f"/incidents/{incident_id}/notes"
        self._call(lambda: rest.rpost(path, json={"content": content[:NOTE_LIMIT]}))

    def acknowledge(self, incident_id: str, from_email: str) -> None:
        """Acknowledge as the PagerDuty user with this email (the ``From`` header)."""
        rest = self.rest
        if rest is None:
            raise DeliveryError(Reason.AUTH, "PAGERDUTY_API_TOKEN is not set", retryable=False)
        body = {
            "incidents": [
                {"id": incident_id, "type": "incident_reference", "status": "acknowledged"}
            ]
        }
        self._call(
            lambda: pagerduty.successful_response(
                rest.put("/incidents", json=body, headers={"From": from_email})
            )
        )

    def on_call(
        self, *, schedule: str | None = None, escalation_policy: str | None = None
    ) -> list[Responder]:
        """Who is on call now for a schedule, or at the first level of an escalation policy
        that has anyone (``GET /oncalls``, users with their email)."""
        rest = self.lookups
        if rest is None:
            raise DeliveryError(Reason.AUTH, "PAGERDUTY_API_TOKEN is not set", retryable=False)
        params: dict[str, Any] = {"include": ["users"]}
        if schedule:
            params["schedule_ids"] = [schedule]
        if escalation_policy:
            params["escalation_policy_ids"] = [escalation_policy]
        response = self._call(
            lambda: pagerduty.successful_response(rest.get("/oncalls", params=params))
        )
        try:
            found = responders(response.json())
        except ValueError:
            raise DeliveryError(Reason.UNAVAILABLE, "not JSON", retryable=True) from None
        if escalation_policy and found:
            first = min(r.level for r in found)
            found = [r for r in found if r.level == first]
        return found

    def send_event(self, key_name: str, action: str, dedup_key: str, **properties: Any) -> None:
        client = self.events.get(key_name)
        if client is None:
            raise DeliveryError(
                Reason.AUTH,
                f"no routing key {key_name!r} in PAGERDUTY_ROUTING_KEYS",
                retryable=False,
            )
        self._call(lambda: client.send_event(action, dedup_key=dedup_key, **properties))

    def trigger(self, key_name: str, dedup_key: str, event: Trigger) -> None:
        """Trigger (or update) the PagerDuty alert of ``dedup_key`` through ``key_name``."""
        self.send_event(key_name, "trigger", dedup_key, **event.properties())

    def resolve(self, key_name: str, dedup_key: str) -> None:
        self.send_event(key_name, "resolve", dedup_key)


def note_text(decision: StoredDecision, runbook: Runbook | None) -> str:
    """The note added to a PagerDuty incident routed to a runbook."""
    lines = []
    if decision.runbook:
        lines.append(f"Runbook {decision.runbook}: {decision.runbook_title or ''}".strip())
    else:
        lines.append(f"Runbook: {decision.runbook_title or 'outside page'}")
    lines.append(decision.runbook_url or "")
    lines.append(f"{decision.level} (respond {decision.respond}): {decision.reason}")
    if runbook and runbook.steps:
        step = runbook.steps[0]
        lines.append(f"First step: {step.title}")
        if step.commands:
            lines.append(step.commands[0].code.rstrip())
    if runbook and runbook.escalation.who:
        lines.append(f"Escalate to: {runbook.escalation.who}")
    lines.append(f"Posted to Slack {decision.channel} by runbook-router.")
    return "\n".join(line for line in lines if line)


def dedup_key(source: str, fingerprint: str) -> str:
    """Stable per alert, so a trigger and its resolve meet in one PagerDuty alert."""
    return f"runbook-router:{source}:{fingerprint}"[:255]


def alert_trigger(alert: StoredAlert, decision: StoredDecision) -> Trigger:
    """The trigger of an alert routed to a ``page:`` key."""
    labels = alert.labels
    summary = f"[{decision.level}] {alert.name}"
    if alert.summary and alert.summary != alert.name:
        summary += f": {alert.summary}"
    links = None
    if decision.runbook_url:
        text = f"Runbook {decision.runbook}" if decision.runbook else "Runbook"
        links = [EventLink(decision.runbook_url, text)]
    return Trigger(
        summary,
        labels.get("instance") or labels.get("hostname") or labels.get("service") or alert.source,
        decision.level,
        {
            "labels": labels,
            "level": decision.level,
            "reason": decision.reason,
            "route": decision.route,
            "runbook": decision.runbook,
        },
        event_class=alert.name,
        component=labels.get("service"),
        group=labels.get("env") or labels.get("cluster"),
        links=links,
        client=ROUTER,
    )


def unacknowledged_trigger(view: MessageView) -> Trigger:
    """The page of a message nobody acknowledged in Slack in time (its route's ``page:``)."""
    first = view.members[0] if view.members else None
    title = (first.summary or first.name) if first else view.group_key
    return Trigger(
        f"[{view.level}] Not acknowledged in Slack: {title}",
        ROUTER,
        view.level,
        {"channel": view.channel, "route": view.route},
        links=[EventLink(view.runbook.url, "Runbook")] if view.runbook.url else [],
    )
