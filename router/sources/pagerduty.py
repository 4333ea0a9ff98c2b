"""PagerDuty webhooks v3: one event per request, signed with HMAC-SHA256.

An incident is one alert (its id is the fingerprint and the group). Triggered,
reopened and unacknowledged fire; acknowledged fires with who acknowledged;
priority_updated fires with the new priority (re-classifying it); resolved
resolves. Every other event type, and the "send test" ping, is no alert at all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from router.alert import Alert
from router.errors import Unauthorized
from router.sources._payload import NO_HEADERS, Parsed, utc, validate

_FIRING = {
    "incident.triggered",
    "incident.reopened",
    "incident.unacknowledged",
    "incident.acknowledged",
    "incident.priority_updated",
}
_RESOLVED = {"incident.resolved"}
_SIGNATURE = re.compile(r"v1=([0-9a-fA-F]{64})")
_MAX_SIGNATURE_HEADER = 4096
MAX_BODY = 512 * 1024
"""PagerDuty delivers webhooks up to 55 KB, tries up to 256 KB and drops bigger ones."""


class _Ref(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    summary: str | None = None
    html_url: str | None = None


class _Incident(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=64)  # PagerDuty's ids are 7-14 characters
    number: int | None = None
    title: str | None = None
    status: str | None = None
    urgency: str | None = None
    incident_key: str | None = None
    created_at: datetime | None = None
    reopened_at: datetime | None = None
    html_url: str | None = None
    service: _Ref | None = None
    priority: _Ref | None = None
    escalation_policy: _Ref | None = None


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    event_type: str
    resource_type: str | None = None
    occurred_at: datetime | None = None
    agent: _Ref | None = None
    data: dict[str, Any] | None = None


class _Webhook(BaseModel):
    model_config = ConfigDict(extra="allow")

    event: _Event


def read(data: Any, headers: Mapping[str, str] = NO_HEADERS) -> Parsed:
    """Webhook v3 body -> its Alerts, the delivery's id and when the event happened
    (``event.occurred_at``, signed with the body: a replay's age gives it away)."""
    event = validate(_Webhook, data).event
    return Parsed(_alerts(data, event), delivery_id(headers, data), event.occurred_at)


def parse(data: Any) -> list[Alert]:
    """Webhook v3 body -> one Alert for incident lifecycle events, else none."""
    return read(data).alerts


def _alerts(data: Any, event: _Event) -> list[Alert]:
    event_type = event.event_type
    if event_type not in _FIRING | _RESOLVED:
        return []
    incident = validate(_Incident, event.data, ("event", "data"))
    resolved = event_type in _RESOLVED or incident.status == "resolved"
    acknowledged = not resolved and (
        event_type == "incident.acknowledged" or incident.status == "acknowledged"
    )
    agent = event.agent.summary if event.agent else None
    labels = {"alertname": incident.title or f"PagerDuty incident {incident.id}"}
    if incident.service and incident.service.summary:
        labels["service"] = incident.service.summary
    if incident.urgency:
        labels["urgency"] = incident.urgency
    if incident.priority and incident.priority.summary:
        labels["priority"] = incident.priority.summary
    if incident.incident_key:
        labels["incident_key"] = incident.incident_key
    labels["incident_id"] = incident.id
    if incident.escalation_policy and incident.escalation_policy.summary:
        labels["escalation_policy"] = incident.escalation_policy.summary
    started = incident.reopened_at if event_type == "incident.reopened" else None
    return [
        Alert(
            source="pagerduty",
            status="resolved" if resolved else "firing",
            name=labels["alertname"],
            fingerprint=incident.id,
            group_key=incident.id,
            labels=labels,
            annotations={"event_type": event_type},
            starts_at=utc(started or incident.created_at or event.occurred_at),
            ends_at=utc(event.occurred_at) if resolved else None,
            source_severity=labels.get("priority") or labels.get("urgency"),
            summary=incident.title or "",
            url=incident.html_url,
            acknowledged=acknowledged,
            acknowledged_by=agent if event_type == "incident.acknowledged" else None,
            pagerduty_incident=incident.id,
            raw=data["event"],
        )
    ]


def verify(headers: Mapping[str, str], body: bytes, secrets: list[str]) -> None:
    """``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]``: HMAC-SHA256 of the raw body.

    Any listed signature matching any configured secret is accepted (PagerDuty
    sends several during secret rotation). Comparison is in constant time.
    """
    header = headers.get("x-pagerduty-signature", "")
    if not header:
        raise Unauthorized("X-PagerDuty-Signature: missing (PAGERDUTY_WEBHOOK_SECRETS is set)")
    if len(header) > _MAX_SIGNATURE_HEADER:
        raise Unauthorized("X-PagerDuty-Signature: too long")
    supplied = [m.lower() for m in _SIGNATURE.findall(header)]
    if not supplied:
        raise Unauthorized("X-PagerDuty-Signature: expected v1=<hex HMAC-SHA256>")
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, s) for s in supplied):
            return
    raise Unauthorized("X-PagerDuty-Signature: no signature matches PAGERDUTY_WEBHOOK_SECRETS")


def delivery_id(headers: Mapping[str, str], data: Any) -> str | None:
    """The signed ``event.id``: the same on every redelivery, and not forgeable.

    ``X-Webhook-Id`` is not signed: a captured body re-sent with a new one would
    otherwise pass as new. It stands in only for a body without an event id.
    """
    event = data.get("event") if isinstance(data, dict) else None
    event_id = event.get("id") if isinstance(event, dict) else None
    if isinstance(event_id, str) and event_id.strip():
        return f"event:{event_id.strip()}"[:200]
    value = headers.get("x-webhook-id", "").strip()
    return value[:200] or None
