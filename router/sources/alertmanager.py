"""Prometheus Alertmanager webhook (``version: "4"``).

One request is one aggregation group for one receiver. Alertmanager does not sign
bodies; it authenticates with ``http_config.authorization`` (a bearer token).
Grafana's webhook is a superset of this one; Grafana bodies sent here are
recognised and read as Grafana's (``source: grafana``), never refused.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from router.alert import Alert
from router.errors import PayloadError
from router.sources import grafana
from router.sources._bearer import bearer
from router.sources._payload import alerts_only, validate
from router.sources._webhook import Item, Webhook, in_chunks


def parse(data: Any) -> list[Alert]:
    """Alertmanager webhook body -> one Alert per entry of ``alerts``."""
    return [alert for chunk in chunks(data, sys.maxsize) for alert in chunk]


def chunks(data: Any, size: int) -> Iterator[list[Alert]]:
    """``parse``, ``size`` alerts at a time (a webhook of very many alerts)."""
    if grafana.is_grafana(data):
        yield from grafana.chunks(data, size)
        return
    if isinstance(data, dict) and data.get("version") not in (None, "4"):
        hook = validate(Webhook, data)  # a malformed body says so first
        raise PayloadError("version", f'expected "4", got {hook.version!r}')
    yield from in_chunks(Webhook, Item, data, "alertmanager", size)


def page_button(url: str) -> str:
    """The label of the button to ``generatorURL``: Prometheus's graph of the rule, mostly."""
    return "Prometheus graph" if "/graph" in url else "Alert source"


read = alerts_only(parse)
"""No delivery id: Alertmanager's next notification of a group is news, never a retry."""
verify = bearer("ALERTMANAGER_TOKEN")
