"""Grafana alerting's webhook contact point (``version: "1"``).

Grafana sends Alertmanager's webhook shape plus its own fields: per alert
``silenceURL``, ``dashboardURL``, ``panelURL``, ``imageURL``, ``values`` and
``valueString``; per request ``orgId``, ``title``, ``state`` and ``message``. One
request is one notification group (``groupKey``); each alert's ``fingerprint``
is its identity. Grafana authenticates with a bearer token (``GRAFANA_TOKEN``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from router.alert import Alert
from router.sources._bearer import bearer
from router.sources._payload import check_size, labels_fingerprint, utc, validate

_GO_ZERO_TIME_YEAR = 1
_LINKS = {"dashboard": "dashboardURL", "panel": "panelURL", "silence": "silenceURL"}
_LINKS |= {"image": "imageURL"}
_GRAFANA_ONLY = ("silenceURL", "dashboardURL", "panelURL", "valueString", "values", "imageURL")


class _Item(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"] | None = None
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None
    silenceURL: str | None = None
    dashboardURL: str | None = None
    panelURL: str | None = None
    imageURL: str | None = None
    values: dict[str, float | None] | None = None
    valueString: str | None = None


class _Webhook(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str | None = None
    groupKey: str | None = None
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    orgId: int | None = None
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[_Item]


def is_grafana(data: Any) -> bool:
    """A Grafana body, as posted to an Alertmanager receiver: its version or its own fields."""
    if not isinstance(data, dict):
        return False
    if data.get("version") == "1" or "orgId" in data:
        return True
    alerts = data.get("alerts")
    return isinstance(alerts, list) and any(
        isinstance(a, dict) and any(k in a for k in _GRAFANA_ONLY) for a in alerts
    )


def _time(value: datetime | None) -> datetime | None:
    if value is None or value.year == _GO_ZERO_TIME_YEAR:
        return None
    return utc(value)


def _value(item: _Item) -> str:
    """``valueString`` as Grafana words it, else the ``values`` map (``B=44.2, C=1``)."""
    if item.valueString:
        return item.valueString
    values = item.values or {}
    return ", ".join(f"{k}={v:g}" for k, v in values.items() if v is not None)


def _links(item: _Item) -> dict[str, str]:
    found: Mapping[str, str | None] = {kind: getattr(item, key) for kind, key in _LINKS.items()}
    return {kind: url for kind, url in found.items() if url}


def parse(data: Any) -> list[Alert]:
    """Grafana webhook body -> one Alert per entry of ``alerts``."""
    hook = validate(_Webhook, data)
    group_key = hook.groupKey or f"{hook.receiver}:{json.dumps(hook.groupLabels, sort_keys=True)}"
    items: list[dict[str, Any]] = data["alerts"]
    alerts = []
    for i, (item, raw) in enumerate(zip(hook.alerts, items, strict=True)):
        check_size(item.labels, f"alerts[{i}].labels")
        check_size(item.annotations, f"alerts[{i}].annotations")
        annotations = item.annotations
        alerts.append(
            Alert(
                source="grafana",
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
                links=_links(item),
                value=_value(item),
                raw=raw,
            )
        )
    return alerts


verify = bearer("GRAFANA_TOKEN")
