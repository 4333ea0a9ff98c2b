"""Alert sources. One module each, registered here by hand (no discovery by name).

Each source supplies a pure ``parse`` (JSON value in, ``list[Alert]`` out, raising
``PayloadError`` that names the bad path), a ``verify`` for its authentication
and, where the sender has one, the id that marks a redelivery.
Adding a source is one new module and one line in ``SOURCES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from router.alert import Alert, SourceName
from router.sources import alertmanager, datadog, grafana, pagerduty, sentry


def _no_delivery_id(headers: Mapping[str, str], data: Any) -> str | None:
    return None


def _no_time(data: Any) -> datetime | None:
    return None


@dataclass(frozen=True)
class Source:
    name: SourceName
    parse: Callable[[Any], list[Alert]]
    verify: Callable[[Mapping[str, str], bytes, list[str]], None]
    secret_env: str
    """The environment variable holding the credential ``verify`` checks."""
    delivery_id: Callable[[Mapping[str, str], Any], str | None] = _no_delivery_id
    """The sender's id for one delivery, the same on its retries: stored, never twice."""
    signature_header: str | None = None
    """Set when the body is signed: the header must be there before the body is read.
    Otherwise ``verify`` needs only the headers and runs before the body is read."""
    signed_body_limit: int = 0
    """With ``signature_header``: the most a body may be before its signature is checked
    (router/http/bodies.py), well above what the sender sends."""
    occurred_at: Callable[[Any], datetime | None] = _no_time
    """When the sender says the event happened (signed): too old is a replay."""
    chunked: Callable[[Any, int], Iterator[list[Alert]]] | None = None
    """For senders of many alerts in one request: ``parse`` a slice at a time."""

    def chunks(self, data: Any, size: int) -> Iterator[list[Alert]]:
        """``parse``'s alerts, ``size`` at a time where the source can (else all at once)."""
        if self.chunked is None:
            yield self.parse(data)
        else:
            yield from self.chunked(data, size)


SOURCES: dict[str, Source] = {
    "alertmanager": Source(
        "alertmanager",
        alertmanager.parse,
        alertmanager.verify,
        "ALERTMANAGER_TOKEN",
        chunked=alertmanager.chunks,
    ),
    "grafana": Source(
        "grafana", grafana.parse, grafana.verify, "GRAFANA_TOKEN", chunked=grafana.chunks
    ),
    "pagerduty": Source(
        "pagerduty",
        pagerduty.parse,
        pagerduty.verify,
        "PAGERDUTY_WEBHOOK_SECRETS",
        pagerduty.delivery_id,
        signature_header="x-pagerduty-signature",
        signed_body_limit=pagerduty.MAX_BODY,
        occurred_at=pagerduty.occurred_at,
    ),
    "datadog": Source(
        "datadog", datadog.parse, datadog.verify, "DATADOG_WEBHOOK_SECRET", datadog.delivery_id
    ),
    "sentry": Source(
        "sentry",
        sentry.parse,
        sentry.verify,
        "SENTRY_CLIENT_SECRET",
        sentry.delivery_id,
        signature_header="sentry-hook-signature",
        signed_body_limit=sentry.MAX_BODY,
    ),
}
