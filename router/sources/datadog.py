"""Datadog Webhooks integration, with the payload template in docs/datadog.md.

Datadog substitutes ``$VARIABLES`` as text, so every value is a string that may
be empty or still read ``$ALERT_PRIORITY`` when a variable does not apply; both
count as absent. One monitor and scope is one alert and one group. The
transition says firing or resolved; ``Re-*`` and ``Renotify`` are repeats.

Datadog's default payload (``body``, ``title``, ``date``, ``id``, no ``schema``)
is read from what its title and body say: ``[P1] [Recovered on {host:a}] Name``
gives the priority, the transition, the scope and the monitor name; the body's
``%%%`` markdown becomes the description, and its monitor link the monitor.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router.alert import Alert
from router.errors import PayloadError, Unauthorized
from router.sources._payload import NO_HEADERS, Parsed, check_size, validate

SCHEMA = "runbook-router/datadog/v1"

# $ALERT_TRANSITION (lower-cased) -> status. Anything else fires: never drop an alert.
_TRANSITIONS: dict[str, Literal["firing", "resolved"]] = {
    "triggered": "firing",
    "re-triggered": "firing",
    "warn": "firing",
    "re-warn": "firing",
    "no data": "firing",
    "re-no data": "firing",
    "renotify": "firing",
    "recovered": "resolved",
    "resolved": "resolved",
}
_UNREPLACED = re.compile(r"^\$[A-Z][A-Z0-9_]*(\[[^\]]*\])?$")
_TITLE_GROUP = re.compile(r"\s*\[([^\]]*)\]")
_PRIORITY = re.compile(r"^P[1-5]$", re.IGNORECASE)
_HANDLE = re.compile(r"(^|\s)@[\w.\-]+")
_MONITOR_LINK = re.compile(r"https://[\w.-]*datadoghq\.[a-z]+/monitors/(\d+)")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*\)")
_MD_MARKS = re.compile(r"^#{1,6}\s+|\*\*|__")
MAX_DESCRIPTION = 4000


class _Webhook(BaseModel):
    """Every field optional and a string; numbers are taken as their text."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_: str | None = Field(default=None, alias="schema")
    event_id: str | None = None
    id: str | None = None  # Datadog's default template
    monitor_id: str | None = None
    alert_cycle_key: str | None = None
    aggreg_key: str | None = None
    transition: str | None = None
    alert_type: str | None = None
    priority: str | None = None
    title: str | None = None
    message: str | None = None
    body: str | None = None  # Datadog's default template
    status: str | None = None
    scope: str | None = None
    hostname: str | None = None
    tags: str | None = None
    severity: str | None = None
    team: str | None = None
    link: str | None = None
    date: str | None = None
    last_updated: str | None = None
    event_type: str | None = None
    query: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        """Numbers as text; empty strings and unreplaced ``$VARS`` as absent."""
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, int | float):
            value = str(value)
        if isinstance(value, str):
            value = value.strip()
            if not value or _UNREPLACED.match(value):
                return None
        return value


def _clean(value: str | None) -> str:
    return value or ""


def tags_to_labels(tags: str) -> dict[str, str]:
    """``env:prod, team:payments, canary`` -> ``{env: prod, team: payments, canary: ""}``."""
    labels: dict[str, str] = {}
    for tag in tags.split(","):
        tag = tag.strip()
        if not tag:
            continue
        key, _, value = tag.partition(":")
        labels[key.strip()] = value.strip()
    return labels


def _epoch_ms(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(field, f"expected epoch milliseconds, got {value[:40]!r}") from None
    if not 0 <= number < 10**14:
        raise PayloadError(field, f"epoch milliseconds out of range: {value[:40]!r}")
    return datetime.fromtimestamp(number / 1000, UTC)


def title_parts(title: str) -> tuple[str, str, str, str]:
    """``[P1] [Triggered on {host:a,env:b}] Name`` -> (P1, Triggered, host:a,env:b, Name).

    Datadog's default title: an optional priority, then the transition with the
    scope it applies to, then the monitor name. Missing parts are "".
    """
    priority = transition = scope = ""
    pos = 0
    while match := _TITLE_GROUP.match(title, pos):
        inner = match.group(1).strip()
        if _PRIORITY.match(inner) and not priority:
            priority = inner.upper()
        elif not transition:
            transition, _, on = inner.partition(" on ")
            scope = on.strip().removeprefix("{").removesuffix("}")
        pos = match.end()
    return priority, transition.strip(), scope, title[pos:].strip()


def _transition(hook: _Webhook) -> str:
    return hook.transition or title_parts(hook.title or "")[1]


def _description(hook: _Webhook) -> str:
    """The monitor's message as markdown: ``%%%`` wrappers and ``@handles`` removed."""
    text = hook.message or hook.body or ""
    text = _HANDLE.sub(r"\1", text)
    lines = [line.rstrip() for line in text.splitlines() if line.strip() != "%%%"]
    text = "\n".join(line if line.strip() else "" for line in lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text[:MAX_DESCRIPTION]


def _plain(line: str) -> str:
    """One markdown line as plain text: no heading marks, bold or link targets."""
    return _MD_MARKS.sub("", _MD_LINK.sub(r"\1", line)).strip()


def _summary(hook: _Webhook, name: str) -> str:
    text = hook.status or _description(hook)
    lines = (line.strip() for line in text.splitlines())
    first = next((line for line in lines if line and not line.startswith(("[", "!["))), "")
    return _plain(first)[:500] or name


def read(data: Any, headers: Mapping[str, str] = NO_HEADERS) -> Parsed:
    """A monitor notification -> its Alert and Datadog's id for the notification."""
    return Parsed(parse(data), delivery_id(headers, data))


def parse(data: Any) -> list[Alert]:
    hook = validate(_Webhook, data)
    if hook.schema_ not in (None, SCHEMA):
        raise PayloadError("schema", f"expected {SCHEMA!r}, got {hook.schema_!r}")
    title_priority, _, title_scope, name = title_parts(hook.title or "")
    description = _description(hook)
    monitor_link = _MONITOR_LINK.search(description)
    monitor_id = hook.monitor_id or (monitor_link.group(1) if monitor_link else None)
    if not name and not monitor_id:
        raise PayloadError("title", "required (with monitor_id): the monitor or event title")
    transition = _transition(hook)
    status: Literal["firing", "resolved"] = _TRANSITIONS.get(transition.lower(), "firing")
    if transition.lower() not in _TRANSITIONS and hook.alert_type == "success":
        status = "resolved"
    labels = tags_to_labels(hook.tags or "")
    check_size(labels, "tags")
    for key in ("severity", "team"):
        if (value := getattr(hook, key)) and key not in labels:
            labels[key] = value
    labels["alertname"] = name or f"Datadog monitor {monitor_id}"
    found = {"priority": hook.priority or title_priority, "monitor_id": monitor_id}
    found |= {"alert_type": hook.alert_type, "hostname": hook.hostname}
    for key in ("priority", "alert_type", "hostname", "monitor_id"):
        if value := found[key]:
            labels[key] = value
    scope = hook.scope or title_scope
    identity = f"{monitor_id or labels['alertname']}|{scope}"
    links = {"monitor": monitor_link.group(0)} if monitor_link else {}
    if hook.link:
        links["event"] = hook.link
    when = _epoch_ms(hook.date, "date") or _epoch_ms(hook.last_updated, "last_updated")
    return [
        Alert(
            source="datadog",
            status=status,
            name=labels["alertname"],
            fingerprint=hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:16],
            group_key=f"datadog:{identity}",
            labels=labels,
            annotations={
                k: v
                for k, v in {
                    "transition": transition,
                    "scope": scope,
                    "query": _clean(hook.query),
                    "alert_cycle_key": _clean(hook.alert_cycle_key),
                    "event_type": _clean(hook.event_type),
                    "description": description,
                }.items()
                if v
            },
            starts_at=when if status == "firing" else None,
            ends_at=when if status == "resolved" else None,
            source_severity=labels.get("priority") or hook.alert_type,
            summary=_summary(hook, labels["alertname"]),
            url=links.get("monitor") or hook.link,
            links=links,
            raw=data,
        )
    ]


def verify(headers: Mapping[str, str], body: bytes, secrets: list[str]) -> None:
    """``X-Router-Secret`` must equal DATADOG_WEBHOOK_SECRET (a custom header in the tile)."""
    del body
    supplied = headers.get("x-router-secret", "")
    if not supplied:
        raise Unauthorized("X-Router-Secret: missing (DATADOG_WEBHOOK_SECRET is set)")
    if not any(hmac.compare_digest(supplied.encode(), s.encode()) for s in secrets):
        raise Unauthorized("X-Router-Secret: does not match DATADOG_WEBHOOK_SECRET")


def delivery_id(headers: Mapping[str, str], data: Any) -> str | None:
    """Datadog's event id (``$ID``) is the same on every retry of one notification."""
    del headers
    if not isinstance(data, dict):
        return None
    for key in ("event_id", "id"):
        value = data.get(key)
        if (
            isinstance(value, str | int)
            and not _UNREPLACED.match(str(value))
            and str(value).strip()
        ):
            return str(value).strip()[:200]
    return None
