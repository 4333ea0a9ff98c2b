"""Alertmanager's webhook shape (v4), shared by Alertmanager and by Grafana, which extends it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from router.alert import Alert, SourceName
from router.sources._payload import check_size, labels_fingerprint, utc, validate, validate_items

_GO_ZERO_TIME_YEAR = 1  # endsAt "0001-01-01T00:00:00Z" while firing
EXTERNAL_LINK = "external"
"""``Alert.links`` kind of the webhook's ``externalURL`` (router/alertmanagers.py)."""


class Item(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"] | None = None
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class Webhook(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str | None = None
    groupKey: str | None = None
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[Item]


def _time(value: datetime | None) -> datetime | None:
    if value is None or value.year == _GO_ZERO_TIME_YEAR:
        return None
    return utc(value)


def in_chunks(
    webhook: type[Webhook],
    item_model: type[Item],
    data: Any,
    source: SourceName,
    size: int,
    extra: Callable[[Any], dict[str, Any]] = lambda item: {},
) -> Iterator[list[Alert]]:
    """The Alerts of a webhook body, ``size`` entries of ``alerts`` at a time.

    The envelope is checked first, then each slice of entries as it is reached: a
    webhook of 20,000 alerts is never all in memory as models at once. ``extra``
    adds a source's own fields.
    """
    items = data.get("alerts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        validate(webhook, data)  # names what is wrong: the body, or its alerts
        raise AssertionError("a webhook without a list of alerts validated")
    hook = validate(webhook, {**data, "alerts": []})
    for start in range(0, len(items), size):
        raw = items[start : start + size]
        yield to_alerts(
            hook, validate_items(item_model, raw, ("alerts",), start), raw, source, extra, start
        )


def to_alerts(
    hook: Webhook,
    parsed: list[Any],
    items: list[dict[str, Any]],
    source: SourceName,
    extra: Callable[[Any], dict[str, Any]] = lambda item: {},
    start: int = 0,
) -> list[Alert]:
    """One Alert per entry of ``alerts`` (``parsed``, validated from ``items``, the raw
    entries ``start`` on); ``extra`` adds a source's own fields."""
    group_key = hook.groupKey or f"{hook.receiver}:{json.dumps(hook.groupLabels, sort_keys=True)}"
    alerts = []
    for i, (item, raw) in enumerate(zip(parsed, items, strict=True), start):
        check_size(item.labels, f"alerts[{i}].labels")
        check_size(item.annotations, f"alerts[{i}].annotations")
        annotations = item.annotations
        own = extra(item)
        # The sender's own address: which Alertmanager to silence in, and its UI.
        links = ({EXTERNAL_LINK: hook.externalURL} if hook.externalURL else {}) | own.pop(
            "links", {}
        )
        alerts.append(
            Alert(
                source=source,
                status=item.status or hook.status,
                name=item.labels.get("alertname", ""),
                fingerprint=item.fingerprint or labels_fingerprint(item.labels),
                group_key=group_key,
                labels=item.labels,
                annotations=annotations,
                starts_at=_time(item.startsAt),
                ends_at=_time(item.endsAt),
                source_severity=item.labels.get("severity"),
                summary=(
                    annotations.get("summary")
                    or annotations.get("description")
                    or hook.commonAnnotations.get("summary", "")
                ),
                url=item.generatorURL or hook.externalURL,
                links=links,
                raw=raw,
                **own,
            )
        )
    return alerts
