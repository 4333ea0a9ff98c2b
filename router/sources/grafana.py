"""Grafana alerting's webhook contact point (``version: "1"``).

Grafana sends Alertmanager's webhook shape plus its own fields: per alert
``silenceURL``, ``dashboardURL``, ``panelURL``, ``imageURL``, ``values`` and
``valueString``; per request ``orgId``, ``title``, ``state`` and ``message``. One
request is one notification group (``groupKey``); each alert's ``fingerprint``
is its identity. Grafana authenticates with a bearer token (``GRAFANA_TOKEN``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

from router.alert import Alert
from router.sources._bearer import bearer
from router.sources._payload import alerts_only
from router.sources._webhook import Item, Webhook, in_chunks

_LINKS = {"dashboard": "dashboardURL", "panel": "panelURL", "silence": "silenceURL"}
_LINKS |= {"image": "imageURL"}
_GRAFANA_ONLY = ("silenceURL", "dashboardURL", "panelURL", "valueString", "values", "imageURL")


class _Item(Item):
    silenceURL: str | None = None
    dashboardURL: str | None = None
    panelURL: str | None = None
    imageURL: str | None = None
    values: dict[str, float | None] | None = None
    valueString: str | None = None


class _Webhook(Webhook):
    orgId: int | None = None
    alerts: list[_Item]  # type: ignore[assignment]


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
    return [alert for chunk in chunks(data, sys.maxsize) for alert in chunk]


def _extra(item: _Item) -> dict[str, Any]:
    return {"links": _links(item), "value": _value(item)}


def chunks(data: Any, size: int) -> Iterator[list[Alert]]:
    """``parse``, ``size`` alerts at a time (a webhook of very many alerts)."""
    yield from in_chunks(_Webhook, _Item, data, "grafana", size, _extra)


read = alerts_only(parse)
"""No delivery id: Grafana's next notification of a group is news, never a retry."""
verify = bearer("GRAFANA_TOKEN")
