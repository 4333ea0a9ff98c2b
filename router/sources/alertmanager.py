"""Prometheus Alertmanager webhook (``version: "4"``).

One request is one aggregation group for one receiver. Alertmanager does not sign
bodies; it authenticates with ``http_config.authorization`` (a bearer token).
Grafana's webhook is a superset of this one; Grafana bodies sent here are
recognised and read as Grafana's (``source: grafana``), never refused.
"""

from __future__ import annotations

from typing import Any

from router.alert import Alert
from router.errors import PayloadError
from router.sources import grafana
from router.sources._bearer import bearer
from router.sources._payload import validate
from router.sources._webhook import Webhook, to_alerts


def parse(data: Any) -> list[Alert]:
    """Alertmanager webhook body -> one Alert per entry of ``alerts``."""
    if grafana.is_grafana(data):
        return grafana.parse(data)
    hook = validate(Webhook, data)
    if hook.version not in (None, "4"):
        raise PayloadError("version", f'expected "4", got {hook.version!r}')
    return to_alerts(hook, data["alerts"], "alertmanager")


verify = bearer("ALERTMANAGER_TOKEN")
