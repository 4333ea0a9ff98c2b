"""Sentry alert webhooks, from an internal integration chosen as an alert rule action.

Two resources carry alerts (the ``Sentry-Hook-Resource`` header says which; the
body's shape says it too, so ``parse`` needs only the body):

- ``event_alert``: an issue alert rule fired for an event. One alert per Sentry
  issue (its ``issue_id``), labelled with the rule, project, environment, level
  and the event's tags. Sentry sends no resolve for these.
- ``metric_alert``: a metric alert's incident went ``critical``, ``warning`` or
  ``resolved``. One alert per incident, resolved by ``resolved``.

Other resources (installation, issue, comment, ...) are answered and ignored.
Requests are signed: ``Sentry-Hook-Signature`` is the hex HMAC-SHA256 of the raw
body with the integration's client secret (``SENTRY_CLIENT_SECRET``).

Replays: only the body is signed (not ``Request-ID``, not ``Sentry-Hook-Timestamp``),
and it carries no time of sending that a window could check (an event's own time
can be days old, a metric incident can last days). So a delivery is known by its
signed body: the same body again acts once, for as long as delivery ids are kept;
and a metric incident, which Sentry never reopens, stays resolved once resolved.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from router.alert import Alert
from router.errors import PayloadError, Unauthorized
from router.sources._payload import NO_HEADERS, Parsed, check_size, utc, validate

_TAG_NAME = re.compile(r"[^A-Za-z0-9_]")
_PROJECT_IN_URL = re.compile(r"/projects/(?P<org>[^/]+)/(?P<project>[^/]+)/events/")
_METRIC_ACTIONS: dict[str, Literal["firing", "resolved"]] = {
    "critical": "firing",
    "warning": "firing",
    "resolved": "resolved",
}
_RESERVED_LABELS = {"alertname", "rule", "project", "environment", "severity", "level"}
MAX_BODY = 2 * 1024 * 1024
"""Sentry refuses events over 1 MB (decompressed); an event alert carries one event and
the rule that fired, so twice that is room to spare."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: str | None = None
    issue_id: str | int | None = None
    project: str | int | None = None
    title: str | None = None
    message: str | None = None
    culprit: str | None = None
    level: str | None = None
    platform: str | None = None
    release: str | None = None
    environment: str | None = None
    datetime_: datetime | None = Field(default=None, alias="datetime")
    tags: list[tuple[str, str | None]] = Field(default_factory=list)
    web_url: str | None = None
    issue_url: str | None = None
    url: str | None = None


class _AlertRule(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    name: str
    aggregate: str | None = None
    query: str | None = None
    environment: str | None = None
    projects: list[str] = Field(default_factory=list)


class _MetricAlert(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int
    identifier: str | int | None = None
    title: str | None = None
    alert_rule: _AlertRule
    projects: list[str] = Field(default_factory=list)
    date_started: datetime | None = None
    date_detected: datetime | None = None
    date_closed: datetime | None = None


class _EventAlertData(BaseModel):
    model_config = ConfigDict(extra="allow")

    event: _Event
    triggered_rule: str | None = None


class _MetricAlertData(BaseModel):
    model_config = ConfigDict(extra="allow")

    metric_alert: _MetricAlert
    description_title: str | None = None
    description_text: str | None = None
    web_url: str | None = None


class _Webhook(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: str
    data: dict[str, Any]


def _present(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def _tag_labels(tags: list[tuple[str, str | None]]) -> dict[str, str]:
    """Event tags as labels: ``server_name`` stays, ``os.name`` becomes ``os_name``."""
    labels: dict[str, str] = {}
    for key, value in tags:
        name = _TAG_NAME.sub("_", key)[:100]
        if name and name not in _RESERVED_LABELS and value is not None:
            labels[name] = value
    return labels


def _event_alert(hook: _Webhook, data: dict[str, Any]) -> Alert:
    body = validate(_EventAlertData, data, ("data",))
    event = body.event
    rule = body.triggered_rule or "Sentry issue alert"
    tags = dict(event.tags)
    labels = _tag_labels(event.tags)
    labels |= {"alertname": rule, "rule": rule}
    environment = event.environment or tags.get("environment")
    slugs = _PROJECT_IN_URL.search(event.url or "")
    for key, value in (
        ("project", slugs.group("project") if slugs else event.project),
        ("project_id", event.project),
        ("organization", slugs.group("org") if slugs else None),
        ("environment", environment),
        ("level", event.level or tags.get("level")),
        ("severity", event.level or tags.get("level")),
        ("platform", event.platform),
        ("release", event.release),
    ):
        if value is not None and str(value):
            labels[key] = str(value)
    check_size(labels, "data.event.tags")
    issue = str(event.issue_id or event.event_id or rule)
    return Alert(
        source="sentry",
        status="firing",
        name=rule,
        fingerprint=f"issue:{issue}"[:255],
        group_key=f"sentry:issue:{issue}",
        labels=labels,
        annotations=_present(
            description=event.culprit, event_id=event.event_id, action=hook.action
        ),
        starts_at=utc(event.datetime_),
        source_severity=labels.get("level"),
        summary=event.title or event.message or rule,
        url=event.web_url,
        raw=data,
    )


def _metric_alert(hook: _Webhook, data: dict[str, Any]) -> Alert:
    body = validate(_MetricAlertData, data, ("data",))
    status = _METRIC_ACTIONS.get(hook.action)
    if status is None:
        raise PayloadError("action", f"expected critical, warning or resolved, got {hook.action!r}")
    incident = body.metric_alert
    rule = incident.alert_rule
    labels = {"alertname": rule.name, "rule": rule.name, "aggregate": rule.aggregate or ""}
    projects = incident.projects or rule.projects
    if projects:
        labels["project"] = ",".join(projects)
    if rule.environment:
        labels["environment"] = rule.environment
    if hook.action != "resolved":
        labels["severity"] = hook.action
    labels = {k: v for k, v in labels.items() if v}
    identity = str(incident.identifier or incident.id)
    resolved = status == "resolved"
    return Alert(
        source="sentry",
        status=status,
        name=rule.name,
        fingerprint=f"metric:{rule.id}:{identity}"[:255],
        group_key=f"sentry:metric:{rule.id}:{identity}",
        labels=labels,
        annotations=_present(
            description=body.description_text, query=rule.query, action=hook.action
        ),
        starts_at=utc(incident.date_started or incident.date_detected),
        ends_at=utc(incident.date_closed) if resolved else None,
        source_severity=labels.get("severity"),
        summary=body.description_title or incident.title or rule.name,
        url=body.web_url,
        raw=data,
        refires=False,  # a new breach is a new incident (a new identifier)
    )


def read(data: Any, headers: Mapping[str, str] = NO_HEADERS) -> Parsed:
    """An alert webhook -> its Alert, and the digest of its signed body as the delivery id."""
    return Parsed(parse(data), delivery_id(headers, data))


def parse(data: Any) -> list[Alert]:
    """An alert webhook -> one Alert; any other resource -> none."""
    hook = validate(_Webhook, data)
    if "metric_alert" in hook.data:
        return [_metric_alert(hook, hook.data)]
    if "event" in hook.data:
        return [_event_alert(hook, hook.data)]
    return []


def verify(headers: Mapping[str, str], body: bytes, secrets: list[str]) -> None:
    """``Sentry-Hook-Signature``: hex HMAC-SHA256 of the raw body, any configured secret."""
    supplied = headers.get("sentry-hook-signature", "").strip().lower()
    if not supplied:
        raise Unauthorized("Sentry-Hook-Signature: missing (SENTRY_CLIENT_SECRET is set)")
    if not supplied.isascii():
        raise Unauthorized("Sentry-Hook-Signature: expected the hex HMAC-SHA256 of the body")
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, supplied):
            return
    raise Unauthorized("Sentry-Hook-Signature: does not match SENTRY_CLIENT_SECRET")


def delivery_id(headers: Mapping[str, str], data: Any) -> str | None:
    """The signed body itself, digested: a retry sends the same body, and so does a
    replay, which picks a new (unsigned) ``Request-ID`` at will."""
    del headers
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "body:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
