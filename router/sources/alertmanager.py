"""Prometheus Alertmanager webhook (``version: "4"``).

One request is one aggregation group for one receiver. Alertmanager does not sign
bodies; it authenticates with ``http_config.authorization`` (a bearer token).
Grafana's webhook is a superset of this one; Grafana bodies sent here are
recognised and read as Grafana's (``source: grafana``), never refused.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from router.alert import Alert
from router.errors import PayloadError
from router.sources import grafana
from router.sources._bearer import bearer
from router.sources._payload import check_size, labels_fingerprint, utc, validate

_GO_ZERO_TIME_YEAR = 1  # Alertmanager sends endsAt "0001-01-01T00:00:00Z" while firing


class _Item(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"] | None = None
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class _Webhook(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str | None = None
    groupKey: str | None = None
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[_Item]


def _time(value: datetime | None) -> datetime | None:
    if value is None or value.year == _GO_ZERO_TIME_YEAR:
        return None
    return utc(value)


def parse(data: Any) -> list[Alert]:
    """Alertmanager webhook body -> one Alert per entry of ``alerts``."""
    if grafana.is_grafana(data):
        return grafana.parse(data)
    hook = validate(_Webhook, data)
    if hook.version not in (None, "4"):
        raise PayloadError("version", f'expected "4", got {hook.version!r}')
    group_key = hook.groupKey or f"{hook.receiver}:{json.dumps(hook.groupLabels, sort_keys=True)}"
    items: list[dict[str, Any]] = data["alerts"]
    alerts = []
    for i, (item, raw) in enumerate(zip(hook.alerts, items, strict=True)):
        check_size(item.labels, f"alerts[{i}].labels")
        check_size(item.annotations, f"alerts[{i}].annotations")
        annotations = item.annotations
        alerts.append(
            Alert(
                source="alertmanager",
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
                raw=raw,
            )
        )
    return alerts


verify = bearer("ALERTMANAGER_TOKEN")
